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

from mecm.domain.addresses import Network, parse_allow
from mecm.domain.ratelimit import CLASSES, MAX_BURST, MAX_RATE_PER_S
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
        return Path(self.var_dir)

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
                 "pin_sends_per_block")


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
            values[key] = ",".join(map(str, raw)) if key == "outbound_allow" and isinstance(raw, list) else raw
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
