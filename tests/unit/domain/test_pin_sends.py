"""The SMS-pumping defence as values (domain/pin_sends.py)."""

from __future__ import annotations

import pytest

from mecm.domain.pin_sends import PinSendPolicy, block_of, country_refusal, parse_countries, window_retry_after_s
from mecm.errors import InvalidParameter


def test_a_block_is_ten_thousand_numbers() -> None:
    assert block_of("13056708084") == "1305670"
    assert block_of("584121234567") == "58412123"


def test_the_allow_list_lets_its_countries_through_and_names_the_one_it_refuses() -> None:
    policy = PinSendPolicy(5, 100, frozenset({"VE", "CO"}))
    assert country_refusal("584121234567", policy) is None
    assert country_refusal("13056708084", policy) == "PIN sends to country US not allowed in this workspace"
    assert country_refusal("13056708084", PinSendPolicy(5, 100)) is None  # no list: any country


def test_countries_are_iso_regions_of_numbering_plans() -> None:
    assert parse_countries(" ve, Co ,") == frozenset({"VE", "CO"})
    assert parse_countries("") == frozenset()
    with pytest.raises(InvalidParameter) as refused:
        parse_countries("VE,XX,Venezuela", "countries")
    assert refused.value.name == "countries"
    assert "VENEZUELA, XX" in refused.value.reason


def test_retry_after_is_when_the_oldest_send_leaves_the_window() -> None:
    assert window_retry_after_s(oldest_ms=1_000_000, window_s=3600, now_ms=1_000_000) == 3600
    assert window_retry_after_s(oldest_ms=1_000_000, window_s=3600, now_ms=1_000_000 + 3_599_001) == 1
    assert window_retry_after_s(oldest_ms=0, window_s=60, now_ms=10**9) == 1  # never below 1
