"""Idempotency-Key on the sending methods and fireMessage (SPEC section 9), around their handlers.

A request without a key (no header, no ``idem=`` flag) goes straight to its handler: no extra work.
With one, after authentication:

1. the key is checked (INVALID_PARAMETER naming ``Idempotency-Key`` when malformed), and the
   request's fingerprint made (domain/idempotency.py);
2. the key is looked up (one primary-key read): a live answer with the same fingerprint is answered
   again, the response marked ``Idempotent-Replayed: true``; with another fingerprint the request is
   INVALID_PARAMETER naming ``Idempotency-Key``;
3. otherwise the handler runs with a ``Claim`` on the call: the service stores the key with the
   answer in the transaction that stores the message (services/idempotency.py). A request with the
   same key that committed in between makes the service raise KeyTaken: answered as in 2.

The stored answer is the first answer's result tree, as it was then (a send's status PENDING, say),
not the message's state now: the same answer, byte for byte, as SPEC section 9 asks. getMessage
tells the current state.

A PIN answer holds the PIN itself (unless the workspace hides it): it is stored sealed under the
master key, like the PIN message's own text, and replayed with the PIN, since a client whose first
answer was lost needs that PIN to check what its user types. Nothing holds the PIN in clear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mecm.api.reads import ReadShare, client_read
from mecm.api.render import Node
from mecm.domain import idempotency as keys
from mecm.errors import InvalidParameter
from mecm.services.idempotency import Claim, KeyTaken
from mecm.store import idempotency as store
from mecm.store.idempotency import StoredAnswer

if TYPE_CHECKING:
    from mecm.api.methods import Call, Handler

PIN_METHOD = "sendSMSPinMobileNumberConfirm"


class ReplayedAnswer(list):  # type: ignore[type-arg]
    """A result tree answered again; the endpoint adds these response headers (api/ogangi.py)."""

    headers = ((b"idempotent-replayed", b"true"),)


def idempotent(http_method: str, method: str, handler: Handler, *,
               clock: Callable[[], float] = time.time) -> Handler:
    """``handler`` answering a retry under the same Idempotency-Key with its first answer."""
    async def run(call: Call) -> list[Node]:
        key = _key_of(call, method)
        if key is None:
            return await handler(call)  # today's path
        settings = call.runtime.settings
        claim = Claim(call.workspace.id, key, method, keys.fingerprint(http_method, method, call.params, call.body),
                      int(clock() * 1000), settings.idempotency_window_s * 1000)
        stored = await _find(call, claim)
        if stored is not None:
            return _replay(call, claim, stored)
        try:
            return await handler(replace(call, claim=claim))
        except KeyTaken as taken:  # another request with the key committed first
            return _replay(call, claim, taken.stored)

    return run


def answering(call: Call, tree_of: Callable[[Any], list[Node]]) -> Claim | None:
    """The call's claim (None without a key), told how to make the answer it stores from the
    service's result: ``tree_of`` is the handler's own tree, so the replay is the answer given."""
    claim = call.claim
    if claim is None:
        return None
    seal = call.runtime.vault.encrypt if claim.method == PIN_METHOD else None

    def answer_of(result: Any) -> str:
        encoded = json.dumps(tree_of(result))
        return seal(encoded) if seal is not None else encoded

    return claim.answering(answer_of)


def _key_of(call: Call, method: str) -> str | None:
    flags = call.params[5] if method == "sendMT" and len(call.params) == 6 else None
    if call.idempotency_key is None and flags is None:
        return None
    return keys.request_key(call.idempotency_key, flags)


async def _find(call: Call, claim: Claim) -> StoredAnswer | None:
    """The key's live answer: a client read like getMessage's (the workspace's share, the budget)."""
    settings = call.runtime.settings
    share = call.reads or ReadShare(settings.reads_per_workspace)
    workspace_id, key, since_ms = claim.workspace_id, claim.key, claim.since_ms
    return await client_read(call.runtime.writer, share, workspace_id, settings.read_budget_s,  # type: ignore[arg-type]
                             call.receive, lambda c: store.find(c, workspace_id, key, since_ms))


def _replay(call: Call, claim: Claim, stored: StoredAnswer) -> list[Node]:
    if stored.fingerprint != claim.fingerprint:
        raise InvalidParameter(keys.PARAMETER, "already used for a request with other parameters")
    encoded = call.runtime.vault.open_sealed(stored.answer) if stored.method == PIN_METHOD else stored.answer
    return ReplayedAnswer(_nodes(json.loads(encoded)))


def _nodes(value: list[Any]) -> list[Node]:
    """JSON's lists back into the (name, value) pairs render.py walks."""
    return [(name, child if isinstance(child, str) else _nodes(child)) for name, child in value]
