"""A workspace's prepaid credit and price list: balance, top-ups, ledger, low-balance threshold,
prices. Amounts come parsed (micro-units, domain/money.py): each caller names its own field in a
refusal of an amount it could not read; everything else is refused here, or in store/credit.py
(a currency other than the account's, a carrier that does not exist)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from mecm.domain.money import format_amount
from mecm.services.admin.audit import record
from mecm.services.admin.lookups import require_workspace
from mecm.services.key_use import wall_clock_ms
from mecm.store import credit as store_credit


def account(connection: Connection, workspace_id: int) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    return store_credit.account_view(connection, workspace_id)


def top_up(connection: Connection, workspace_id: int, amount: int, reason: str | None = None,
           currency: str | None = None, *, actor: str) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    before = store_credit.account_view(connection, workspace_id)
    after = store_credit.top_up(connection, workspace_id, amount, reason, wall_clock_ms(), currency)
    record(connection, actor, "credit.top_up", f"workspace:{workspace_id}", workspace_id=workspace_id,
           before={"balance": before["balance"], "currency": before["currency"]},
           after={"balance": after["balance"], "currency": after["currency"], "amount": format_amount(amount),
                  "reason": reason})
    return after


def set_threshold(connection: Connection, workspace_id: int, low_balance: int | None, *,
                  actor: str) -> dict[str, Any]:
    """Alert (a 'balance' status callback) when a send takes the balance below it; None: no alert."""
    require_workspace(connection, workspace_id)
    before = store_credit.account_view(connection, workspace_id)
    after = store_credit.set_threshold(connection, workspace_id, low_balance, wall_clock_ms())
    if before["low_balance"] != after["low_balance"]:
        record(connection, actor, "credit.threshold", f"workspace:{workspace_id}", workspace_id=workspace_id,
               before={"low_balance": before["low_balance"]}, after={"low_balance": after["low_balance"]})
    return after


def ledger(connection: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    require_workspace(connection, workspace_id)
    return store_credit.ledger_rows(connection, workspace_id, limit)


def prices(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    require_workspace(connection, workspace_id)
    return store_credit.price_rows(connection, workspace_id)


def set_price(connection: Connection, workspace_id: int, carrier: str, prefix: str, per_segment: int,
              currency: str | None = None, *, actor: str) -> list[dict[str, Any]]:
    """Add or replace one price row (opening the account, balance 0, if there is none); the price list."""
    require_workspace(connection, workspace_id)
    before = _price_of(store_credit.price_rows(connection, workspace_id), carrier, prefix)
    rows = store_credit.set_price(connection, workspace_id, carrier, prefix, per_segment, wall_clock_ms(), currency)
    after = _price_of(rows, carrier, prefix)
    if before != after:
        record(connection, actor, "price.set", f"workspace:{workspace_id}", workspace_id=workspace_id,
               before=before, after=after)
    return rows


def clear_prices(connection: Connection, workspace_id: int, carrier: str | None = None,
                 prefix: str | None = None, *, actor: str) -> int:
    """Remove price rows (those of ``carrier`` / ``prefix`` when given); how many."""
    require_workspace(connection, workspace_id)
    gone = [r for r in store_credit.price_rows(connection, workspace_id)
            if carrier in (None, r["carrier"]) and prefix in (None, r["prefix"])]
    removed = store_credit.clear_prices(connection, workspace_id, carrier, prefix)
    if removed:  # clearing what was not there changes nothing
        record(connection, actor, "price.clear", f"workspace:{workspace_id}", workspace_id=workspace_id,
               before={"prices": gone}, after={"prices": [], "removed": removed})
    return removed


def _price_of(rows: list[dict[str, Any]], carrier: str, prefix: str) -> dict[str, Any] | None:
    """The price row of ``carrier`` and ``prefix`` as the price list shows it, None when there is none."""
    return next(({"carrier": carrier, "prefix": prefix, "per_segment": r["per_segment"], "currency": r["currency"]}
                 for r in rows if (r["carrier"], r["prefix"]) == (carrier, prefix)), None)
