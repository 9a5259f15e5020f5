"""The Python SDK: ``Client`` (blocking) and ``AsyncClient`` (asyncio) for the OGANGI API.

Signing, URL building and XML parsing live once in ``_core``; the two clients only move bytes.
"""

from mecm.client._async import AsyncClient
from mecm.client._errors import (
    ApiStatusError,
    BadSignature,
    ClientError,
    InvalidParameter,
    NotEnoughFunds,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)
from mecm.client._models import Message, MOMessage, MOPage, PinConfirmation, PinVerification
from mecm.client._sync import Client

__all__ = [
    "ApiStatusError", "AsyncClient", "BadSignature", "Client", "ClientError", "InvalidParameter", "Message",
    "MOMessage", "MOPage", "NotEnoughFunds", "NotFound", "PinConfirmation", "PinVerification", "RateLimited",
    "ServerError", "TransportError",
]
