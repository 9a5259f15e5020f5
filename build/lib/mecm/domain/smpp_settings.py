"""An SMPP carrier's settings: typed, defaulted and validated in one place.

The carrier row keeps them as JSON (the password encrypted, as ``password_enc``; the catalog puts the
decrypted ``password`` back at load). ``SmppSettings.parse`` refuses a bad value with
InvalidParameter naming the CLI option (``window``, ``system-id``...), so ``mecm admin carrier add``
and the connector agree on what is valid. The password never appears in a repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mecm.errors import InvalidParameter

BINDS = ("transceiver", "tx-rx")
CONCATS = ("udh", "sar", "payload")
ON_UNKNOWN = ("query", "resend", "fail")
ID_FORMATS = ("as-is", "decimal", "hex")


@dataclass(frozen=True)
class SmppSettings:
    host: str
    port: int
    system_id: str
    password: str = field(default="", repr=False)
    system_type: str = ""
    bind: str = "transceiver"
    window: int = 10  # submit_sm outstanding without a response, at most
    tps: float = 0.0  # submit_sm per second (one per part), 0 = no limit
    throttle_pause_s: float = 1.0  # the pause after ESME_RTHROTTLED, doubled while throttles go on
    tls: bool = False
    tls_verify: bool = True
    tls_ca: str = ""  # a PEM file of CA certificates to trust besides the system's (a private CA)
    concat: str = "udh"
    gsm_packed: bool = False
    on_unknown: str = "query"  # read by the dispatcher: what to do with an in-doubt submit
    supports_query: bool = True
    enquire_link_s: float = 30.0
    id_format: str = "as-is"
    mo_reassembly_s: float = 60.0
    reconnect_base_s: float = 1.0
    reconnect_max_s: float = 60.0

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> SmppSettings:
        """Typed settings from a carrier's JSON; unknown keys (``password_enc``) are ignored."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, spec in known.items():
            if name in raw and raw[name] is not None:
                values[name] = _coerce(name, spec.type, raw[name])
        for required in ("host", "port", "system_id"):
            if required not in values or values[required] in ("", 0):
                raise InvalidParameter(_option(required), "required for an smpp carrier")
        settings = cls(**values)
        settings._check()
        return settings

    def _check(self) -> None:
        _require(0 < self.port < 65536, "port", "must be 1 to 65535")
        _require(len(self.system_id) <= 15, "system-id", "at most 15 characters (SMPP 3.4)")
        _require(len(self.password) <= 8, "password", "at most 8 characters (SMPP 3.4)")
        _require(len(self.system_type) <= 12, "system-type", "at most 12 characters (SMPP 3.4)")
        _require(self.bind in BINDS, "bind", f"must be one of {', '.join(BINDS)}")
        _require(1 <= self.window <= 1000, "window", "must be 1 to 1000")
        _require(0 <= self.tps <= 100_000, "tps", "must be 0 (no limit) to 100000")
        _require(0.01 <= self.throttle_pause_s <= 60, "throttle-pause-s", "must be 0.01 to 60 seconds")
        _require(self.concat in CONCATS, "concat", f"must be one of {', '.join(CONCATS)}")
        _require(self.on_unknown in ON_UNKNOWN, "on-unknown", f"must be one of {', '.join(ON_UNKNOWN)}")
        _require(0.05 <= self.enquire_link_s <= 3600, "enquire-link-s", "must be 0.05 to 3600 seconds")
        _require(self.id_format in ID_FORMATS, "id-format", f"must be one of {', '.join(ID_FORMATS)}")
        _require(0 < self.mo_reassembly_s <= 86_400, "mo-reassembly-s", "must be above 0, at most 86400")
        _require(0 < self.reconnect_base_s <= self.reconnect_max_s, "reconnect-base-s",
                 "must be above 0 and at most reconnect-max-s")
        _require(not self.tls_ca or self.tls, "tls-ca", "needs --tls")
        _require(not self.tls_ca or _readable_pem(self.tls_ca), "tls-ca", "must be a readable PEM file of certificates")

    def public(self) -> dict[str, Any]:
        """The settings as shown to people: everything but the password."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "password"}


def _readable_pem(path: str) -> bool:
    try:
        return "-----BEGIN CERTIFICATE-----" in Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return False


def _option(name: str) -> str:
    return name.replace("_", "-")


def _require(ok: bool, option: str, reason: str) -> None:
    if not ok:
        raise InvalidParameter(option, reason)


def _coerce(name: str, kind: Any, value: Any) -> Any:
    kind = {"str": str, "int": int, "float": float, "bool": bool}.get(kind, kind) if isinstance(kind, str) else kind
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        reason = "must be a number" if kind in (int, float) else f"must be a {kind.__name__}"
        raise InvalidParameter(_option(name), reason) from None
