"""What a client sees of an MT or an MO: plain values, rendered by the API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageView:
    id: int
    carrier: str
    sender: str
    recipient: str
    text: str
    status: str
    created_at_ms: int
    client_id: str
    segments: int
    data_coding: str
    flags: str
    detail: str | None = None  # why it has its status, when that is known (status_detail)


@dataclass(frozen=True)
class MOView:
    id: int
    text: str
    sender: str  # the subscriber
    code: str
    keyword: str
    carrier: str
    received_at_ms: int
    campaign_name: str = ""  # the campaign it matched, as named then ("" if none)
    response_message_id: int | None = None  # the MT sent in reply (a campaign's or an opt-out's answer)
    # Why a matched campaign did nothing for it ("" if it acted): FREQUENCY_CAP, the subscriber had
    # already had the campaign's cap of MOs acted on within its window (docs/campaigns.md, Safety).
    suppressed: str = ""


FREQUENCY_CAP = "FREQUENCY_CAP"


@dataclass(frozen=True)
class PinView:
    pin: str
    message_id: int
    expires_at_ms: int
