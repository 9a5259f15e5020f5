"""The registry of connectors: one explicit table from a carrier's ``connector`` name to its class."""

from __future__ import annotations

from pathlib import Path

from mecm.delivery.connectors.base import Connector, Outcome, OutcomeKind, ReceiptSink
from mecm.delivery.connectors.simulator import SimulatorConnector
from mecm.services.catalog import Carrier

__all__ = ["Connector", "Outcome", "OutcomeKind", "ReceiptSink", "build_connector"]


def build_connector(carrier: Carrier, var_dir: Path) -> Connector:
    if carrier.connector == "simulator":
        return SimulatorConnector(carrier.name, carrier.settings, var_dir)
    raise ValueError(f"carrier {carrier.name!r}: unknown connector {carrier.connector!r}")
