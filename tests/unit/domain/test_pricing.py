"""Price look-up (longest prefix, carrier over *), the refund policy as a decision, and money parsing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mecm.domain.money import format_amount, parse_amount
from mecm.domain.pricing import PriceList, parse_prefix, refund_due
from mecm.errors import InvalidParameter

PRICES = PriceList.of("USD", {
    ("*", ""): 10_000,  # 0.01 anywhere
    ("*", "1"): 7_500,
    ("*", "1305"): 5_000,
    ("movistar", "1305"): 4_000,
    ("movistar", "13056"): 3_000,
    ("digitel", "58"): 20_000,
})


@pytest.mark.parametrize(("carrier", "number", "expected"), [
    ("movistar", "13056708084", 3_000),  # the longest prefix wins
    ("digitel", "13056708084", 5_000),  # no digitel row for 1305...: the * row of the same length
    ("movistar", "13051234567", 4_000),  # at equal length the carrier's row wins over *
    ("movistar", "12125550100", 7_500),
    ("movistar", "447700900123", 10_000),  # only the catch-all
    ("digitel", "584141234567", 20_000),
])
def test_the_longest_prefix_wins_and_the_carrier_beats_any(carrier: str, number: str, expected: int) -> None:
    assert PRICES.per_segment(carrier, number) == expected


@settings(max_examples=300)
@given(rows=st.dictionaries(st.tuples(st.sampled_from(["*", "movistar", "digitel"]), st.text("0123", max_size=4)),
                            st.integers(1, 10_000), max_size=12),
       carrier=st.sampled_from(["movistar", "digitel", "movilnet"]), number=st.text("0123", max_size=6))
def test_the_look_up_finds_the_row_the_rule_names(rows: dict, carrier: str, number: str) -> None:
    """The look-up reads an index of the rows made once; it must find what the rule says: of the
    rows whose prefix begins the number, the longest prefix's, the carrier's own before *."""
    matching = [(len(prefix), own == carrier, price) for (own, prefix), price in rows.items()
                if number.startswith(prefix) and own in (carrier, "*")]
    expected = max(matching)[2] if matching else None
    assert PriceList.of("USD", rows).per_segment(carrier, number) == expected


def test_the_price_is_per_segment_and_an_unpriced_number_has_none() -> None:
    assert PRICES.price("movistar", "13056708084", 3) == 9_000
    no_catch_all = PriceList.of("EUR", {("*", "58"): 1})
    assert no_catch_all.price("movistar", "13056708084", 1) is None


@pytest.mark.parametrize(("status", "acknowledged", "price", "refunded", "due"), [
    ("NOT_SENT", False, 10, False, True),  # refused at submit, or opted out before its turn
    ("BAD_CARRIER", False, 10, False, True),
    ("EXPIRED", False, 10, False, True),  # expired or out of tries before any carrier took it
    ("EXPIRED", True, 10, False, False),  # the carrier took it: it charges us
    ("UNDELIVERED", True, 10, False, False),
    ("DELIVERED_TO_DEVICE", True, 10, False, False),
    ("NOT_SENT", False, None, False, False),  # never charged
    ("NOT_SENT", False, 10, True, False),  # refunded once only
    ("PENDING", False, 10, False, False),  # not final
    ("SENDING", False, 10, False, False),
])
def test_the_refund_policy(status: str, acknowledged: bool, price: int | None, refunded: bool, due: bool) -> None:
    assert refund_due(status, acknowledged, price, refunded) is due


@pytest.mark.parametrize(("raw", "micro"), [("10", 10_000_000), ("0.0075", 7_500), ("12.5", 12_500_000),
                                            ("0.000001", 1)])
def test_amounts_are_integers_of_micro_units(raw: str, micro: int) -> None:
    assert parse_amount(raw, "amount") == micro


@pytest.mark.parametrize("raw", ["-1", "1e3", "0.0000001", "abc", "", "1,5", "0", "99999999999999"])
def test_bad_amounts_name_the_parameter(raw: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_amount(raw, "amount")
    assert refused.value.name == "amount"


def test_amounts_are_shown_with_at_least_two_decimals() -> None:
    assert [format_amount(m) for m in (12_500_000, 7_500, 0, -3_000_000)] == ["12.50", "0.0075", "0.00", "-3.00"]


def test_prefixes_are_digits() -> None:
    assert parse_prefix("+58") == "58" and parse_prefix(None) == ""
    with pytest.raises(InvalidParameter):
        parse_prefix("58a")
