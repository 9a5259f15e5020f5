"""The SDK's exceptions, one per SPEC status, under one root.

    ClientError                  anything the SDK raises on purpose
    ├── TransportError           no answer that the API could have written (connection, proxy page)
    └── ApiStatusError           the server answered with a status other than OK (SPEC section 4)
        ├── BadSignature         BAD_SIGNATURE
        ├── InvalidParameter     INVALID_PARAMETER, with .parameter and .reason
        ├── NotFound             NOT_FOUND
        ├── RateLimited          RATE_LIMITED, with .retry_after_s
        ├── NotEnoughFunds       NOT_ENOUGH_FUNDS
        └── ServerError          ERROR
"""

from __future__ import annotations

import re


class ClientError(Exception):
    """Root of every error the SDK raises on purpose."""


class TransportError(ClientError):
    """The server could not be reached, or answered with something that is not an API response."""


class ApiStatusError(ClientError):
    status = ""

    def __init__(self, description: str) -> None:
        super().__init__(f"{self.status}: {description}")
        self.description = description


class BadSignature(ApiStatusError):
    status = "BAD_SIGNATURE"


class InvalidParameter(ApiStatusError):
    status = "INVALID_PARAMETER"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        found = re.match(r"Invalid parameter (\S+): (.*)", description, re.DOTALL)
        self.parameter = found.group(1) if found else None
        self.reason = found.group(2) if found else description


class NotFound(ApiStatusError):
    status = "NOT_FOUND"


class RateLimited(ApiStatusError):
    status = "RATE_LIMITED"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        found = re.search(r"retry after (\d+)", description)
        self.retry_after_s = int(found.group(1)) if found else None


class NotEnoughFunds(ApiStatusError):
    status = "NOT_ENOUGH_FUNDS"


class ServerError(ApiStatusError):
    status = "ERROR"


BY_STATUS: dict[str, type[ApiStatusError]] = {
    cls.status: cls for cls in (BadSignature, InvalidParameter, NotFound, RateLimited, NotEnoughFunds, ServerError)
}
