"""The registry of connectors: one explicit table from a carrier's ``connector`` name to its class."""

from __future__ import annotations

from pathlib import Path

from mecm.delivery.connectors.base import (
    Connector,
    MOSink,
    Outcome,
    OutcomeKind,
    ReceiptSink,
)
from mecm.delivery.connectors.simulator import SimulatorConnector
from mecm.delivery.connectors.smpp import SmppConnector
from mecm.services.catalog import Carrier

__all__ = ["Connector", "MOSink", "Outcome", "OutcomeKind", "ReceiptSink", "build_connector"]


def build_connector(carrier: Carrier, var_dir: Path) -> Connector:
    if carrier.connector == "simulator":
        return SimulatorConnector(carrier.name, carrier.settings, var_dir)
    if carrier.connector == "smpp":
        return SmppConnector(carrier.name, carrier.settings)
    raise ValueError(f"carrier {carrier.name!r}: unknown connector {carrier.connector!r}")
