"""One exception root for mecm.

    MecmError
    ├── ApiError                 carries a SPEC status (section 4) and, where one applies, the parameter
    │   ├── NotFound             NOT_FOUND: no such method or wrong segment count
    │   ├── BadSignature         BAD_SIGNATURE: any authentication failure, deliberately vague
    │   ├── InvalidParameter     INVALID_PARAMETER: names the parameter and the reason
    │   │   └── Unknown          an id that names nothing (the admin API answers 404)
    │   ├── RateLimited          RATE_LIMITED
    │   ├── Forbidden            the admin API's 403: the role a change needs, named
    │   └── NotEnoughFunds       NOT_ENOUGH_FUNDS
    ├── ConfigError              the settings cannot be loaded
    ├── OutboundRefused          an outbound request's address is not allowed (domain/addresses.py)
    └── StoreError               the database refused or failed (wrapped at the store boundary)

Pure domain functions raise InvalidParameter directly so that the API can answer with the name and
reason unchanged.
"""

from __future__ import annotations


class MecmError(Exception):
    """Root of every error mecm raises on purpose."""


class ApiError(MecmError):
    status = "ERROR"
    http_status = 500

    def __init__(self, description: str = "Internal error") -> None:
        super().__init__(description)
        self.description = description


class NotFound(ApiError):
    status = "NOT_FOUND"
    http_status = 404

    def __init__(self, path: str) -> None:
        super().__init__(f"Unknown method {path}")
        self.path = path


class BadSignature(ApiError):
    status = "BAD_SIGNATURE"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("Invalid signature, access denied")


class InvalidParameter(ApiError):
    status = "INVALID_PARAMETER"
    http_status = 400

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"Invalid parameter {name}: {reason}")
        self.name = name
        self.reason = reason


class Unknown(InvalidParameter):
    """An id that names nothing (``no list 7``): the admin API answers 404 and the CLI exits 2, both
    with these words (``description``); elsewhere it is an INVALID_PARAMETER like any other."""

    def __init__(self, name: str, what: str, ident: object) -> None:
        super().__init__(name, f"no {what} {ident}")
        self.description = self.reason


class Forbidden(ApiError):
    """A user whose role (or token's scope) does not allow the action: the admin API answers 403 with
    ``description`` (which names the role needed), the CLI exits 2; nothing is written."""

    status = "FORBIDDEN"
    http_status = 403

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class RateLimited(ApiError):
    status = "RATE_LIMITED"
    http_status = 429

    def __init__(self, retry_after_s: int, which: str = "") -> None:
        """``which``: the limit that refused, after the SPEC's words (which clients may parse)."""
        super().__init__(f"Too many requests, retry after {retry_after_s} s" + (f": {which}" if which else ""))
        self.retry_after_s = retry_after_s
        self.which = which


class NotEnoughFunds(ApiError):
    status = "NOT_ENOUGH_FUNDS"
    http_status = 402

    def __init__(self) -> None:
        super().__init__("Not enough funds")


class Unavailable(ApiError):
    """The process cannot take the call now, for a reason that passes (its database session was
    lost, services/node_lease.py): ERROR, with HTTP 503 when http_error_codes is on."""

    http_status = 503

    def __init__(self, reason: str) -> None:
        super().__init__(f"Service unavailable: {reason}")


class ConfigError(MecmError):
    """The settings file or environment holds a value mecm cannot use."""


class OutboundRefused(MecmError):
    """A webhook or callback host is, or resolves to, an address the outbound policy refuses. Raised
    before any connection; permanent: trying again would be refused again."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}; not allowed (setting outbound_allow)")
        self.host = host
        self.reason = reason


class StoreError(MecmError):
    """A database operation failed; the original driver error is chained as __cause__."""
