"""The SMPP 3.4 client (ESME) behind the ``smpp`` connector.

    config.py    a carrier's settings, typed and validated (also used by ``mecm admin carrier add``)
    outcomes.py  pure decisions: response status -> Outcome, TON/NPI, validity, data_coding, ids
    rate.py      the window and the token bucket, with an injectable clock
    session.py   one bind over one TCP (or TLS) connection: sequence numbers, enquire_link, unbind
    inbound.py   deliver_sm handling: receipts and (reassembled) MOs

The codec itself (PDUs, concatenation, receipt text) is ``mecm.smpp``, shared with the simulator.
"""
