from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.search import MOSearch, parse_search
from mecm.errors import InvalidParameter


def test_spec_example() -> None:
    s = parse_search("from=13056708084&order=desc&to=19893143924&keyword=%5EOGANGI.*&carrier=movistar")
    assert s == MOSearch(
        from_numbers=("13056708084",),
        to_codes=("19893143924",),
        carriers=("movistar",),
        keywords=("^OGANGI.*",),
        order="desc",
    )


@pytest.mark.parametrize("segment", ["", "null", "NULL"])
def test_no_filter(segment: str) -> None:
    assert parse_search(segment) == MOSearch()


def test_encoded_comma_stays_in_the_pattern() -> None:
    assert parse_search("keyword=a%7B1%2C3%7D").keywords == ("a{1,3}",)
    # "+" is not a space here (path, not form encoding)
    assert parse_search("keyword=a+b").keywords == ("a+b",)


def test_or_values_and_repeated_names_accumulate() -> None:
    s = parse_search("from=1111,2222&FROM=3333&from=1111&Carrier=Movistar,DIGITEL&to=55")
    assert s.from_numbers == ("1111", "2222", "3333")
    assert s.carriers == ("movistar", "digitel")
    assert s.to_codes == ("55",)


def test_order_and_bounds() -> None:
    s = parse_search("order=ASC&since=1379428439176&until=1379428439999")
    assert (s.order, s.since_ms, s.until_ms) == ("asc", 1379428439176, 1379428439999)


def test_empty_pairs_are_ignored() -> None:
    assert parse_search("from=1&&to=2&") == MOSearch(from_numbers=("1",), to_codes=("2",))


def test_percent_decoded_values() -> None:
    assert parse_search("carrier=Mo%20vistar&from=%2B58").carriers == ("mo vistar",)
    assert parse_search("from=%2B58").from_numbers == ("+58",)


def err(segment: str) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as e:
        parse_search(segment)
    return e.value


@pytest.mark.parametrize(
    ("segment", "name", "reason"),
    [
        ("colour=red", "parameters", "unknown search name 'colour'"),
        ("from=1&Bogus=2", "parameters", "unknown search name 'Bogus'"),
        ("from", "parameters", "expected name=value"),
        ("from=1&to", "parameters", "expected name=value"),
        ("order=up", "order", "must be asc or desc"),
        ("since=yesterday", "since", "must be epoch milliseconds"),
        ("since=-5", "since", "must be epoch milliseconds"),
        ("until=1.5", "until", "must be epoch milliseconds"),
        ("until=", "until", "empty value"),
        ("keyword=a(", "keyword", "regular expression does not compile"),
        ("keyword=ok,(%3F%3Da)", "keyword", "regular expression does not compile"),
        ("from=", "from", "empty value"),
        ("from=1,,2", "from", "empty value"),
        ("carrier=a,", "carrier", "empty value"),
        ("order=asc&order=desc", "order", "only one value allowed"),
        ("since=1,2", "since", "only one value allowed"),
        ("from=%FF", "from", "not valid UTF-8"),
    ],
)
def test_errors(segment: str, name: str, reason: str) -> None:
    e = err(segment)
    assert (e.name, e.reason) == (name, reason)


def test_percent_encoded_digits_are_fine_for_bounds() -> None:
    assert parse_search("until=%31%32").until_ms == 12


@given(st.text(max_size=60))
def test_never_raises_anything_else(segment: str) -> None:
    try:
        result = parse_search(segment)
    except InvalidParameter:
        return
    assert result.order in ("asc", "desc")


@pytest.mark.parametrize(("segment", "name", "reason"), [
    ("keyword=" + ",".join(f"k{i}" for i in range(11)), "keyword", "at most 10 keywords in one search"),
    ("keyword=" + "a" * 201, "keyword", "a pattern may be at most 200 characters"),
    ("from=" + ",".join(str(13056700000 + i) for i in range(101)), "from", "at most 100 values in one search"),
    ("carrier=" + "&carrier=".join(f"c{i}" for i in range(101)), "carrier", "at most 100 values in one search"),
])
def test_a_search_too_costly_to_run_is_refused(segment: str, name: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_search(segment)
    assert (e.value.name, e.value.reason) == (name, reason)


def test_a_search_at_its_bounds_is_taken() -> None:
    search = parse_search("keyword=" + ",".join(f"k{i}" for i in range(10)) + "&to=" + "a" * 5)
    assert len(search.keywords) == 10
    assert len(parse_search("keyword=" + "a" * 200).keywords[0]) == 200
