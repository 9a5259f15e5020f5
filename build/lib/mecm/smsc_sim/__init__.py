"""An SMPP 3.4 SMSC simulator for users and tests (``mecm smsc-sim``).

    config.py    SimConfig: ports, credentials, latency, throttling, errors, receipts, id formats
    server.py    Smsc: sessions, submit_sm / query_sm, receipts and MOs as deliver_sm; run()
    session.py   one ESME connection: bind state, answers, generic_nack
    mo.py        deliver_sm PDUs for injected MOs and for receipts (pure)
    records.py   SQLite record of submits (grouped commits), PDU log (memory + JSON lines), counters
    timers.py    Deadlines: many delayed calls (receipts, latencies, timeouts) on one loop timer
    control.py   HTTP control interface: /stats, /pdus, /config, /mo, /disconnect, /reset
"""

from mecm.smsc_sim.config import SimConfig
from mecm.smsc_sim.server import Smsc, run

__all__ = ["SimConfig", "Smsc", "run"]
