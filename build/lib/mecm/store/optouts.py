"""Opt-out statements: opting a subscriber out of a workspace or back in, the event tail, settings.

An opt-out changes two tables in one transaction: ``opt_outs`` (the state, read by the dispatcher's
guard) and ``opt_out_events`` (the history, tailed by API processes for their in-memory view).

API processes tail the events by ``seq``, remembering the last one read, so an event must never
become visible after one with a higher ``seq``. SQLite has one writer at a time, so it never does.
On PostgreSQL a sequence hands out numbers when asked, not at commit: two transactions could
commit out of order, and the one with the lower number would be skipped by a process that read in
between, for good. So there, the transactions that write an event take turns (a transaction-level
advisory lock, taken before the event's number and held to the commit); opt-outs are rare, and the
sends' commits never take it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, select, text, update

from mecm.domain.phone import normalize_mt_number
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter
from mecm.store.admin import require_code_of, require_workspace
from mecm.domain.optout import DEFAULT_ANSWERS, DEFAULT_POLICY, Intent, Policy, parse_keywords, policy_of
from mecm.store.tables import opt_out_events, opt_out_settings, opt_outs

log = logging.getLogger(__name__)

KEYWORD_COLUMNS = {Intent.STOP: "stop_keywords", Intent.START: "start_keywords", Intent.HELP: "help_keywords"}
TEXT_COLUMNS = {Intent.STOP: "stop_text", Intent.START: "start_text", Intent.HELP: "help_text"}


_OPT_OUT = text(
    """
    INSERT INTO opt_outs (workspace_id, subscriber, code, via, opted_out_at_ms)
    VALUES (:workspace, :subscriber, :code, :via, :now)
    ON CONFLICT (workspace_id, subscriber) DO NOTHING
    """
)


def opt_out(connection: Connection, workspace_id: int, subscriber: str, *, code: str, via: str,
            now_ms: int, mo_id: int | None = None) -> bool:
    """Opt ``subscriber`` out of the workspace; False when they already were (nothing written)."""
    _in_commit_order(connection)
    inserted = connection.execute(_OPT_OUT, {"workspace": workspace_id, "subscriber": subscriber, "code": code,
                                             "via": via, "now": now_ms}).rowcount
    if inserted:
        _event(connection, workspace_id, subscriber, True, code, via, mo_id, now_ms)
    return bool(inserted)


def opt_in(connection: Connection, workspace_id: int, subscriber: str, *, code: str, via: str,
           now_ms: int, mo_id: int | None = None) -> bool:
    """Opt ``subscriber`` back in; False when they were not opted out (nothing written)."""
    _in_commit_order(connection)
    deleted = connection.execute(
        delete(opt_outs).where(opt_outs.c.workspace_id == workspace_id, opt_outs.c.subscriber == subscriber)
    ).rowcount
    if deleted:
        _event(connection, workspace_id, subscriber, False, code, via, mo_id, now_ms)
    return bool(deleted)


# The key of the lock that orders opt-out events (PostgreSQL): a kind of its own ("mecm" plus 4)
# above store/leases.py's kinds, so it is no lease's key.
_EVENTS_LOCK_KEY = (0x6D65636D + 4) << 32
_LOCK_EVENTS = text("SELECT pg_advisory_xact_lock(:key)")


def _in_commit_order(connection: Connection) -> None:
    """Wait for the other transactions that write opt-out events to end (PostgreSQL; see above)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_EVENTS, {"key": _EVENTS_LOCK_KEY})


def _event(connection: Connection, workspace_id: int, subscriber: str, opted_out: bool, code: str, via: str,
           mo_id: int | None, now_ms: int) -> None:
    connection.execute(opt_out_events.insert().values(
        workspace_id=workspace_id, subscriber=subscriber, opted_out=opted_out, code=code, via=via,
        mo_id=mo_id, at_ms=now_ms,
    ))


def snapshot(connection: Connection) -> tuple[int, set[tuple[int, str]]]:
    """Everyone opted out now, and the last event's seq (read in one transaction: consistent)."""
    last = connection.execute(select(func.coalesce(func.max(opt_out_events.c.seq), 0))).scalar_one()
    out = {(row.workspace_id, row.subscriber)
           for row in connection.execute(select(opt_outs.c.workspace_id, opt_outs.c.subscriber))}
    return last, out


def events_after(connection: Connection, seq: int, limit: int = 10_000) -> list[tuple[int, int, str, bool]]:
    """Opt-outs and opt-ins after ``seq``, in order: (seq, workspace id, subscriber, opted out)."""
    query = (select(opt_out_events.c.seq, opt_out_events.c.workspace_id, opt_out_events.c.subscriber,
                    opt_out_events.c.opted_out)
             .where(opt_out_events.c.seq > seq).order_by(opt_out_events.c.seq).limit(limit))
    return [tuple(row) for row in connection.execute(query)]  # type: ignore[misc]


def list_opt_outs(connection: Connection, workspace_id: int, *, number: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    """A page of the workspace's opted-out subscribers, oldest first; ``number``: only those whose
    number contains these digits."""
    query = select(opt_outs).where(opt_outs.c.workspace_id == workspace_id)
    if number:
        query = query.where(opt_outs.c.subscriber.contains(number, autoescape=True))
    query = query.order_by(opt_outs.c.opted_out_at_ms, opt_outs.c.subscriber).limit(limit).offset(offset)
    return [dict(row) for row in connection.execute(query).mappings()]


def save_settings(connection: Connection, workspace_id: int, code: str, values: dict[str, str | None]) -> None:
    """Set some of a workspace's (code "") or a code's keyword lists and texts; others are kept."""
    where = (opt_out_settings.c.workspace_id == workspace_id, opt_out_settings.c.code == code)
    if connection.execute(select(opt_out_settings.c.code).where(*where)).first() is None:
        connection.execute(opt_out_settings.insert().values(workspace_id=workspace_id, code=code, **values))
    else:
        connection.execute(update(opt_out_settings).where(*where).values(**values))


def load_policies(connection: Connection, *, strict: bool = False) -> dict[tuple[int, str], Policy]:
    """Every configured Policy by (workspace id, code); code "" is the workspace's own. A code's
    setting left empty takes the workspace's, and a workspace's the default.

    Settings are checked when saved (``strict``: a conflict raises InvalidParameter); one that is
    wrong all the same is logged and the defaults used, so MOs are still stored and answered.
    """
    rows = {(row.workspace_id, row.code): row for row in connection.execute(select(opt_out_settings))}
    policies: dict[tuple[int, str], Policy] = {}
    for (workspace_id, code), row in rows.items():
        layers = [row] if code == "" else [row, rows.get((workspace_id, ""))]
        try:
            policies[(workspace_id, code)] = _policy(layers)
        except InvalidParameter as error:
            if strict:
                raise
            log.error("opt-out settings of workspace %s code %r ignored: %s", workspace_id, code, error.description)
    return policies


def _policy(layers: Iterable[Any]) -> Policy:
    def first(column: str) -> str | None:
        for layer in layers:
            if layer is not None and getattr(layer, column):
                return getattr(layer, column)
        return None

    keywords = {intent: (first(column).split(",") if first(column) else None)
                for intent, column in KEYWORD_COLUMNS.items()}
    answers = {intent: first(column) for intent, column in TEXT_COLUMNS.items()}
    return policy_of(keywords, answers)


# -- administration (``mecm admin optout ...``) -------------------------------------------------


def configure(connection: Connection, workspace_id: int, code: str, keywords: dict[Intent, str | None],
              texts: dict[Intent, str | None]) -> dict[str, Any]:
    """Set a workspace's (code "") or one of its codes' keywords and answers; what is not given is
    kept. Checked before anything is written: keyword lists, answer lengths, and that no keyword is
    in two lists once the code's and the workspace's settings are combined."""
    require_workspace(connection, workspace_id)
    if code:
        require_code_of(connection, workspace_id, code)
    values: dict[str, str | None] = {}
    for intent, raw in keywords.items():
        if raw is not None:
            param = f"{intent.value}-keywords"
            values[KEYWORD_COLUMNS[intent]] = ",".join(parse_keywords(raw, param))
    for intent, answer in texts.items():
        if answer is not None:
            if not answer.strip():
                raise InvalidParameter(f"{intent.value}-text", "empty")
            check_text(answer, f"{intent.value}-text")
            values[TEXT_COLUMNS[intent]] = answer
    if not values:
        raise InvalidParameter("keywords", "nothing to set: give a keyword list or an answer text")
    save_settings(connection, workspace_id, code, values)
    load_policies(connection, strict=True)  # raises (and the transaction is rolled back) on a conflict
    return describe_policy(connection, workspace_id, code)


def describe_policy(connection: Connection, workspace_id: int, code: str = "") -> dict[str, Any]:
    """The keywords and answers in force on a code (or the workspace's own), defaults included."""
    policies = load_policies(connection)
    policy = policies.get((workspace_id, code)) or policies.get((workspace_id, "")) or DEFAULT_POLICY
    described: dict[str, Any] = {"instance_id": workspace_id, "code": code}
    for intent in Intent:
        described[f"{intent.value}_keywords"] = sorted(word.upper() for word in policy.keywords[intent])
        answers = ({"any": policy.answers[intent]} if intent in policy.answers
                   else dict(DEFAULT_ANSWERS[intent]))
        described[f"{intent.value}_text"] = answers
    return described


def set_by_admin(connection: Connection, workspace_id: int, number: str, *, opted_out: bool) -> dict[str, Any]:
    """An admin opts a number out (as if it sent STOP) or back in (START); no answer is sent."""
    require_workspace(connection, workspace_id)
    subscriber = normalize_mt_number(number, "number")
    change = opt_out if opted_out else opt_in
    changed = change(connection, workspace_id, subscriber, code="", via="admin", now_ms=_now_ms())
    return {"instance_id": workspace_id, "number": subscriber, "opted_out": opted_out, "changed": changed}


def _now_ms() -> int:
    return int(time.time() * 1000)
