"""The master key: kept outside the database, it encrypts private keys and a PIN message's text, and
keys the PIN hashes.

Taken from the ``master_key`` setting (``MECM_MASTER_KEY``) when set, else from ``master.key`` in
var_dir, created with mode 0600 by ``mecm init`` or ``mecm demo`` only: any other command refuses a
missing key rather than make a new one that opens none of the stored secrets. Losing it makes stored private keys unreadable: back it up
apart from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from mecm.config import Settings
from mecm.errors import ConfigError
from mecm.files import PRIVATE_FILE, keep_from_others, open_private, private_dir


def load_master_key(settings: Settings, *, create: bool = False) -> bytes:
    """The master key; a missing key file is made only with ``create`` (``mecm init``, ``mecm demo``)."""
    if settings.master_key:
        key = settings.master_key.encode()
    else:
        path = settings.var_path / "master.key"
        if not path.exists():
            if not create:
                raise ConfigError(
                    f"no master key: {path} does not exist and master_key / MECM_MASTER_KEY is not set. "
                    "`mecm init` makes one for a new database; for an existing one, give this process the key "
                    "the others use (set var_dir, or master_key)")
            _create_secret_file(path, Fernet.generate_key())
        keep_from_others([path])
        key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError:
        raise ConfigError("master key: must be 32 url-safe Base64-encoded bytes (Fernet key)") from None
    return key


def load_admin_token(settings: Settings) -> str:
    """The admin API's bearer token: the setting, or a file under var_dir created on first need."""
    if settings.admin_token:
        return settings.admin_token
    path = settings.var_path / "admin.token"
    if not path.exists():
        # Written whole under another name, then linked into place: a process starting at the same
        # moment sees no file or the whole token, never an empty one.
        draft = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        _create_secret_file(draft, secrets.token_urlsafe(32).encode())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: theirs is the token
        finally:
            draft.unlink()
    keep_from_others([path])
    token = path.read_text().strip()
    if not token:
        raise ConfigError(f"{path} is empty: delete it to have a new admin token made, or set admin_token")
    return token


def _create_secret_file(path: Path, content: bytes) -> None:
    private_dir(path.parent)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def write_secret_file(path: Path, content: str) -> None:
    """Write a file readable by its owner only (created 0600, never world-readable for a moment)."""
    private_dir(path.parent)
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.fchmod(fd, PRIVATE_FILE)  # an older file of that name may have been readable by others
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


class Vault:
    def __init__(self, master_key: bytes) -> None:
        self._fernet = Fernet(master_key)
        # A separate key for PIN hashes, derived so the two uses never share key material.
        self.pin_key = hmac.new(master_key, b"mecm pin hash", hashlib.sha256).digest()

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("a stored private key cannot be decrypted: wrong master key?") from None

    def open_sealed(self, token: str) -> str:
        """A message text sealed with ``encrypt`` (a PIN message's), in clear: for the submit only."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("a sealed message text cannot be decrypted: wrong master key?") from None
