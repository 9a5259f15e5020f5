"""One part of a multi-part MO as a connector hands it on (to services/mo_parts.py, which stores and
joins the parts): a plain value, here so that the services below delivery can take it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MOPart:
    """One part of a multi-part MO (UDH or SAR), decoded; ``wait_s``: how long to wait for the others
    before handing on the parts that came as one MO."""

    carrier: str
    source: str
    destination: str
    reference: int
    total: int
    seq: int
    text: str
    wait_s: float
