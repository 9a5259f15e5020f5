"""One typed settings object, loaded once at start-up.

Sources, later ones winning: built-in defaults, then ``mecm.toml``, then ``MECM_*`` environment
variables (``MECM_DATABASE_URL``, ``MECM_PORT``...). The TOML file uses the same names as the fields
below, lower-case.

The state (database, master key, var dir) is found the same way from any folder:

1. the file named by ``MECM_CONFIG``, else the first ``mecm.toml`` in the working directory or a
   folder above it (like git finds ``.git``). Relative paths in it (``var_dir``, a ``sqlite:///``
   ``database_url``) are relative to the file's own folder, not to where the command runs;
2. ``MECM_VAR_DIR``, ``MECM_DATABASE_URL`` and the other variables, over the file;
3. otherwise the default var dir, ``$XDG_DATA_HOME/mecm`` (``~/.local/share/mecm``), with the
   database ``mecm.db`` in it. A ``database_url`` not given anywhere is ``mecm.db`` in ``var_dir``.

``describe_sources`` says which of these applied, for an error that must tell where it looked.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from mecm.domain.addresses import Network, parse_allow
from mecm.domain.ratelimit import CLASSES, MAX_BURST, MAX_RATE_PER_S
from mecm.errors import ConfigError


@dataclass(frozen=True)
class Settings:
    # Empty: ``mecm.db`` in var_dir (load_settings fills it in).
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    # Database (by default), master key, admin token, demo credentials, locks, simulator state: made
    # 0700 by mecm, its files 0600 (mecm/files.py); an existing one others may enter is warned about.
    # Empty: the default var dir, $XDG_DATA_HOME/mecm or ~/.local/share/mecm (load_settings fills it in).
    var_dir: str = ""
    # Fernet key (urlsafe Base64, 32 bytes) protecting private keys and PIN hashes. When empty, a key
    # file is created under var_dir with mode 0600 on first start.
    master_key: str = ""
    # SPEC section 4: HTTP 200 for every outcome unless this is set.
    http_error_codes: bool = False
    # What one HTTP client may make an API process hold (mecm/api/http_protocol.py). A request over a
    # size bound is answered INVALID_PARAMETER (url or headers) and its connection closed. A text of 10
    # segments is at most 3,060 bytes of UTF-8, 4,080 characters of URL-safe Base64 in the URL.
    http_max_url_bytes: int = 8192  # the request target: path and query
    http_max_header_bytes: int = 16384  # all header lines together
    http_max_headers: int = 100
    # A client must send a whole request (head and body) within this many seconds of connecting or of
    # its request's first byte, else the connection is closed without an answer (slowloris).
    http_read_timeout_s: float = 10.0
    # An idle keep-alive connection is closed after this many seconds.
    http_keep_alive_s: float = 5.0
    # Connections one API process holds at most. At the cap a new connection closes one that waits on
    # its client (idle, or still sending); when every one has a request in hand, the new one is closed.
    # Keep it below the process's open-file limit (ulimit -n).
    http_max_connections: int = 1000
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
    # seconds. A revoked key stops working within this time; a key's new expiry is known within it
    # (then checked against the clock at every request).
    catalog_refresh_s: float = 1.0
    # How often an API process writes the last-used times of the keys used since its previous write
    # (one batched statement; services/key_use.py). ``mecm admin key list`` lags by up to this much.
    key_last_used_flush_s: float = 5.0
    # How long a PIN can be verified (verifyPin), in seconds from its send.
    pin_ttl_s: int = 600
    # Wrong verifyPin guesses a PIN allows; then it is locked (only a new PIN helps).
    pin_max_attempts: int = 5
    # Client reads (getMOMessages, getMessage, api/reads.py): the time one may take, waiting
    # included, and how many of the 4 reader threads one workspace may hold at once.
    read_budget_s: float = 5.0
    reads_per_workspace: int = 2
    # Rate limits (SPEC section 9, services/ratelimits.py): every workspace's limit for each class of
    # methods, a token bucket of a rate per second and a burst, unless ``mecm admin limit set`` gives it
    # (or one of its keys) its own. A rate of 0: no default limit for that class. sends: sendSMS,
    # sendMT, fireMessage; pins: sendSMSPinMobileNumberConfirm, verifyPin; reads: getMOMessages, getMessage.
    rate_sends_per_s: float = 1000.0
    rate_sends_burst: int = 2000
    rate_pins_per_s: float = 20.0
    rate_pins_burst: int = 100
    rate_reads_per_s: float = 100.0
    rate_reads_burst: int = 200
    # SMS-pumping defence (services/pin_sends.py): the PIN sends a workspace allows to one number, and
    # to one block of 10,000 numbers (the number without its last 4 digits), per pin_send_window_s;
    # 0: no limit. ``mecm admin pin-guard set`` gives a workspace its own, and the countries PINs may go to.
    pin_sends_per_number: int = 5
    pin_sends_per_block: int = 100
    pin_send_window_s: int = 3600
    # An Idempotency-Key (SPEC section 9) is answered again for this many seconds after its first
    # request; older keys are ignored and swept away.
    idempotency_window_s: int = 86400
    # A send with flags at=<epoch-ms> may be scheduled at most this far ahead.
    schedule_horizon_days: int = 365
    # When set, /metrics and /admin/carriers/status want "Authorization: Bearer <ops_token>"
    # (mecm/api/ops_guard.py); when empty they are open, for an address only operators reach.
    ops_token: str = ""
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
    # A line at INFO for every request answered with a failure, and for one in this many of those
    # that succeed (0: none of them), with the request's id (api/request_log.py).
    request_log_every: int = 100
    # Bearer token of the admin JSON API (/admin/api). When empty, one is created under var_dir with
    # mode 0600 on first start (``mecm admin token`` prints it).
    admin_token: str = ""
    # Webhooks (campaign actions, status callbacks) and e-mail: the outbox the worker works through.
    webhook_timeout_s: float = 10.0
    outbox_max_attempts: int = 8  # then the job is dead-lettered (mecm admin webhook replay)
    outbox_retry_base_s: float = 1.0  # doubling after each failure ...
    outbox_retry_max_s: float = 600.0  # ... up to this
    # Webhooks and status callbacks never go to a loopback, private, link-local, multicast or
    # reserved address (domain/addresses.py), unless one of these CIDRs holds it: a comma list, e.g.
    # "127.0.0.1/32,10.1.2.0/24" for a receiver of your own on this host or network. Empty by default.
    outbound_allow: str = ""
    # SMTP server for e-mail actions; empty: e-mail actions are dead-lettered with that reason.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "mecm@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False

    @property
    def var_path(self) -> Path:
        return Path(self.var_dir) if self.var_dir else default_var_dir(os.environ)

    @property
    def outbound_networks(self) -> tuple[Network, ...]:
        """``outbound_allow`` read as networks (checked by load_settings)."""
        return parse_allow(self.outbound_allow)


_POSITIVE = ("http_max_url_bytes", "http_max_header_bytes", "http_max_headers", "http_read_timeout_s",
             "http_keep_alive_s", "http_max_connections", "read_budget_s", "reads_per_workspace",
             "schedule_horizon_days", "pin_ttl_s", "pin_max_attempts", "rate_sends_burst", "rate_pins_burst",
             "rate_reads_burst", "pin_send_window_s", "key_last_used_flush_s",
             "idempotency_window_s")
_NOT_NEGATIVE = ("rate_sends_per_s", "rate_pins_per_s", "rate_reads_per_s", "pin_sends_per_number",
                 "pin_sends_per_block", "request_log_every")


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


CONFIG_FILE = "mecm.toml"


def default_var_dir(env: Mapping[str, str]) -> Path:
    """Where mecm keeps its state when no setting says: ``$XDG_DATA_HOME/mecm``, else
    ``~/.local/share/mecm`` (the XDG base directory rule), whatever folder a command runs in."""
    data_home = env.get("XDG_DATA_HOME") or ""
    if not data_home:
        home = env.get("HOME") or str(Path.home())
        data_home = str(Path(home) / ".local" / "share")
    return Path(data_home) / "mecm"


def find_config_file(env: Mapping[str, str], cwd: Path | None = None) -> Path | None:
    """The settings file: ``MECM_CONFIG`` (which must exist), else the first ``mecm.toml`` in the
    working directory or a folder above it, else none."""
    if "MECM_CONFIG" in env:
        named = Path(env["MECM_CONFIG"])
        if not named.is_file():
            raise ConfigError(f"MECM_CONFIG names {named}, which does not exist")
        return named
    start = (cwd or Path.cwd()).absolute()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def describe_sources(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> str:
    """Where the settings of the state came from, in words: for an error that must say where mecm looked."""
    env = os.environ if env is None else env
    start = (cwd or Path.cwd()).absolute()
    try:
        config = find_config_file(env, start)
    except ConfigError as error:
        return str(error)
    if config is not None:
        origin = f"MECM_CONFIG={config}" if "MECM_CONFIG" in env else f"settings file {config} (found from {start})"
    else:
        origin = f"no {CONFIG_FILE} in {start} or any folder above it, no MECM_CONFIG"
    overrides = [name for name in ("MECM_DATABASE_URL", "MECM_VAR_DIR") if name in env]
    if overrides:
        origin += f"; {' and '.join(overrides)} set in the environment"
    elif config is None:
        origin += f"; MECM_DATABASE_URL and MECM_VAR_DIR not set, so the default var dir {default_var_dir(env)}"
    return origin


def _relative_to(folder: Path, name: str, raw: object) -> object:
    """A path in a settings file, relative to the file's folder (so it means the same from any folder)."""
    if not isinstance(raw, str) or not raw:
        return raw
    if name == "var_dir":
        return str(folder / raw) if not Path(raw).is_absolute() else raw
    if name == "database_url" and raw.startswith("sqlite:///"):
        path = raw[len("sqlite:///"):]
        return raw if Path(path).is_absolute() else f"sqlite:///{folder / path}"
    return raw


def load_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None,
                  **overrides: object) -> Settings:
    env = dict(os.environ) if env is None else env
    values: dict[str, object] = {}
    types = {f.name: f.type for f in fields(Settings)}
    kinds = {"str": str, "int": int, "float": float, "bool": bool}

    config_path = find_config_file(env, cwd)
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: {exc}") from None
        for key, raw in data.items():
            if key not in types:
                raise ConfigError(f"{config_path}: unknown setting {key!r}")
            raw = ",".join(map(str, raw)) if key == "outbound_allow" and isinstance(raw, list) else raw
            values[key] = _relative_to(config_path.absolute().parent, key, raw)

    for name in types:
        env_name = f"MECM_{name.upper()}"
        if env_name in env:
            values[name] = env[env_name]
    values.update({k: v for k, v in overrides.items() if v is not None})

    coerced = {name: _coerce(name, kinds[str(types[name])], raw) for name, raw in values.items()}
    if not coerced.get("var_dir"):
        coerced["var_dir"] = str(default_var_dir(env))
    if not coerced.get("database_url"):
        coerced["database_url"] = f"sqlite:///{Path(str(coerced['var_dir'])) / 'mecm.db'}"
    settings = dataclasses.replace(Settings(), **coerced)
    if settings.log_format not in ("text", "json"):
        raise ConfigError("setting log_format: must be text or json")
    if settings.sqlite_synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError("setting sqlite_synchronous: must be FULL, NORMAL or EXTRA")
    for name in _POSITIVE:
        if getattr(settings, name) <= 0:
            raise ConfigError(f"setting {name}: must be above 0")
    for name in _NOT_NEGATIVE:
        if getattr(settings, name) < 0:
            raise ConfigError(f"setting {name}: must be 0 or more")
    for limit_class in CLASSES:
        if getattr(settings, f"rate_{limit_class}_per_s") > MAX_RATE_PER_S:
            raise ConfigError(f"setting rate_{limit_class}_per_s: must be at most {MAX_RATE_PER_S:.0f}")
        if getattr(settings, f"rate_{limit_class}_burst") > MAX_BURST:
            raise ConfigError(f"setting rate_{limit_class}_burst: must be at most {MAX_BURST}")
    if not 0 <= settings.node_id < 1024:
        raise ConfigError("setting node_id: must be 0 to 1023")
    try:
        settings.outbound_networks
    except ValueError as error:
        raise ConfigError(f"setting outbound_allow: {error}") from None
    return settings
