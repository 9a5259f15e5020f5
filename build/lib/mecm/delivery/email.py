"""Sending a campaign's e-mail through the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from mecm.config import Settings


class EmailNotConfigured(Exception):
    """No ``smtp_host``: an e-mail action cannot be carried out here (a permanent failure)."""


async def send_email(settings: Settings, to: str, subject: str, body: str) -> None:
    """Raises EmailNotConfigured, or aiosmtplib's errors (OSError for a server that is down)."""
    if not settings.smtp_host:
        raise EmailNotConfigured("no SMTP server configured (setting smtp_host)")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        start_tls=settings.smtp_starttls,
        timeout=settings.webhook_timeout_s,
    )
