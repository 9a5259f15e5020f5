"""mecm: Mobile Engagement Campaign Manager."""

__version__ = "0.1.0"
