"""The simulator's settings: one dataclass, set from the command line and partly changeable at run
time through ``POST /config``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from mecm.smpp.pdu import ESME_RSYSERR

ID_FORMATS = ("hex", "decimal")

# What POST /config may change while the simulator runs: behaviour, not identity or storage.
RUNTIME_SETTINGS = frozenset({
    "submit_latency_ms",
    "throttle_share",
    "error_share",
    "error_status",
    "receipt_delay_ms",
    "receipt_failure_share",
    "message_id_format",
    "receipt_id_format",
    "receipt_before_response",
    "answer_enquire_link",
    "enquire_link_interval_s",
    "deliver_retry_s",
    "deliver_timeout_s",
    "hang_after_submits",
})


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 2775  # 0: any free port (the one taken is printed)
    control_port: int | None = 2776  # HTTP control interface; None: none, 0: any free port
    system_id: str = "mecm"
    password: str = "secret"
    submit_latency_ms: float = 0.0  # delay before each submit_sm_resp
    # > 0: answer that many submit_sm (counted since the start), then record the later ones but answer
    # none of them: an SMSC that hangs with submits in flight, whatever the machine's speed (POST /config)
    hang_after_submits: int = 0
    throttle_share: float = 0.0  # share of submit_sm answered ESME_RTHROTTLED
    error_share: float = 0.0  # share of submit_sm answered error_status
    error_status: int = ESME_RSYSERR
    receipt_delay_ms: float = 50.0  # from the submit to its delivery receipt
    receipt_failure_share: float = 0.0  # share of receipts with stat UNDELIV
    message_id_format: str = "hex"  # how submit_sm_resp prints message ids
    receipt_id_format: str | None = None  # how receipts print them; None: as message_id_format
    receipt_before_response: bool = False  # send the receipt before the submit_sm_resp
    answer_enquire_link: bool = True  # False: a half-dead peer that reads but never answers anything
    enquire_link_interval_s: float = 0.0  # > 0: the SMSC itself sends enquire_link that often
    deliver_retry_s: float = 1.0  # redelivery delay of a deliver_sm the ESME refused
    deliver_timeout_s: float = 10.0  # a deliver_sm unanswered this long is taken back and redelivered
    deliver_window: int = 100  # deliver_sm awaiting their response, per session
    db_path: str | None = None  # SQLite file of submits (query_sm, duplicates across restarts)
    record_path: str | None = None  # JSON-lines file of every PDU received and sent
    record_limit: int = 100_000  # PDUs kept in memory for GET /pdus
    seed: int | None = None  # for reproducible throttling, errors and failures
    tls_cert: str | None = None  # PEM certificate (chain): SMPP over TLS on the SMPP port
    tls_key: str | None = None  # its PEM private key

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises ValueError naming the first setting that is out of range."""
        for name in ("throttle_share", "error_share", "receipt_failure_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("submit_latency_ms", "receipt_delay_ms", "enquire_link_interval_s", "deliver_retry_s",
                     "deliver_timeout_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.message_id_format not in ID_FORMATS:
            raise ValueError(f"message_id_format must be one of {ID_FORMATS}")
        if self.receipt_id_format not in (None, *ID_FORMATS):
            raise ValueError(f"receipt_id_format must be one of {ID_FORMATS}")
        if not 0 <= self.error_status <= 0xFFFFFFFF:
            raise ValueError("error_status must fit 32 bits")
        if self.hang_after_submits < 0:
            raise ValueError("hang_after_submits must not be negative")
        if self.deliver_window < 1:
            raise ValueError("deliver_window must be at least 1")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")

    def update(self, changes: dict[str, Any]) -> None:
        """Apply run-time changes (POST /config): all or none."""
        known = {f.name: f for f in fields(self)}
        for name in changes:
            if name not in RUNTIME_SETTINGS:
                raise ValueError(f"{name} cannot be changed at run time" if name in known else f"unknown setting {name}")
        before = {name: getattr(self, name) for name in changes}
        for name, value in changes.items():
            setattr(self, name, _coerce(name, type(before[name]), value))
        try:
            self.validate()
        except ValueError:
            for name, value in before.items():
                setattr(self, name, value)
            raise

    def as_dict(self) -> dict[str, Any]:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["password"] = "***"
        return shown


def _coerce(name: str, current: type, value: Any) -> Any:
    if name == "receipt_id_format":
        return value
    if current is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if current is float or current is int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        return current(value)
    return value
