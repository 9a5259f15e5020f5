"""``Client``: the blocking SDK, on httpx.Client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from mecm.client import _core
from mecm.client._errors import TransportError
from mecm.client._models import Message, MOMessage, MOPage, PinConfirmation, PinVerification

_DEFAULT_TIMEOUT = httpx.Timeout(10.0)


class Client:
    """Signed calls to a mecm (or any OGANGI-compatible) server.

    >>> with Client("http://127.0.0.1:8080", 1, public_key, private_key) as client:
    ...     client.send_sms("13056708084", "Hello", from_="19893653744").status
    'PENDING'

    Every method returns a typed result or raises the ``ApiStatusError`` of the answer's status.
    ``transport`` is passed to httpx (tests inject ``httpx.MockTransport``).
    """

    def __init__(self, base_url: str, instance_id: int, public_key: str, private_key: str, *,
                 timeout: httpx.Timeout | float = _DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        self._signer = _core.Signer(int(instance_id), public_key, private_key)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, request: _core.Request) -> Any:
        headers = _core.request_headers(request)
        try:
            response = self._http.request(request.method, request.path, content=request.body, headers=headers)
        except httpx.HTTPError as error:
            raise TransportError(f"{error.__class__.__name__}: {error}") from error
        return _core.parse(response.content, response.status_code, request)

    def send_sms(self, to: str, text: str, *, from_: str, carrier: str | None = None,
                 idempotency_key: str | None = None) -> Message:
        """``idempotency_key``: retry with the same key and arguments to get the first answer again,
        never a second message (SPEC section 9); the same for every send method below."""
        return self._call(_core.with_idempotency_key(_core.send_sms(self._signer, to, text, from_, carrier),
                                                     idempotency_key))

    def send_mt(self, to: str, text: str, *, from_: str, carrier: str | None = None, flags: str | None = None,
                idempotency_key: str | None = None) -> Message:
        return self._call(_core.with_idempotency_key(_core.send_mt(self._signer, to, text, from_, carrier, flags),
                                                     idempotency_key))

    def send_pin(self, to: str, text: str, *, from_: str, length: int = 6, carrier: str | None = None,
                 idempotency_key: str | None = None) -> PinConfirmation:
        return self._call(_core.with_idempotency_key(_core.send_pin(self._signer, to, text, from_, length, carrier),
                                                     idempotency_key))

    def verify_pin(self, number: str, pin: str) -> PinVerification:
        """Check ``pin`` against the newest PIN sent to ``number`` (SPEC section 9)."""
        return self._call(_core.verify_pin(self._signer, number, pin))

    def fire_message(self, from_number: str, text: str, *, code: str | None = None,
                     idempotency_key: str | None = None) -> MOMessage:
        return self._call(_core.with_idempotency_key(_core.fire_message(self._signer, from_number, text, code),
                                                     idempotency_key))

    def get_mo_messages(
        self, page: int = 1, results_per_page: int = 20, *, from_: str | Sequence[str] | None = None,
        to: str | Sequence[str] | None = None, carrier: str | Sequence[str] | None = None,
        keyword: str | Sequence[str] | None = None, order: str | None = None, since: int | None = None,
        until: int | None = None,
    ) -> MOPage:
        filters = {"from": from_, "to": to, "carrier": carrier, "keyword": keyword, "order": order,
                   "since": since, "until": until}
        return self._call(_core.get_mo_messages(self._signer, page, results_per_page, filters))

    def get_message(self, message_id: int) -> Message:
        return self._call(_core.get_message(self._signer, message_id))
