"""An SMPP carrier's settings live in mecm.domain.smpp_settings (the administration use cases, below
delivery, validate them too); this name stays for code that imported them from here."""

from mecm.domain.smpp_settings import SmppSettings

__all__ = ["SmppSettings"]
