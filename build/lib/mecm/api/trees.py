"""Result trees of SPEC section 4, built from the views the services return."""

from __future__ import annotations

from mecm.api.render import Node
from mecm.domain.dates import format_date
from mecm.domain.message import MessageView, MOView, PinView
from mecm.domain.pin_verification import Verification
from mecm.domain.status import describe
from mecm.services.reports import MOPage


def message_tree(message: MessageView, timezone: str) -> list[Node]:
    return [("messages", [("message", message_fields(message, timezone))])]


def message_fields(m: MessageView, timezone: str) -> list[Node]:
    return [
        ("id", str(m.id)),
        ("carrier", m.carrier),
        ("from", m.sender),
        ("to", m.recipient),
        ("text", m.text),
        ("status", m.status),
        ("statusDescription", describe(m.status, m.detail)),
        ("encoding", "UTF-8"),
        ("date", format_date(m.created_at_ms, timezone)),
        ("timezone", timezone),
        ("clientId", m.client_id),
        ("segments", str(m.segments)),
        ("dataCoding", m.data_coding),
        ("flags", m.flags),
    ]


def pin_tree(pin: PinView, timezone: str, *, show_pin: bool = True) -> list[Node]:
    """``show_pin`` False (the workspace's pin_in_response): an empty <pin/>, so the tree keeps the
    shape clients parse."""
    return [
        ("PinSMSConfirmation", [
            ("pin", pin.pin if show_pin else ""),
            ("messageId", str(pin.message_id)),
            ("expiresAt", format_date(pin.expires_at_ms, timezone)),
        ])
    ]


def pin_verification_tree(verification: Verification) -> list[Node]:
    return [
        ("PinVerification", [
            ("result", verification.result.value),
            ("attemptsLeft", str(verification.attempts_left)),
        ])
    ]


def mo_fields(mo: MOView, timezone: str) -> list[Node]:
    return [
        ("id", str(mo.id)),
        ("text", mo.text),
        ("from", mo.sender),
        ("to", mo.code),
        ("encoding", "UTF-8"),
        ("keyword", mo.keyword),
        ("carrier", mo.carrier),
        ("sendDate", format_date(mo.received_at_ms, timezone)),
        # As stored with the MO, in fireMessage's answer and getMOMessages alike (SPEC section 4):
        # the campaign it matched, the MT sent in reply, and why a matched campaign did nothing.
        ("campaign", mo.campaign_name),
        ("responseMessageId", "" if mo.response_message_id is None else str(mo.response_message_id)),
        ("suppressed", mo.suppressed),
    ]


def fired_tree(mo: MOView, timezone: str) -> list[Node]:
    return [("MOMessage", mo_fields(mo, timezone))]


def mo_page_tree(page: MOPage, timezone: str) -> list[Node]:
    children: list[Node] = [
        ("records", str(page.records)),
        ("page", str(page.page)),
        ("resultsPerPage", str(page.results_per_page)),
    ]
    children.extend(("MOMessage", mo_fields(mo, timezone)) for mo in page.messages)
    return [("MOMessageList", children)]
