"""What the simulator remembers: the submits (SQLite, so query_sm and the duplicate count survive a
restart; grouped commits), the PDUs it saw (memory and a JSON-lines file), and its counters."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import operator
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mecm.files import create_private_file, keep_from_others, open_private_append, sqlite_files
from mecm.smpp.parts import decode_short_message, parse_udh
from mecm.smpp.pdu import ESM_CLASS_UDHI, MESSAGE_PAYLOAD, NAMES, Pdu, decode

log = logging.getLogger(__name__)

# Message ids start here so that their hex and decimal forms differ visibly ("2a000001" / "704643073").
FIRST_MESSAGE_ID = 0x2A000001

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submits (
    id INTEGER PRIMARY KEY,
    system_id TEXT NOT NULL,
    source TEXT NOT NULL,
    source_ton INTEGER NOT NULL,
    source_npi INTEGER NOT NULL,
    destination TEXT NOT NULL,
    dest_ton INTEGER NOT NULL,
    dest_npi INTEGER NOT NULL,
    data_coding INTEGER NOT NULL,
    text TEXT NOT NULL,
    dup_key INTEGER NOT NULL,
    registered_delivery INTEGER NOT NULL,
    submitted_at REAL NOT NULL,
    done_at REAL NOT NULL,
    stat TEXT NOT NULL,
    err INTEGER NOT NULL,
    receipt_sent INTEGER NOT NULL DEFAULT 0
);
-- No index on dup_key: each insert would touch a random index page, and every commit rewrite
-- them all; the duplicate count (a sort) is made only when asked for.
DROP INDEX IF EXISTS submits_dup_key;
"""


@dataclass
class Submit:
    id: int
    system_id: str
    source: str
    source_ton: int
    source_npi: int
    destination: str
    dest_ton: int
    dest_npi: int
    data_coding: int
    text: str
    dup_key: int
    registered_delivery: int
    submitted_at: float
    done_at: float  # when the final state is reached and the receipt is due
    stat: str  # the final receipt stat: DELIVRD or UNDELIV
    err: int
    receipt_sent: int = 0


def duplicate_key(pdu: Pdu) -> int:
    """Same destination, same short_message (its UDH reference included), same payload and same SAR
    TLVs: a resend of the same part. The first 64 bits of a SHA-256, as a signed SQLite integer."""
    digest = hashlib.sha256()
    digest.update(pdu.fields["destination_addr"].encode("latin-1") + b"\0")
    digest.update(pdu.fields["short_message"] + b"\0")
    for tag in sorted(pdu.tlvs):
        digest.update(tag.to_bytes(2, "big") + pdu.tlvs[tag])
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def message_text(pdu: Pdu) -> str:
    """Best-effort text of a submit_sm/deliver_sm, header stripped ("" when undecodable)."""
    data = pdu.fields.get("short_message", b"") or pdu.tlvs.get(MESSAGE_PAYLOAD, b"")
    if pdu.fields.get("esm_class", 0) & ESM_CLASS_UDHI:
        udh = parse_udh(data)
        data = udh[3] if udh else data[1 + data[0]:] if data else data
    try:
        return decode_short_message(data, pdu.fields.get("data_coding", 0))
    except ValueError:
        return ""


class SubmitStore:
    """The submits, in SQLite: a file when `path` is given (WAL), else memory.

    Writes are grouped: `add` and `mark_receipt_sent` only queue a row, and `flush` (the SMSC calls it
    once per event-loop turn) commits everything queued in one transaction, then tells each `add`'s
    caller. A submit is answered only from that call, so every id an ESME has seen is committed, while
    all the submits read in one turn share one commit. Reads flush first, so they see every row.
    """

    def __init__(self, path: str | None) -> None:
        if path:
            create_private_file(Path(path))  # 0600 (its -wal and -shm take its mode)
            keep_from_others(sqlite_files(Path(path)))
        self._db = sqlite3.connect(path or ":memory:", isolation_level=None)
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._next_id = self._first_free_id()
        columns = [f.name for f in fields(Submit)]
        self._row = operator.attrgetter(*columns)  # a Submit as a row, in column order
        self._insert = f"INSERT INTO submits ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self._rows: list[tuple[Any, ...]] = []
        self._committed: list[Callable[[bool], None]] = []
        self._receipts_sent: list[tuple[int]] = []
        self.commits = 0  # transactions, for /stats: how well submits are grouped

    def _first_free_id(self) -> int:
        (highest,) = self._db.execute("SELECT MAX(id) FROM submits").fetchone()
        return FIRST_MESSAGE_ID if highest is None else highest + 1

    def next_id(self) -> int:
        value, self._next_id = self._next_id, self._next_id + 1
        return value

    @property
    def pending(self) -> bool:
        return bool(self._rows or self._receipts_sent)

    def add(self, submit: Submit, committed: Callable[[bool], None]) -> None:
        """Queue the submit; `committed(True)` once it is committed, `committed(False)` if that failed."""
        self._rows.append(self._row(submit))
        self._committed.append(committed)

    def mark_receipt_sent(self, message_id: int) -> None:
        """Queue: the receipt of `message_id` was acknowledged (committed with the next flush; lost in
        a crash before it, the receipt is sent again after the restart)."""
        self._receipts_sent.append((message_id,))

    def flush(self) -> None:
        """Commit what is queued in one transaction, then call the `add` callers back."""
        if not self.pending:
            return
        rows, self._rows = self._rows, []
        callbacks, self._committed = self._committed, []
        sent, self._receipts_sent = self._receipts_sent, []
        ok = False
        try:
            self._db.execute("BEGIN")
            if rows:
                self._db.executemany(self._insert, rows)
            if sent:
                self._db.executemany("UPDATE submits SET receipt_sent = 1 WHERE id = ?", sent)
            self._db.execute("COMMIT")
            ok = True
            self.commits += 1
        except sqlite3.Error:
            log.exception("smsc-sim: committing %d submits failed; they are refused", len(rows))
        finally:
            if not ok and self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            for callback in callbacks:
                callback(ok)

    def get(self, message_id: int) -> Submit | None:
        self.flush()
        row = self._db.execute("SELECT * FROM submits WHERE id = ?", (message_id,)).fetchone()
        return Submit(*row) if row else None

    def receipts_due(self) -> list[Submit]:
        """Submits whose receipt was wanted but not sent (a restart came in between)."""
        self.flush()
        rows = self._db.execute("SELECT * FROM submits WHERE receipt_sent = 0 AND registered_delivery & 3 != 0")
        return [Submit(*row) for row in rows]

    def counts(self) -> tuple[int, int]:
        """(submits, duplicates): every accepted submit_sm, and those that repeated an earlier one."""
        self.flush()
        total, distinct = self._db.execute("SELECT COUNT(*), COUNT(DISTINCT dup_key) FROM submits").fetchone()
        return total, total - distinct

    def clear(self) -> None:
        self.flush()
        self._db.execute("DELETE FROM submits")

    def close(self) -> None:
        self.flush()
        self._db.close()


def pdu_json(pdu: Pdu) -> dict[str, Any]:
    """A decoded PDU as JSON values: octet strings in hex, TLV tags as "0x020c"."""
    out: dict[str, Any] = {
        "command_id": pdu.command_id,
        "name": pdu.name,
        "command_status": pdu.command_status,
        "sequence": pdu.sequence,
        "fields": {k: v.hex() if isinstance(v, bytes) else v for k, v in pdu.fields.items()},
        "tlvs": {f"0x{tag:04x}": value.hex() for tag, value in pdu.tlvs.items()},
    }
    if "short_message" in pdu.fields:
        out["text"] = message_text(pdu)
    return out


class PduLog:
    """Every PDU in and out, newest `limit` in memory; all of them appended to `path` if given.

    In memory an entry keeps the raw bytes and is decoded only when asked for (GET /pdus), so
    recording costs little while the simulator is under load.
    """

    def __init__(self, path: str | None, limit: int) -> None:
        # (n, time, direction, session, raw, pdu or None, decoded, error)
        self._entries: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=limit)
        self._count = 0
        # Open for the simulator's whole life, one line flushed per PDU; closed by close().
        self._file = open_private_append(Path(path)) if path else None

    def add(self, direction: str, session: int, raw: bytes, pdu: Pdu | None, error: str | None = None) -> None:
        # A PDU decoded from `raw`, or encoded into it, is decoded again from `raw` when asked for;
        # an error response without a body is kept as is (decoding would add default fields).
        keep = pdu if pdu is not None and pdu.is_response and pdu.command_status else None
        entry = (self._count, time.time(), direction, session, raw, keep, pdu is not None, error)
        self._count += 1
        self._entries.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(_entry_json(entry, pdu)) + "\n")

    def entries(self, direction: str = "in", since: int = 0, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for entry in self._entries:
            n, _, way, _, raw, _, decoded, _ = entry
            if n < since or direction not in ("all", way):
                continue
            if name is not None and not (decoded and _name(raw) == name):
                continue
            found.append(_entry_json(entry))
        return found

    def clear(self) -> None:
        self._entries.clear()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _name(raw: bytes) -> str:
    command_id = int.from_bytes(raw[4:8], "big")
    return NAMES.get(command_id, f"0x{command_id:08x}")


def _entry_json(entry: tuple[Any, ...], pdu: Pdu | None = None) -> dict[str, Any]:
    n, at, direction, session, raw, kept, decoded, error = entry
    out: dict[str, Any] = {"n": n, "t": at, "direction": direction, "session": session, "hex": raw.hex()}
    if decoded:
        out["pdu"] = pdu_json(pdu or kept or decode(raw))
    if error is not None:
        out["error"] = error
    return out


@dataclass
class Stats:
    """Counters since start (or POST /reset). Submits and duplicates come from the SubmitStore."""

    binds: int = 0
    bind_failures: int = 0
    unbinds: int = 0
    submit_sm: int = 0  # every submit_sm received while bound, whatever the answer
    throttled: int = 0
    errors_injected: int = 0
    receipts_sent: int = 0
    mo_sent: int = 0
    deliver_sm_acked: int = 0
    deliver_sm_refused: int = 0
    deliver_sm_redelivered: int = 0
    enquire_links: int = 0
    query_sm: int = 0
    generic_nacks: int = 0

    def __post_init__(self) -> None:
        self.per_second: dict[int, int] = {}  # epoch second -> submit_sm accepted

    def count_accepted(self, now: float) -> None:
        second = int(now)
        self.per_second[second] = self.per_second.get(second, 0) + 1
        if len(self.per_second) > 3600:
            del self.per_second[min(self.per_second)]

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "per_second"}
        out["per_second"] = {str(k): v for k, v in sorted(self.per_second.items())}
        return out
