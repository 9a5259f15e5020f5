"""Dry run (SPEC section 9): a sending method with the header ``X-Mecm-Dry-Run: 1`` runs every check
and the routing, stores nothing, sends nothing, debits nothing, and answers a ``<quote>``.

The quote's status is the one a real send would get: PENDING, a final status the send would be
stored with (NOT_SENT for an opted-out subscriber, BAD_CARRIER for a number no carrier serves), or
NOT_ENOUGH_FUNDS when the balance would not cover the price (read, not locked: a real send a moment
later may find another balance). Bad parameters answer INVALID_PARAMETER, as a real send would.
"""

from __future__ import annotations

from typing import Any

from mecm.api.render import Node
from mecm.domain.money import format_amount
from mecm.domain.status import Status, describe
from mecm.runtime import Runtime
from mecm.services.charging import price_of
from mecm.services.sending import SendRequest
from mecm.store import credit

HEADER = b"x-mecm-dry-run"


def asked_for(scope: dict[str, Any]) -> bool:
    """The request carries ``X-Mecm-Dry-Run: 1`` (or true / yes)."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return value.strip().lower() in (b"1", b"true", b"yes")
    return False


async def quote(runtime: Runtime, request: SendRequest) -> list[Node]:
    catalog = runtime.catalog
    await runtime.sending.opt_outs_current(request.kind)  # the status a real send would get now
    row = runtime.sending.prepare(request, catalog)
    price = price_of(catalog, row)
    status, detail = row["status"], row["status_detail"]
    price_list = catalog.price_lists.get(request.workspace.id)
    if price is not None:
        workspace_id = request.workspace.id
        balance = await runtime.writer.read(lambda c: credit.balance_of(c, workspace_id))  # type: ignore[union-attr]
        if balance < price:
            status, detail = Status.NOT_ENOUGH_FUNDS.value, None
    fields: list[Node] = [
        ("carrier", row["carrier"]),
        ("to", row["recipient"]),
        ("segments", str(row["segments"])),
        ("dataCoding", row["data_coding"]),
    ]
    if price_list is not None:
        fields += [("price", format_amount(price or 0)), ("currency", price_list.currency)]
    fields += [("status", status), ("statusDescription", describe(status, detail))]
    return [("quote", fields)]
