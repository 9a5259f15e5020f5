"""One typed settings object, loaded once at start-up.

Sources, later ones winning: built-in defaults, then ``mecm.toml`` (the file named by ``MECM_CONFIG``,
else ``./mecm.toml`` when present), then ``MECM_*`` environment variables (``MECM_DATABASE_URL``,
``MECM_PORT``...). The TOML file uses the same names as the fields below, lower-case.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from mecm.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///./var/mecm.db"
    host: str = "127.0.0.1"
    port: int = 8080
    # Database (by default), master key, admin token, demo credentials, locks, simulator state: made
    # 0700 by mecm, its files 0600 (mecm/files.py); an existing one others may enter is warned about.
    var_dir: str = "./var"
    # Fernet key (urlsafe Base64, 32 bytes) protecting private keys and PIN hashes. When empty, a key
    # file is created under var_dir with mode 0600 on first start.
    master_key: str = ""
    # SPEC section 4: HTTP 200 for every outcome unless this is set.
    http_error_codes: bool = False
    # FULL fsyncs the WAL on every (grouped) commit: an acknowledged message survives power loss.
    # NORMAL survives a process crash only. Grouped commits make FULL affordable.
    sqlite_synchronous: str = "FULL"
    # Upper bound on the number of writes grouped into one commit.
    commit_batch_max: int = 1000
    # The delivery worker gathers its writes for this long before it commits them together, so it
    # takes the database's write lock (shared with the API's commits) less often.
    worker_commit_gather_ms: float = 10.0
    # Distinguishes processes that generate message ids (0..1023).
    node_id: int = 0
    # How often workspaces, keys, codes, carriers and campaigns are re-read from the database, in
    # seconds. A revoked key stops working within this time.
    catalog_refresh_s: float = 1.0
    pin_ttl_s: int = 600
    # A message SENT_TO_CARRIER with no receipt after this many minutes becomes EXPIRED, unless its
    # own validity= flag says otherwise.
    default_validity_minutes: int = 2880
    dispatch_batch: int = 500
    # How long a retryable submit waits before its next try, doubling up to retry_max_s.
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0
    max_attempts: int = 20
    # A message SENDING this long that no submit has in hand (its outcome's write failed) is settled
    # as if a stop had left it so (by its carrier's on_unknown), without waiting for a restart.
    stale_sending_s: float = 300.0
    log_level: str = "INFO"
    # "text", or "json": one JSON object per line, for a log collector (mecm/logs.py).
    log_format: str = "text"
    # Bearer token of the admin JSON API (/admin/api). When empty, one is created under var_dir with
    # mode 0600 on first start (``mecm admin token`` prints it).
    admin_token: str = ""
    # Webhooks (campaign actions, status callbacks) and e-mail: the outbox the worker works through.
    webhook_timeout_s: float = 10.0
    outbox_max_attempts: int = 8  # then the job is dead-lettered (mecm admin webhook replay)
    outbox_retry_base_s: float = 1.0  # doubling after each failure ...
    outbox_retry_max_s: float = 600.0  # ... up to this
    # SMTP server for e-mail actions; empty: e-mail actions are dead-lettered with that reason.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "mecm@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir)


def _coerce(name: str, kind: type, raw: object) -> object:
    if isinstance(raw, kind) and not (kind is int and isinstance(raw, bool)):
        return raw
    text = str(raw).strip()
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        return kind(text)
    except ValueError:
        raise ConfigError(f"setting {name}: {raw!r} is not a valid {kind.__name__}") from None


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    env = dict(os.environ) if env is None else env
    values: dict[str, object] = {}
    types = {f.name: f.type for f in fields(Settings)}
    kinds = {"str": str, "int": int, "float": float, "bool": bool}

    config_path = Path(env.get("MECM_CONFIG", "mecm.toml"))
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from None
        for key, raw in data.items():
            if key not in types:
                raise ConfigError(f"{config_path}: unknown setting {key!r}")
            values[key] = raw
    elif "MECM_CONFIG" in env:
        raise ConfigError(f"MECM_CONFIG names {config_path}, which does not exist")

    for name in types:
        env_name = f"MECM_{name.upper()}"
        if env_name in env:
            values[name] = env[env_name]
    values.update({k: v for k, v in overrides.items() if v is not None})

    coerced = {name: _coerce(name, kinds[str(types[name])], raw) for name, raw in values.items()}
    settings = dataclasses.replace(Settings(), **coerced)
    if settings.log_format not in ("text", "json"):
        raise ConfigError("setting log_format: must be text or json")
    if settings.sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError("setting sqlite_synchronous: must be FULL, NORMAL or EXTRA")
    if not 0 <= settings.node_id < 1024:
        raise ConfigError("setting node_id: must be 0 to 1023")
    return settings
