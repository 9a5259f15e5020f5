"""Posting a webhook: the JSON body, signed, with a timeout.

Every webhook mecm posts (a campaign's webhook action, a workspace's status callback) carries:

- ``Content-Type: application/json``
- ``X-Mecm-Event``: ``mo`` or ``status``
- ``X-Mecm-Delivery``: the outbox job's id, the same on every retry of it (to drop duplicates)
- ``X-Mecm-Signature``: ``sha256=`` and the hex HMAC-SHA256 of the exact body bytes, keyed with the
  workspace's webhook secret (``mecm admin workspace webhook-secret --workspace N``)

A 2xx answer is success; anything else, or no answer within ``webhook_timeout_s``, is a failure the
outbox retries. A 2xx answer of type ``text/plain`` with text in it is the MO's reply (as Kannel's
get-url services do): it is sent to the subscriber.

Redirects are not followed: a 3xx answer is a failure like a 5xx (a redirect could lead to an
address the outbound policy refuses). The client (delivery/outbound.py) connects only to addresses
that policy allows; a refused one raises OutboundRefused before any connection, which ``post``
leaves to its caller: it is a permanent failure, not one to retry.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import httpx

SIGNATURE_HEADER = "X-Mecm-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does with the header (used by the tests; documented for clients)."""
    return hmac.compare_digest(signature(secret, body), header)


@dataclass(frozen=True)
class Answer:
    ok: bool
    text: str = ""  # a text/plain answer's text
    error: str = ""  # why it failed


async def post(client: httpx.AsyncClient, url: str, body: bytes, *, secret: str, event: str,
               delivery_id: int) -> Answer:
    """Post ``body`` signed; the answer, or why it failed. OutboundRefused passes through."""
    headers = {
        "Content-Type": "application/json",
        "X-Mecm-Event": event,
        "X-Mecm-Delivery": str(delivery_id),
        SIGNATURE_HEADER: signature(secret, body),
        "User-Agent": "mecm",
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return Answer(False, error=f"{error.__class__.__name__}: {error}"[:500])
    if not 200 <= response.status_code < 300:
        return Answer(False, error=f"HTTP {response.status_code}")
    text = ""
    if response.headers.get("content-type", "").startswith("text/plain"):
        text = response.text.strip()
    return Answer(True, text=text)
