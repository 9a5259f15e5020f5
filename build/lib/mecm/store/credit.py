"""Prepaid credit's statements: accounts, price lists, the ledger, debits with the send, refunds.

A priced send's message row and its debit are one ``Together`` write (STORE_CHARGED, store/writer.py),
so they are committed in the same transaction, and a grouped commit debits each workspace once: its
account row is read and locked (``FOR UPDATE`` on PostgreSQL, where several API processes debit side
by side; SQLite has one writer at a time), the batch's sends are taken in order while the balance
covers them, the balance is written once, and the messages are inserted in bulk (their insert built
before the write lock is taken, for the common case: all covered). A send the balance does not cover
is not inserted: its caller answers NOT_ENOUGH_FUNDS, and the others in the batch are committed all
the same. The balance can never go below zero.

The balance moves once per workspace per transaction, and so does the ledger: one debit row for the
workspace's sends in it (``messages`` says how many; ``message_id`` names the message when it is one),
each message keeping its own charge in ``messages.price``. A ledger row per message cost the core
scenario 6 % of its accepted/s on SQLite (bench/guard_ratio.py, issue 12): its insert and the pages it
dirtied were held under the write lock that the API and the delivery worker take turns on.

Accounts are locked in workspace order everywhere (debits and refunds), so two transactions never
wait on each other's accounts in a circle.

Every movement is a ledger row; the ledger refuses UPDATE and DELETE (triggers, migration 0015).
"""

from __future__ import annotations

import json
from contextlib import closing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, select, text

from mecm.domain.money import format_amount
from mecm.domain.pricing import ANY_CARRIER, REFUNDABLE_STATUSES, PriceList
from mecm.errors import InvalidParameter
from mecm.store import bulk
from mecm.store.writer import Runner
from mecm.store.tables import carriers, credit_accounts, credit_ledger, messages, outbox, prices, workspaces

DEFAULT_CURRENCY = "USD"
REFUSED = "NOT_ENOUGH_FUNDS"  # a Charge's result when the balance did not cover it

# A debit's statements per workspace per batch (and the batch's ledger rows) go straight to one
# driver cursor (positional parameters, same connection and transaction), as store/bulk.py's
# many-row writes do: through SQLAlchemy's text() each cost about 50 us of the writer thread's CPU,
# which at a batch of ten sends was more than storing the ten messages (measured: 10 us a message
# plain, 27 priced, 15 this way). The account is read alone: the workspace's callback address is
# read only when a debit crosses the low-balance threshold (a join on every batch cost 2 us).
_ACCOUNT_BY_DIALECT = {
    "postgresql": "SELECT balance, low_balance, currency FROM credit_accounts WHERE workspace_id = %s FOR UPDATE",
    "sqlite": "SELECT balance, low_balance, currency FROM credit_accounts WHERE workspace_id = ?",
}
_SET_BALANCE_BY_DIALECT = {
    dialect: f"UPDATE credit_accounts SET balance = {p}, updated_at_ms = {p} WHERE workspace_id = {p}"
    for dialect, p in (("postgresql", "%s"), ("sqlite", "?"))
}
_CALLBACK_URL = text("SELECT status_callback_url FROM workspaces WHERE id = :w")


class _Account(NamedTuple):
    balance: int
    low_balance: int | None
    currency: str


_ADD_TO_BALANCE = text(
    "UPDATE credit_accounts SET balance = balance + :amount, updated_at_ms = :now WHERE workspace_id = :w"
    " RETURNING balance"
)


@dataclass(frozen=True)
class Charge:
    """A priced message to store with its debit, when there is more to it than its row: the rows
    that go with it (a PIN's), as (table, row), or a check. A plain priced send's item is its row
    alone (with ``price`` set): nothing is built for it but the row."""

    row: dict[str, Any]
    extra: tuple[tuple[Any, dict[str, Any]], ...] = ()
    # Run first, in the transaction: an error it returns refuses the charge instead (nothing written).
    check: Callable[[Connection], Any] | None = None


Charged = Charge | dict[str, Any]  # a Charge, or a message row with its price
# A ledger row's (workspace, message or None, amount, balance after, messages it covers).
_LedgerEntry = tuple[int, int | None, int, int, int]


class _Prepared(NamedTuple):
    """A run's message rows, and the statements that insert them all (before the lock)."""

    rows: list[dict[str, Any]]
    insert_all: list[bulk.Chunk]


def prepare_charged(charges: list[Charged], dialect: str) -> _Prepared:
    rows = [c.row if isinstance(c, Charge) else c for c in charges]
    return _Prepared(rows, _prepare_grouped(messages, rows, dialect))


def store_charged(connection: Connection, charges: list[Charged], prepared: _Prepared | None = None) -> list[Any]:
    """Debit and store each charge its balance covers, in order; None for a stored one, REFUSED for
    one not covered (nothing of it is written). ``prepared``: prepare_charged's, if made already."""
    if prepared is None:
        prepared = prepare_charged(charges, connection.dialect.name)
    rows = prepared.rows
    results: list[Any] = [REFUSED] * len(charges)
    by_workspace: dict[int, list[int]] = {}
    for index, row in enumerate(rows):
        by_workspace.setdefault(row["workspace_id"], []).append(index)
    dialect = connection.dialect.name
    now = max(row["created_at_ms"] for row in rows)
    ledger: list[_LedgerEntry] = []
    with closing(connection.connection.dbapi_connection.cursor()) as cursor:  # type: ignore[union-attr]
        for workspace_id in sorted(by_workspace):
            cursor.execute(_ACCOUNT_BY_DIALECT[dialect], (workspace_id,))
            found = cursor.fetchone()
            if found is None:
                continue  # no account: no credit
            account = _Account(*found)
            balance = start = account.balance
            covered: list[int] = []  # the ids of the workspace's sends the balance covers
            for index in by_workspace[workspace_id]:
                charge = charges[index]
                if isinstance(charge, Charge) and charge.check is not None \
                        and (refusal := charge.check(connection)) is not None:
                    results[index] = refusal
                    continue
                row = rows[index]
                if row["price"] <= balance:
                    balance -= row["price"]
                    results[index] = None
                    covered.append(row["id"])
            if covered:
                ledger.append((workspace_id, covered[0] if len(covered) == 1 else None, balance - start, balance,
                               len(covered)))
            if balance != start:
                cursor.execute(_SET_BALANCE_BY_DIALECT[dialect], (balance, now, workspace_id))
                _alert_if_crossed(connection, workspace_id, account, start, balance, now)
        if sum(entry[4] for entry in ledger) == len(rows):  # all stored (a refusal or a short balance has no debit)
            bulk.execute(connection, prepared.insert_all)
        else:
            _insert_grouped(connection, messages, [rows[i] for i, result in enumerate(results) if result is None])
        for charge, result in zip(charges, results):
            if result is None and isinstance(charge, Charge):
                for table, row in charge.extra:
                    connection.execute(table.insert(), [row])
        _insert_ledger(connection, "debit", None, now, ledger, cursor)
    return results


class _StoreCharged(Runner):
    """The Together runner of priced sends: their message rows' insert is prepared before the lock."""

    def prepare(self, items: list[Any], dialect: str) -> _Prepared:
        return prepare_charged(items, dialect)

    def run(self, connection: Connection, items: list[Any], prepared: Any) -> list[Any]:
        return store_charged(connection, items, prepared)


STORE_CHARGED = _StoreCharged()


# Ledger rows of one kind at a time: the kind, reason and time bound once, each row's five values
# from a VALUES list (SQLite) or arrays (PostgreSQL): fewer values to bind than an insert of whole
# rows (store/bulk.py), and no row built as a dict. Rows keep their order, so ids follow it.
_LEDGER_COLUMNS = "workspace_id, message_id, amount, balance_after, messages, kind, reason, created_at_ms"
_LEDGER_PG = (f"INSERT INTO credit_ledger ({_LEDGER_COLUMNS})"
              " SELECT w, m, a, b, n, %s::text, %s::text, %s::bigint"
              " FROM unnest(%s::integer[], %s::bigint[], %s::bigint[], %s::bigint[], %s::integer[])"
              " AS r (w, m, a, b, n)")
_LEDGER_ROWS_PER_STATEMENT = 6_000  # 5 bound values a row: below SQLite's 32,766
# One row (a batch's debit of one workspace, the common case) as plain VALUES: 4 us less on SQLite
# than the same row through the sub-select.
_LEDGER_ONE_SQLITE = f"INSERT INTO credit_ledger ({_LEDGER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


@lru_cache(maxsize=16)
def _ledger_sqlite(count: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?)"] * count)
    return (f"INSERT INTO credit_ledger ({_LEDGER_COLUMNS})"
            f" SELECT column1, column2, column3, column4, column5, ?, ?, ? FROM (VALUES {values})")


def _insert_ledger(connection: Connection, kind: str, reason: str | None, now: int,
                   entries: list[_LedgerEntry], cursor: Any = None) -> None:
    """Ledger rows of ``kind``, in the order of ``entries`` (on ``cursor``, a driver cursor of
    ``connection``, if given)."""
    if not entries:
        return
    if cursor is None:
        with closing(connection.connection.dbapi_connection.cursor()) as cursor:  # type: ignore[union-attr]
            _insert_ledger(connection, kind, reason, now, entries, cursor)
        return
    if connection.dialect.name == "postgresql":
        cursor.execute(_LEDGER_PG, [kind, reason, now, *map(list, zip(*entries))])
    elif len(entries) == 1:
        cursor.execute(_LEDGER_ONE_SQLITE, [*entries[0], kind, reason, now])
    else:
        for start in range(0, len(entries), _LEDGER_ROWS_PER_STATEMENT):
            part = entries[start:start + _LEDGER_ROWS_PER_STATEMENT]
            cursor.execute(_ledger_sqlite(len(part)), [kind, reason, now, *chain.from_iterable(part)])


def _insert_grouped(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    bulk.execute(connection, _prepare_grouped(table, rows, connection.dialect.name))


def _prepare_grouped(table: Any, rows: list[dict[str, Any]], dialect: str) -> list[bulk.Chunk]:
    """Multi-row inserts, one per set of columns (a PIN message's row has one more)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(row), []).append(row)
    return [chunk for group in by_columns.values() for chunk in bulk.prepare(table, group, dialect)]


def _alert_if_crossed(connection: Connection, workspace_id: int, account: Any, before: int, after: int,
                      now: int) -> None:
    """One "balance" callback per crossing: this debit took the balance from at or above the
    threshold to below it (the next debits find it below already; a top-up above re-arms it)."""
    threshold = account.low_balance
    if threshold is None or not (before >= threshold > after):
        return
    url = connection.execute(_CALLBACK_URL, {"w": workspace_id}).scalar()
    if not url:
        return
    payload = {"event": "balance", "instance_id": workspace_id, "currency": account.currency,
               "balance": format_amount(after), "threshold": format_amount(threshold), "updated_at_ms": now}
    connection.execute(outbox.insert(), [{
        "workspace_id": workspace_id, "kind": "balance", "target": url,
        "payload": json.dumps(payload), "state": "pending", "attempts": 0, "next_attempt_at_ms": now,
        "created_at_ms": now,
    }])


# -- refunds -------------------------------------------------------------------------------------

_REFUNDABLE = ", ".join(f"'{status}'" for status in sorted(REFUNDABLE_STATUSES))
# The policy of domain/pricing.py (refund_due) in SQL: final without a carrier's id, priced, not yet.
_TAKE_REFUNDS = text(
    f"""
    UPDATE messages SET refunded_at_ms = :now
     WHERE id IN :ids AND price IS NOT NULL AND price > 0 AND refunded_at_ms IS NULL
       AND carrier_message_id IS NULL AND status IN ({_REFUNDABLE})
    RETURNING id, workspace_id, price
    """
).bindparams(bindparam("ids", expanding=True))
_IDS_PER_STATEMENT = 10_000


def refund_unsent(connection: Connection, ids: Sequence[int], now_ms: int) -> int:
    """Refund those of ``ids`` the policy refunds (in the transaction that made them final); how many.

    Cheap for unpriced messages: one look-up by primary key that changes nothing."""
    taken: list[Any] = []
    ids = list(ids)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        taken += connection.execute(_TAKE_REFUNDS, {"now": now_ms, "ids": ids[start:start + _IDS_PER_STATEMENT]}).all()
    by_workspace: dict[int, list[Any]] = {}
    for row in taken:
        by_workspace.setdefault(row.workspace_id, []).append(row)
    ledger: list[_LedgerEntry] = []
    for workspace_id in sorted(by_workspace):
        rows = sorted(by_workspace[workspace_id], key=lambda r: r.id)
        total = sum(r.price for r in rows)
        after = connection.execute(_ADD_TO_BALANCE, {"w": workspace_id, "amount": total, "now": now_ms}).scalar()
        if after is None:
            continue  # the account is gone: nothing to give back to
        balance = after - total
        for row in rows:
            balance += row.price
            ledger.append((workspace_id, row.id, row.price, balance, 1))
    _insert_ledger(connection, "refund", "never reached a carrier", now_ms, ledger)
    return len(taken)


# -- administration ------------------------------------------------------------------------------


def _workspace_exists(connection: Connection, workspace_id: int) -> None:
    if connection.execute(select(workspaces.c.id).where(workspaces.c.id == workspace_id)).first() is None:
        raise InvalidParameter("workspace", f"no workspace {workspace_id}")


def ensure_account(connection: Connection, workspace_id: int, currency: str | None, now_ms: int) -> dict[str, Any]:
    """The workspace's account, opened (balance 0) on first use in ``currency`` (USD when None).
    A currency other than the account's is refused: amounts already held would change meaning."""
    _workspace_exists(connection, workspace_id)
    row = connection.execute(select(credit_accounts).where(credit_accounts.c.workspace_id == workspace_id)).first()
    if row is None:
        values = {"workspace_id": workspace_id, "currency": currency or DEFAULT_CURRENCY, "balance": 0,
                  "low_balance": None, "updated_at_ms": now_ms}
        connection.execute(credit_accounts.insert(), [values])
        return values
    if currency is not None and currency != row.currency:
        raise InvalidParameter("currency", f"the workspace's account is in {row.currency}")
    return dict(row._mapping)


def top_up(connection: Connection, workspace_id: int, amount: int, reason: str | None, now_ms: int,
           currency: str | None = None) -> dict[str, Any]:
    ensure_account(connection, workspace_id, currency, now_ms)
    after = connection.execute(_ADD_TO_BALANCE, {"w": workspace_id, "amount": amount, "now": now_ms}).scalar_one()
    connection.execute(credit_ledger.insert(), [{
        "workspace_id": workspace_id, "message_id": None, "kind": "top-up", "amount": amount,
        "balance_after": after, "reason": reason, "created_at_ms": now_ms, "messages": None,
    }])
    return account_view(connection, workspace_id)


def set_threshold(connection: Connection, workspace_id: int, threshold: int | None, now_ms: int) -> dict[str, Any]:
    ensure_account(connection, workspace_id, None, now_ms)
    connection.execute(credit_accounts.update().where(credit_accounts.c.workspace_id == workspace_id)
                       .values(low_balance=threshold, updated_at_ms=now_ms))
    return account_view(connection, workspace_id)


def account_view(connection: Connection, workspace_id: int) -> dict[str, Any]:
    """The balance as the CLI and the admin API show it (decimal strings in the currency)."""
    _workspace_exists(connection, workspace_id)
    row = connection.execute(select(credit_accounts).where(credit_accounts.c.workspace_id == workspace_id)).first()
    priced = connection.execute(select(prices.c.id).where(prices.c.workspace_id == workspace_id).limit(1)).first()
    if row is None:
        return {"workspace": workspace_id, "currency": None, "balance": None, "low_balance": None,
                "priced": priced is not None}
    return {"workspace": workspace_id, "currency": row.currency, "balance": format_amount(row.balance),
            "low_balance": None if row.low_balance is None else format_amount(row.low_balance),
            "priced": priced is not None}


def ledger_rows(connection: Connection, workspace_id: int, limit: int = 100) -> list[dict[str, Any]]:
    _workspace_exists(connection, workspace_id)
    query = (select(credit_ledger).where(credit_ledger.c.workspace_id == workspace_id)
             .order_by(credit_ledger.c.id.desc()).limit(limit))
    return [{"id": r.id, "kind": r.kind, "amount": format_amount(r.amount),
             "balance_after": format_amount(r.balance_after),
             "message_id": None if r.message_id is None else str(r.message_id),
             "messages": _messages_of(r), "reason": r.reason, "created_at_ms": r.created_at_ms}
            for r in connection.execute(query)]


def _messages_of(row: Any) -> int:
    """How many messages a ledger row pays for or refunds (rows from before migration 0021 have no
    count: one when they name a message)."""
    if row.messages is not None:
        return row.messages
    return 0 if row.message_id is None else 1


def set_price(connection: Connection, workspace_id: int, carrier: str, prefix: str, per_segment: int,
              now_ms: int, currency: str | None = None) -> list[dict[str, Any]]:
    """Add or replace one price row; opens the account (balance 0) if the workspace has none."""
    ensure_account(connection, workspace_id, currency, now_ms)
    if carrier != ANY_CARRIER and connection.execute(
            select(carriers.c.id).where(carriers.c.name == carrier)).first() is None:
        raise InvalidParameter("carrier", f"no carrier named {carrier!r} (or * for any)")
    connection.execute(delete(prices).where(prices.c.workspace_id == workspace_id, prices.c.carrier == carrier,
                                            prices.c.prefix == prefix))
    connection.execute(prices.insert(), [{"workspace_id": workspace_id, "carrier": carrier, "prefix": prefix,
                                          "per_segment": per_segment, "created_at_ms": now_ms}])
    return price_rows(connection, workspace_id)


def clear_prices(connection: Connection, workspace_id: int, carrier: str | None = None,
                 prefix: str | None = None) -> int:
    """Remove the workspace's price rows (those of ``carrier`` / ``prefix`` when given); how many.
    With none left, its sends are free again."""
    _workspace_exists(connection, workspace_id)
    statement = delete(prices).where(prices.c.workspace_id == workspace_id)
    if carrier is not None:
        statement = statement.where(prices.c.carrier == carrier)
    if prefix is not None:
        statement = statement.where(prices.c.prefix == prefix)
    return connection.execute(statement).rowcount


def price_rows(connection: Connection, workspace_id: int) -> list[dict[str, Any]]:
    _workspace_exists(connection, workspace_id)
    query = (select(prices.c.carrier, prices.c.prefix, prices.c.per_segment, credit_accounts.c.currency)
             .select_from(prices.outerjoin(credit_accounts, credit_accounts.c.workspace_id == prices.c.workspace_id))
             .where(prices.c.workspace_id == workspace_id).order_by(prices.c.prefix, prices.c.carrier))
    return [{"carrier": r.carrier, "prefix": r.prefix, "per_segment": format_amount(r.per_segment),
             "currency": r.currency} for r in connection.execute(query)]


def load_price_lists(connection: Connection) -> dict[int, PriceList]:
    """Every workspace's price list, for the catalog (services/catalog.py)."""
    currencies = dict(connection.execute(select(credit_accounts.c.workspace_id, credit_accounts.c.currency)).all())
    grouped: dict[int, dict[tuple[str, str], int]] = {}
    for row in connection.execute(select(prices.c.workspace_id, prices.c.carrier, prices.c.prefix,
                                         prices.c.per_segment)):
        grouped.setdefault(row.workspace_id, {})[(row.carrier, row.prefix)] = row.per_segment
    return {ws: PriceList.of(currencies.get(ws, DEFAULT_CURRENCY), rows) for ws, rows in grouped.items()}


def balance_of(connection: Connection, workspace_id: int) -> int:
    """The balance in micro-units (0 without an account): a dry run's look."""
    value = connection.execute(select(credit_accounts.c.balance)
                               .where(credit_accounts.c.workspace_id == workspace_id)).scalar()
    return value or 0

