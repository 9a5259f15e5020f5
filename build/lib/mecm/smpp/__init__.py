"""SMPP 3.4 as pure code: PDUs (`pdu`), cutting and joining concatenated texts (`parts`) and the
delivery-receipt text (`receipt`). No sockets here: the ESME client (mecm.delivery.smpp) and the
SMSC simulator (mecm.smsc_sim) move the bytes."""
