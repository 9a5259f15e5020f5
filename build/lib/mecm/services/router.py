"""Choosing a carrier for carrier=null: longest configured prefix, then the carrier phonenumbers names
for the number (when it matches a configured carrier), then the workspace's default carrier.
"""

from __future__ import annotations

from mecm.domain.phone import carrier_hint
from mecm.services.catalog import Catalog, Workspace


def route(number: str, catalog: Catalog, workspace: Workspace | None) -> str | None:
    best: str | None = None
    best_length = 0
    for carrier in catalog.carriers.values():
        for prefix in carrier.prefixes:
            if len(prefix) > best_length and number.startswith(prefix):
                best, best_length = carrier.name, len(prefix)
    if best is not None:
        return best
    hint = carrier_hint(number)
    if hint:
        lowered = hint.lower()
        for name in catalog.carriers:
            if name.lower() == lowered:
                return name
    if workspace is not None and workspace.default_carrier in catalog.carriers:
        return workspace.default_carrier
    return None
