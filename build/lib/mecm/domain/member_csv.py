"""A CSV file of list members, read and checked: a header line with a ``number`` column, other
columns becoming the fields a message can name (``{first_name}``), one member a line.

``read_members`` checks every line and gathers what is wrong with each, so that a preview can show
every bad line at once; an import takes the file only when nothing is (``MemberFile.refusal``: the
first bad line, named). A number given twice keeps its last line's fields.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from mecm.domain.phone import normalize_written_number
from mecm.errors import InvalidParameter

FIELD_NAME = re.compile(r"^[a-z_]{1,40}$")
PARAM = "csv"


@dataclass
class MemberFile:
    columns: list[str]  # the header's names, lower case, "number" first
    members: dict[str, dict[str, str]] = field(default_factory=dict)  # number -> fields, in file order
    lines: int = 0  # member lines read (not the header)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong), in line order

    def refusal(self) -> InvalidParameter | None:
        """The import's refusal: the first bad line, named; None when every line is good."""
        if not self.errors:
            return None
        line, reason = self.errors[0]
        return InvalidParameter(PARAM, f"line {line}: {reason}" if line else reason)


def read_members(content: str) -> MemberFile:
    """Every line of ``content`` checked. A header without a ``number`` column, or with a column no
    placeholder can name, is one error on line 1 and nothing more is read."""
    reader = csv.DictReader(io.StringIO(content))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    if "number" not in header:
        return MemberFile(header, errors=[(1, "the first line must be a header with a 'number' column")])
    for name in header:
        if name != "number" and not FIELD_NAME.match(name):
            return MemberFile(header, errors=[(1, f"column {name!r} is not 1 to 40 of a-z and _ (what a "
                                                  "{{placeholder}} can name)")])
    read = MemberFile(["number", *(name for name in header if name != "number")])
    for line, record in enumerate(reader, start=2):
        read.lines += 1
        if None in record:
            read.errors.append((line, "more cells than the header has columns"))
            continue
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items()}
        try:
            number = normalize_written_number(values.pop("number"), PARAM)
        except InvalidParameter as error:
            read.errors.append((line, error.reason))
            continue
        read.members[number] = values
    return read
