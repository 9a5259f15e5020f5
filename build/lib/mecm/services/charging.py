"""Charging a send against its workspace's prepaid credit (store/credit.py for the statements).

A workspace without a price list pays nothing: its sends take the path they always took (one dict
look-up here, no statement more). A priced send is stored by a ``Together`` write that debits the
balance in the transaction that inserts the message; short of funds, nothing is stored and the
request answers NOT_ENOUGH_FUNDS. Only a message accepted PENDING is charged: one final at
acceptance (no carrier for the number, opted out) costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from mecm.errors import ApiError, InvalidParameter, NotEnoughFunds
from mecm.services.catalog import Catalog
from mecm.store import credit
from mecm.store.writer import GroupCommitWriter, Together


def price_of(catalog: Catalog, row: dict[str, Any]) -> int | None:
    """What the message row costs in micro-units; None when it is not charged. A priced workspace
    refuses a number its price list does not price (domain/pricing.py)."""
    price_list = catalog.price_lists.get(row["workspace_id"])
    if price_list is None or row["status"] != "PENDING":
        return None
    price = price_list.price(row["carrier"], row["recipient"], row["segments"])
    if price is None:
        raise InvalidParameter("mobileNumber", "no price for this number in the workspace's price list")
    return price


async def store_charged(writer: GroupCommitWriter, row: dict[str, Any], price: int,
                        extra: Sequence[tuple[Any, dict[str, Any]]] = (),
                        check: Callable[[Connection], ApiError | None] | None = None) -> None:
    """Store ``row`` (and ``extra`` rows) with its debit, or raise NotEnoughFunds having stored nothing.

    ``check`` runs in the same transaction first; the error it returns, if any, is raised instead
    (the PIN-send limits, counted where the PIN is stored)."""
    result = await writer.write(Together(credit.STORE_CHARGED, _charged_item(row, price, extra, check)))
    if result is not None:  # stored: None
        if result == credit.REFUSED:
            raise NotEnoughFunds()
        if isinstance(result, ApiError):
            raise result


def charged(row: dict[str, Any], price: int, extra: Sequence[tuple[Any, dict[str, Any]]] = (),
            check: Callable[[Connection], ApiError | None] | None = None) -> Callable[[Connection], None]:
    """A write of one priced message with its debit, on its own rather than grouped with others'
    debits: for a send that takes an Idempotency-Key in the same transaction. Raises NotEnoughFunds
    (or ``check``'s refusal), so that the transaction keeps nothing of it, the key included."""
    item = _charged_item(row, price, extra, check)

    def write(connection: Connection) -> None:
        (result,) = credit.store_charged(connection, [item])
        if result == credit.REFUSED:
            raise NotEnoughFunds()
        if isinstance(result, ApiError):
            raise result

    return write


def _charged_item(row: dict[str, Any], price: int, extra: Sequence[tuple[Any, dict[str, Any]]],
                  check: Callable[[Connection], ApiError | None] | None) -> credit.Charged:
    """What store/credit.py's runner takes: a plain send's row itself, priced (the common case builds
    nothing more), else a Charge with the rows and the check that go with it."""
    row["price"] = price
    if not extra and check is None:
        return row
    return credit.Charge(row, tuple(extra), check)
