"""Typed results of the API methods (SPEC section 4's result trees)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """An MT as sendSMS / sendMT / getMessage report it."""

    id: int
    carrier: str
    from_: str
    to: str
    text: str
    status: str
    status_description: str
    encoding: str
    date: str
    timezone: str
    client_id: str
    segments: int
    data_coding: str
    flags: str


@dataclass(frozen=True)
class PinConfirmation:
    pin: str  # "" when the workspace keeps PINs out of answers (pin_in_response off)
    message_id: int
    expires_at: str


@dataclass(frozen=True)
class PinVerification:
    """verifyPin's answer (SPEC section 9)."""

    result: str  # approved | denied | expired | locked | none
    attempts_left: int  # wrong guesses the PIN still allows; 0 with every final result

    @property
    def approved(self) -> bool:
        return self.result == "approved"


@dataclass(frozen=True)
class MOMessage:
    id: int
    text: str
    from_: str  # the subscriber
    to: str  # the short or long code
    encoding: str
    keyword: str  # the pattern of the campaign that matched, "" if none
    carrier: str
    send_date: str
    campaign: str | None = None  # the matched campaign's name ("" if none; None from a server without it)
    response_message_id: int | None = None  # the reply MT, if one was sent
    # Why a matched campaign did nothing: "FREQUENCY_CAP" ("" if it acted; None from a server without it)
    suppressed: str | None = None


@dataclass(frozen=True)
class MOPage:
    records: int  # matches over all pages
    page: int
    results_per_page: int
    messages: list[MOMessage]
