"""Rows as CSV for a spreadsheet: RFC 4180 quoting (a cell with a comma, a quote or a line break is
quoted, its quotes doubled), UTF-8, and no formula injection.

A spreadsheet runs a cell that starts with = + - or @ as a formula (``=HYPERLINK(...)`` in an MO's
text, sent by anyone); such a cell is written with a leading apostrophe, which spreadsheets show as
text. Tab and carriage return are guarded too, as some spreadsheets strip them and read what follows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """One value as a CSV cell's text: None as empty, booleans as true/false, guarded against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """The rows' ``columns`` as CSV lines (CRLF-terminated, as RFC 4180 has it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(row.get(column)) for column in columns])
    return out.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(columns)
    return out.getvalue()
