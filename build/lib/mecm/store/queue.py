"""The delivery queue's statements, in one place (procrastinate's habit: SQL you can read).

A message row is its own queue entry. Its life:

    PENDING ──claim──> SENDING ──accepted──> SENT_TO_CARRIER ──receipt──> DELIVERED_TO_DEVICE / UNDELIVERED
       ^                  │                        └──no receipt by expires_at──> EXPIRED
       └──retry later─────┤
                          └──permanent failure──> NOT_SENT / UNREACHABLE / BAD_TO / ...

Every status change is guarded by the statuses it may come from, so a late or repeated receipt can
never move a final status (SPEC section 5). Each function runs inside the caller's transaction.

A PIN message's sealed text (services/sending.py) comes with every claimed row, and is erased by
every statement that moves a message past the need to submit it: accepted by the carrier, final,
expired, refused.

A priced message that becomes final here without a carrier having taken it is refunded in the same
transaction (store/credit.py, policy in domain/pricing.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, text

from mecm.domain.broadcast_state import HELD_MS
from mecm.domain.status import OPTED_OUT
from mecm.store.bulk import Values, executemany
from mecm.store.credit import refund_unsent
from mecm.store.leases import receipts_key

@dataclass(frozen=True)
class Claimed:
    id: int
    carrier: str
    sender: str
    recipient: str
    text: str = field(repr=False)  # a PIN message's: masked until the dispatcher opens sealed_text
    flags: str
    data_coding: str
    segments: int
    attempts: int
    expires_at_ms: int
    carrier_message_id: str | None  # set when a submit was answered before (a resend, or in doubt)
    # A PIN message's real text, sealed under the master key (services/sending.py); None otherwise.
    sealed_text: str | None = field(default=None, repr=False)
    # A broadcast's message (claimed messages only): the dispatcher withholds it while it is paused.
    broadcast_id: int | None = None


# PostgreSQL: workers claim side by side. Each takes the due rows no other claim has locked (SKIP
# LOCKED), for the carriers it holds binds for, and marks them with its node id. Opted-out
# subscribers' messages among them become NOT_SENT in the same statement.
#
# The due rows are read from the queue index in the claim's order, up to the limit: claim_pending
# turns bitmap scans off for this statement, and the carrier test (carrier || '') is kept away from
# the carrier-id index. Left to statistics that lag behind a burst (autovacuum analyzes after a
# minute), the planner sorted every PENDING message at each claim, and intersected them with every
# message ever sent to the carrier: 24 ms per 500 claimed at 400,000 messages, growing with history;
# 7 ms now, most of it the update.
_CLAIM_PG = text(
    f"""
    WITH picked AS (
        SELECT m.id,
               m.kind <> 'confirm' AND EXISTS (SELECT 1 FROM opt_outs o
                                                WHERE o.workspace_id = m.workspace_id
                                                  AND o.subscriber = m.recipient) AS opted_out
          FROM messages m
         WHERE m.status = 'PENDING' AND m.next_attempt_at_ms <= :now
           AND (CAST(:any_carrier AS boolean) OR m.carrier || '' = ANY(:carriers))
         ORDER BY m.priority, m.next_attempt_at_ms, m.id
         LIMIT :limit
           FOR UPDATE OF m SKIP LOCKED
    ), refused AS (
        UPDATE messages SET status = 'NOT_SENT', status_detail = '{OPTED_OUT}', updated_at_ms = :now,
                            sealed_text = NULL
          FROM picked WHERE messages.id = picked.id AND picked.opted_out
        RETURNING messages.id
    ), claimed AS (
        UPDATE messages SET status = 'SENDING', updated_at_ms = :now, attempts = messages.attempts + 1,
                            claimed_by = :node
          FROM picked
         WHERE messages.id = picked.id AND NOT picked.opted_out
        RETURNING messages.id, carrier, sender, recipient, text, flags, data_coding, segments, attempts,
                  expires_at_ms, carrier_message_id, sealed_text, broadcast_id
    )
    SELECT claimed.*, FALSE AS refused FROM claimed
    UNION ALL
    SELECT id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, TRUE FROM refused
    """
)


_NO_BITMAP_SCANS = text("SET LOCAL enable_bitmapscan = off")
_BITMAP_SCANS_AGAIN = text("RESET enable_bitmapscan")


# SQLite: the due rows come back as ONE JSON array (one driver step), then are marked SENDING in one
# statement. Row by row, the driver would release and re-take the GIL for every claimed row, each
# time waiting on the busy event loop (see store/bulk.py). One transaction, one writer: atomic.
#
# Each row says too whether its subscriber opted out of its workspace (the answers to STOP, START and
# HELP excepted): those become NOT_SENT in the same transaction and never reach a carrier.
_PICK_DUE_JSON = text(
    """
    SELECT json_group_array(json_array(id, carrier, sender, recipient, text, flags, data_coding, segments,
                                       attempts + 1, expires_at_ms, carrier_message_id, sealed_text,
                                       broadcast_id, opted_out))
      FROM (SELECT m.*,
                   m.kind <> 'confirm' AND EXISTS (SELECT 1 FROM opt_outs o
                                                    WHERE o.workspace_id = m.workspace_id
                                                      AND o.subscriber = m.recipient) AS opted_out
              FROM messages m
             WHERE m.status = 'PENDING' AND m.next_attempt_at_ms <= :now
             ORDER BY m.priority, m.next_attempt_at_ms, m.id
             LIMIT :limit)
    """
)
_REFUSE_OPTED_OUT = text(
    f"""
    UPDATE messages SET status = 'NOT_SENT', status_detail = '{OPTED_OUT}', updated_at_ms = :now, sealed_text = NULL
     WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'PENDING'
    """
)
_MARK_SENDING = text(
    """
    UPDATE messages SET status = 'SENDING', updated_at_ms = :now, attempts = attempts + 1, claimed_by = :node
     WHERE id IN (SELECT value FROM json_each(:ids))
    """
)


# Reads that tell an idle worker whether a write would change anything: it asks these first, so an
# idle worker takes no write lock and commits nothing (on SQLite the write lock is the API's too).
_ANY_DUE = text("SELECT 1 FROM messages WHERE status = 'PENDING' AND next_attempt_at_ms <= :now LIMIT 1")
_ANY_DUE_OF_CARRIERS = text(
    "SELECT 1 FROM messages WHERE status = 'PENDING' AND next_attempt_at_ms <= :now"
    " AND carrier IN :carriers LIMIT 1"
).bindparams(bindparam("carriers", expanding=True))


def any_due(connection: Connection, now_ms: int, carriers: Sequence[str] | None = None) -> bool:
    """Whether claim_pending would find a message (to one of ``carriers``, when given)."""
    if carriers is None:
        return connection.execute(_ANY_DUE, {"now": now_ms}).first() is not None
    if not carriers:
        return False
    return connection.execute(_ANY_DUE_OF_CARRIERS, {"now": now_ms, "carriers": list(carriers)}).first() is not None


def claim_pending(connection: Connection, now_ms: int, limit: int, node: int = 0,
                  carriers: Sequence[str] | None = None) -> list[Claimed]:
    """Move up to ``limit`` due PENDING messages to SENDING and return them.

    SENDING is committed before any submit, so after a crash every message that may have reached
    the carrier is SENDING or later, and is reconciled rather than blindly resent.

    A due message whose subscriber opted out of its workspace is made NOT_SENT instead (the guard
    behind the API's answer: services/optouts.py).

    ``node`` marks the claims as this worker's; ``carriers`` (PostgreSQL, when given): only messages
    to those (the carriers this worker holds binds for) are claimed.
    """
    if connection.dialect.name == "postgresql":
        params = {"now": now_ms, "limit": limit, "node": node, "carriers": list(carriers or ()),
                  "any_carrier": carriers is None}
        connection.execute(_NO_BITMAP_SCANS)  # for the claim only (see _CLAIM_PG)
        while True:  # again when every due message picked was refused: more may be due behind them
            rows = connection.execute(_CLAIM_PG, params).all()
            claimed = [Claimed(*row[:-1]) for row in rows if not row[-1]]
            refused = [row[0] for row in rows if row[-1]]
            if refused:
                refund_unsent(connection, refused, now_ms)
            if claimed or not rows:
                break
        # The rest of a grouped transaction plans as usual. (A failed claim needs no reset: its
        # transaction is rolled back, and the setting with it.)
        connection.execute(_BITMAP_SCANS_AGAIN)
        return sorted(claimed, key=lambda c: c.id)
    while True:  # again when every due message picked was refused: more may be due behind them
        picked = json.loads(connection.execute(_PICK_DUE_JSON, {"now": now_ms, "limit": limit}).scalar_one())
        if not picked:
            return []
        refused = [row[0] for row in picked if row[-1]]
        if refused:
            connection.execute(_REFUSE_OPTED_OUT, {"now": now_ms, "ids": json.dumps(refused)})
            refund_unsent(connection, refused, now_ms)
        claimed = [row[:-1] for row in picked if not row[-1]]
        if claimed:
            connection.execute(_MARK_SENDING, {"now": now_ms, "node": node,
                                               "ids": json.dumps([row[0] for row in claimed])})
            return sorted((Claimed(*row) for row in claimed), key=lambda c: c.id)


_SENDING = text(
    "SELECT id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms,"
    " carrier_message_id, sealed_text FROM messages WHERE status = 'SENDING' ORDER BY id"
)


_SENDING_OF_NODE = text(
    "SELECT id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms,"
    " carrier_message_id, sealed_text FROM messages"
    " WHERE status = 'SENDING' AND (claimed_by = :node OR claimed_by IS NULL)"
    " ORDER BY id"
)


def in_doubt(connection: Connection, node: int = 0) -> list[Claimed]:
    """Messages left SENDING by a stop: their submit may or may not have reached the carrier.

    On PostgreSQL, those of this worker's node id (a worker before it with that id, or none): other
    live workers' are theirs, and a dead one's are taken over (``take_over``)."""
    if connection.dialect.name == "postgresql":
        return [Claimed(*row) for row in connection.execute(_SENDING_OF_NODE, {"node": node}).all()]
    return [Claimed(*row) for row in connection.execute(_SENDING).all()]


_CLAIMING_NODES = text(
    "SELECT DISTINCT claimed_by FROM messages WHERE status = 'SENDING' AND claimed_by <> :node"
)
_TAKE_OVER = text(
    """
    UPDATE messages SET claimed_by = :node
     WHERE status = 'SENDING' AND claimed_by = :dead AND carrier = ANY(:carriers)
    RETURNING id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms,
              carrier_message_id, sealed_text
    """
)


def claiming_nodes(connection: Connection, node: int) -> list[int]:
    """The other node ids that have messages SENDING (PostgreSQL)."""
    return [row[0] for row in connection.execute(_CLAIMING_NODES, {"node": node})]


def take_over(statement_runner, dead: int, node: int, carriers: Sequence[str]) -> list[Claimed]:  # noqa: ANN001
    """Make a dead worker's SENDING messages to ``carriers`` (those this worker can ask about them)
    this worker's, to settle as in doubt. Run with the dead node's lease held (store/leases.py), so
    that no new process takes its id meanwhile."""
    params = {"node": node, "dead": dead, "carriers": list(carriers)}
    return sorted((Claimed(*row) for row in statement_runner(_TAKE_OVER, params)), key=lambda c: c.id)


_STALE_SENDING = text(
    "SELECT id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms,"
    " carrier_message_id, sealed_text FROM messages WHERE status = 'SENDING' AND updated_at_ms <= :before ORDER BY id"
    " LIMIT :limit"
)


_STALE_SENDING_OF_NODE = text(
    "SELECT id, carrier, sender, recipient, text, flags, data_coding, segments, attempts, expires_at_ms,"
    " carrier_message_id, sealed_text FROM messages WHERE status = 'SENDING' AND updated_at_ms <= :before"
    " AND (claimed_by = :node OR claimed_by IS NULL) ORDER BY id LIMIT :limit"
)


def stale_sending(connection: Connection, before_ms: int, limit: int = 10_000, node: int = 0) -> list[Claimed]:
    """Messages SENDING since ``before_ms`` or longer: left so by a write that failed while running
    (no stop came to settle them), unless a submit of this worker still has them in flight. On
    PostgreSQL, only this worker's."""
    params = {"before": before_ms, "limit": limit, "node": node}
    statement = _STALE_SENDING_OF_NODE if connection.dialect.name == "postgresql" else _STALE_SENDING
    return [Claimed(*row) for row in connection.execute(statement, params)]


# status || '': see store/bulk.py (each row found by its key, whatever the statistics say).
_MARK_SENT = Values(
    """
    UPDATE messages SET status = 'SENT_TO_CARRIER', carrier_message_id = v.ref, updated_at_ms = v.now,
                        sealed_text = NULL
      FROM {rows} AS v
     WHERE messages.id = v.id AND messages.status || '' IN ('PENDING', 'SENDING')
    """,
    ("id", "ref", "now"),
    ("bigint", "text", "bigint"),
)
_ADD_PART = Values(
    """
    INSERT INTO message_parts (carrier, carrier_message_id, message_id, part_index) {values}
    ON CONFLICT (carrier, carrier_message_id) DO NOTHING
    """,
    ("carrier", "ref", "id", "index"),
)
_TAKE_BUFFERED = text(
    "SELECT carrier_message_id, status, detail FROM pending_receipts"
    " WHERE carrier = :carrier AND carrier_message_id = :ref"
)
_DROP_BUFFERED = text("DELETE FROM pending_receipts WHERE carrier = :carrier AND carrier_message_id = :ref")
_ANY_BUFFERED = text("SELECT 1 FROM pending_receipts LIMIT 1")


_RECEIPTS_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _meet_receipts_in_turn(connection: Connection) -> None:
    """PostgreSQL: a transaction that records carrier ids and one that buffers receipts for unknown
    ids take turns from here to their ends (a lock held to the end of the transaction). Side by
    side, neither would see the other's uncommitted rows: a receipt that came a moment before its
    submit's response would be buffered unseen by the transaction that records the response, and
    wait for apply_buffered's sweep. SQLite has one writer at a time."""
    if connection.dialect.name == "postgresql":
        connection.execute(_RECEIPTS_LOCK, {"key": receipts_key()})


def mark_sent(
    connection: Connection, carrier: str, accepted: Sequence[tuple[int, str, Sequence[str]]], now_ms: int
) -> None:
    """Record the carrier's message id, and each part's id for a message sent in several parts:
    (message id, first carrier message id, every part's carrier message id or empty).

    Then apply any receipt that arrived before this response.
    """
    if not accepted:
        return
    executemany(connection, _MARK_SENT, [{"id": i, "ref": ref, "now": now_ms} for i, ref, _ in accepted])
    parts = [
        {"carrier": carrier, "ref": part_ref, "id": i, "index": index}
        for i, _, part_refs in accepted if len(part_refs) > 1
        for index, part_ref in enumerate(part_refs)
    ]
    executemany(connection, _ADD_PART, parts)
    # Only now, with the ids written: a receipt transaction that buffered one of them either
    # committed before this lock was granted (the look below sees its row), or waits for this
    # transaction's end (and then finds the id). Taken earlier, every receipt waited for the whole
    # recording.
    _meet_receipts_in_turn(connection)
    if connection.execute(_ANY_BUFFERED).first() is None:
        return  # the usual case: no receipt ever beat its response
    early: list[tuple[str, str, str | None]] = []
    for _, ref, part_refs in accepted:
        for candidate in part_refs or (ref,):
            buffered = connection.execute(_TAKE_BUFFERED, {"carrier": carrier, "ref": candidate}).first()
            if buffered is not None:
                early.append((candidate, buffered.status, buffered.detail))
                connection.execute(_DROP_BUFFERED, {"carrier": carrier, "ref": candidate})
    apply_receipts(connection, carrier, early, now_ms)


# A message of a broadcast paused while it was being submitted comes back held, as the pause held
# its others (domain/broadcast_state.py): it waits for the resume too.
_HELD_IF_PAUSED = (f"CASE WHEN messages.broadcast_id IS NOT NULL AND EXISTS (SELECT 1 FROM broadcasts b WHERE "
                   f"b.id = messages.broadcast_id AND b.state = 'paused') THEN {HELD_MS} ELSE 0 END")
_RETRY = Values(
    f"""
    UPDATE messages SET status = 'PENDING', next_attempt_at_ms = v.at + {_HELD_IF_PAUSED},
                        expires_at_ms = messages.expires_at_ms + {_HELD_IF_PAUSED}, status_detail = v.detail,
                        updated_at_ms = v.now, attempts = messages.attempts - v.refund
      FROM {{rows}} AS v
     WHERE messages.id = v.id AND messages.status = 'SENDING'
    """,
    ("id", "at", "detail", "now", "refund"),
)


def mark_retry(
    connection: Connection, retries: Sequence[tuple[int, int, str]], now_ms: int, *, counts_as_attempt: bool = True
) -> None:
    """Back to PENDING, due again at the given time: (id, next_attempt_at_ms, detail).

    ``counts_as_attempt=False`` (the carrier asked us to slow down) gives back the attempt the claim
    counted, so throttling never exhausts a message's tries.
    """
    refund = 0 if counts_as_attempt else 1
    rows = [{"id": i, "at": at, "detail": d, "now": now_ms, "refund": refund} for i, at, d in retries]
    executemany(connection, _RETRY, rows)


_FINAL_BY_ID = Values(
    """
    UPDATE messages SET status = v.status, status_detail = v.detail, updated_at_ms = v.now, sealed_text = NULL
      FROM {rows} AS v
     WHERE messages.id = v.id AND messages.status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')
    """,
    ("id", "status", "detail", "now"),
)


_FINAL_IF_SENDING = Values(
    """
    UPDATE messages SET status = v.status, status_detail = v.detail, updated_at_ms = v.now, sealed_text = NULL
      FROM {rows} AS v
     WHERE messages.id = v.id AND messages.status = 'SENDING'
    """,
    ("id", "status", "detail", "now"),
)


def mark_final(connection: Connection, finals: Sequence[tuple[int, str, str | None]], now_ms: int, *,
               only_sending: bool = False) -> None:
    """(id, final status, detail); a message already final keeps its status. ``only_sending``: only
    a message still SENDING changes (an in-doubt settlement must not undo what a submit recorded)."""
    if finals:
        statement = _FINAL_IF_SENDING if only_sending else _FINAL_BY_ID
        executemany(connection, statement, [{"id": i, "status": s, "detail": d, "now": now_ms} for i, s, d in finals])
        refund_unsent(connection, [i for i, _, _ in finals], now_ms)


# A part's receipt is left to _apply_part_receipts: the first part's id is its message's id too.
_FINAL_BY_REF = Values(
    """
    UPDATE messages SET status = v.status, status_detail = v.detail, updated_at_ms = v.now, sealed_text = NULL
      FROM {rows} AS v
     WHERE messages.carrier = v.carrier AND messages.carrier_message_id = v.ref
       AND messages.status || '' IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')
       AND NOT EXISTS (SELECT 1 FROM message_parts p
                        WHERE p.carrier = v.carrier AND p.carrier_message_id = v.ref)
    """,
    ("carrier", "ref", "status", "detail", "now"),
    ("text", "text", "text", "text", "bigint"),
)
_KNOWN_REF = text("SELECT 1 FROM messages WHERE carrier = :carrier AND carrier_message_id = :ref LIMIT 1")
_BUFFER = text(
    """
    INSERT INTO pending_receipts (carrier, carrier_message_id, status, detail, received_at_ms)
    VALUES (:carrier, :ref, :status, :detail, :now)
    ON CONFLICT (carrier, carrier_message_id) DO UPDATE SET status = excluded.status, detail = excluded.detail
    """
)


_ANY_PARTS = text("SELECT 1 FROM message_parts LIMIT 1")
# One look-up for a whole batch of receipts: which of their ids are parts of a multi-part message.
_PARTS_OF = text(
    "SELECT carrier_message_id, message_id FROM message_parts WHERE carrier = :carrier AND carrier_message_id IN :refs"
).bindparams(bindparam("refs", expanding=True))
_REFS_PER_LOOKUP = 10_000  # bound variables per IN list, well below SQLite's limit
_SET_PART = text(
    "UPDATE message_parts SET status = :status WHERE carrier = :carrier AND carrier_message_id = :ref"
)
_PARTS_STATE = text(
    """
    SELECT COUNT(*) AS parts,
           SUM(CASE WHEN status IS NULL THEN 1 ELSE 0 END) AS waiting,
           MIN(CASE WHEN status <> 'DELIVERED_TO_DEVICE' THEN status END) AS failed
      FROM message_parts WHERE message_id = :id
    """
)


def apply_receipts(
    connection: Connection, carrier: str, receipts: Sequence[tuple[str, str, str | None]], now_ms: int
) -> int:
    """Apply (carrier_message_id, final status, detail) receipts; buffer those for unknown ids.

    A receipt for one part of a multi-part message settles that part; the message becomes final
    when any part failed (with that part's status) or every part was delivered. Returns how many
    receipts were buffered. A receipt for a message that is already final changes nothing.
    """
    unknown = _apply_to_known(connection, carrier, receipts, now_ms)
    if not unknown:
        return 0  # the usual case: every receipt found its message
    # On PostgreSQL an unknown id may be in a transaction recording it right now (mark_sent). Take
    # turns with those, look once more, and buffer what is still unknown: mark_sent looks for
    # buffered receipts after taking the same lock, so whichever of the two comes second sees what
    # the first committed. Receipts that all find their messages never wait for the lock.
    _meet_receipts_in_turn(connection)
    unknown = _apply_to_known(connection, carrier, unknown, now_ms)
    for ref, status, detail in unknown:
        connection.execute(_BUFFER, {"carrier": carrier, "ref": ref, "status": status, "detail": detail,
                                     "now": now_ms})
    return len(unknown)


def _receipt_rows(carrier: str, receipts: Sequence[tuple[str, str, str | None]], now_ms: int) -> list[dict]:
    return [{"carrier": carrier, "ref": ref, "status": status, "detail": detail, "now": now_ms}
            for ref, status, detail in receipts]


def _apply_to_known(
    connection: Connection, carrier: str, receipts: Sequence[tuple[str, str, str | None]], now_ms: int
) -> list[tuple[str, str, str | None]]:
    """Apply the receipts whose ids are known (a part's, or a message's); return the others.

    One statement in the usual case: every receipt is a whole message's and finds it. Otherwise
    (a part's receipt, an unknown id, a message already final) each is looked at on its own; the
    update run again changes nothing a first run changed, as a final status never moves."""
    if not receipts:
        return []
    params = _receipt_rows(carrier, receipts, now_ms)
    if executemany(connection, _FINAL_BY_REF, params) == len(params):
        return []
    if connection.execute(_ANY_PARTS).first() is not None:
        receipts = _apply_part_receipts(connection, carrier, receipts, now_ms)
        params = _receipt_rows(carrier, receipts, now_ms)
    unknown, known = [], []
    for row in params:
        receipt = (row["ref"], row["status"], row["detail"])
        (unknown if connection.execute(_KNOWN_REF, row).first() is None else known).append(receipt)
    if known:
        # Known: already final (a receipt sent twice: this changes nothing), or, on PostgreSQL,
        # committed by another transaction since the looks above. Each statement sees what was
        # committed when it began, so the parts of a message recorded in between may have been
        # missed by the look for parts: a first part's id is its message's id too, and applied to
        # the message alone it would change nothing, and the receipt would be lost. Look again.
        known = _apply_part_receipts(connection, carrier, known, now_ms)
        executemany(connection, _FINAL_BY_REF, _receipt_rows(carrier, known, now_ms))
    return unknown


# A buffered receipt is known by now when its id is a message's or a part's.
_NOW_KNOWN = """
    EXISTS (SELECT 1 FROM messages m WHERE m.carrier = p.carrier AND m.carrier_message_id = p.carrier_message_id)
    OR EXISTS (SELECT 1 FROM message_parts mp
                WHERE mp.carrier = p.carrier AND mp.carrier_message_id = p.carrier_message_id)
"""
_BUFFERED_NOW_KNOWN = text(
    f"SELECT p.carrier, p.carrier_message_id, p.status, p.detail FROM pending_receipts p WHERE {_NOW_KNOWN} LIMIT 10000"
)


def apply_buffered(connection: Connection, now_ms: int) -> int:
    """Apply the buffered receipts whose carrier ids are known by now; how many.

    mark_sent applies the receipts that came before it, and on PostgreSQL the two take turns
    (``_meet_receipts_in_turn``); this sweep is the safety net behind that, for a receipt whose
    carrier id was recorded some other way.
    """
    rows = connection.execute(_BUFFERED_NOW_KNOWN).all()
    by_carrier: dict[str, list[tuple[str, str, str | None]]] = {}
    for carrier, ref, status, detail in rows:
        by_carrier.setdefault(carrier, []).append((ref, status, detail))
        connection.execute(_DROP_BUFFERED, {"carrier": carrier, "ref": ref})
    for carrier, receipts in by_carrier.items():
        apply_receipts(connection, carrier, receipts, now_ms)
    return len(rows)


def _apply_part_receipts(
    connection: Connection, carrier: str, receipts: Sequence[tuple[str, str, str | None]], now_ms: int
) -> list[tuple[str, str, str | None]]:
    """Settle the receipts that belong to parts; return the others, untouched."""
    part_of: dict[str, int] = {}
    refs = list({ref for ref, _, _ in receipts})
    for start in range(0, len(refs), _REFS_PER_LOOKUP):
        chunk = refs[start:start + _REFS_PER_LOOKUP]
        found = connection.execute(_PARTS_OF, {"carrier": carrier, "refs": chunk})
        part_of.update((ref, message_id) for ref, message_id in found)
    others: list[tuple[str, str, str | None]] = []
    touched: dict[int, str | None] = {}
    for ref, status, detail in receipts:
        message_id = part_of.get(ref)
        if message_id is None:
            others.append((ref, status, detail))
            continue
        connection.execute(_SET_PART, {"carrier": carrier, "ref": ref, "status": status})
        touched[message_id] = detail if status != "DELIVERED_TO_DEVICE" else touched.get(message_id)
    finals: list[tuple[int, str, str | None]] = []
    for message_id, detail in touched.items():
        state = connection.execute(_PARTS_STATE, {"id": message_id}).one()
        if state.failed is not None:
            finals.append((message_id, state.failed, detail or "A part was not delivered"))
        elif state.waiting == 0:
            finals.append((message_id, "DELIVERED_TO_DEVICE", None))
    mark_final(connection, finals, now_ms)
    return others


_EXPIRE = text(
    """
    UPDATE messages SET status = 'EXPIRED', status_detail = 'No receipt within validity', updated_at_ms = :now,
                        sealed_text = NULL
     WHERE status IN ('PENDING', 'SENT_TO_CARRIER') AND expires_at_ms <= :now
    RETURNING id, price
    """
)


_ANY_OVERDUE = text(
    "SELECT 1 FROM messages WHERE status IN ('PENDING', 'SENT_TO_CARRIER') AND expires_at_ms <= :now LIMIT 1"
)
_ANY_BUFFERED_NOW_KNOWN = text(f"SELECT 1 FROM pending_receipts p WHERE {_NOW_KNOWN} LIMIT 1")


def sweep_needed(connection: Connection, now_ms: int) -> tuple[bool, bool]:
    """Whether expire_overdue, and apply_buffered, would change anything now (read only)."""
    overdue = connection.execute(_ANY_OVERDUE, {"now": now_ms}).first() is not None
    buffered = connection.execute(_ANY_BUFFERED_NOW_KNOWN).first() is not None
    return overdue, buffered


def expire_overdue(connection: Connection, now_ms: int) -> int:
    """Messages past their validity without a final status become EXPIRED.

    SENDING is left alone: its outcome is being decided by a submit in flight.
    """
    expired = connection.execute(_EXPIRE, {"now": now_ms}).all()
    priced = [row.id for row in expired if row.price is not None]
    if priced:
        refund_unsent(connection, priced, now_ms)
    return len(expired)

