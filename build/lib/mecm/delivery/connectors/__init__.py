"""The registry of connectors: one explicit table from a carrier's ``connector`` name to its class."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mecm.delivery.connectors.base import (
    Connector,
    MOPart,
    MOPartSink,
    MOSink,
    Outcome,
    OutcomeKind,
    ReceiptSink,
)
from mecm.delivery.connectors.simulator import SimulatorConnector
from mecm.delivery.connectors.smpp import SmppConnector
from mecm.services.catalog import Carrier

__all__ = ["Connector", "MOPart", "MOPartSink", "MOSink", "Outcome", "OutcomeKind", "ReceiptSink",
           "build_connector", "statuses"]


def build_connector(carrier: Carrier, var_dir: Path) -> Connector:
    if carrier.connector == "simulator":
        return SimulatorConnector(carrier.name, carrier.settings, var_dir)
    if carrier.connector == "smpp":
        return SmppConnector(carrier.name, carrier.settings)
    raise ValueError(f"carrier {carrier.name!r}: unknown connector {carrier.connector!r}")


def statuses(connectors: Mapping[str, Connector]) -> list[dict[str, Any]]:
    """Each connector's own report (``status()``, as SMPP's binds, window and rate), by carrier name;
    a connector without one is listed as running."""
    rows = []
    for name in sorted(connectors):
        connector = connectors[name]
        status = getattr(connector, "status", None)
        if callable(status):
            rows.append(status())
        else:
            kind = type(connector).__name__.removesuffix("Connector").lower()
            rows.append({"carrier": name, "connector": kind, "state": "running"})
    return rows
