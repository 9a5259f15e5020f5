"""Idempotency keys' grammar, where a request carries one, and the request fingerprint."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.idempotency import fingerprint, key_in_flags, parse_key, request_key
from mecm.errors import InvalidParameter

KEY_ALPHABET = "ABCXYZabcxyz0189_-"


@pytest.mark.parametrize("key", ["a", "Z", "0", "_", "-", "order-2024_05-17", "x" * 64, "A-z_9" * 12 + "abcd"])
def test_keys_of_the_grammar_are_accepted(key: str) -> None:
    assert parse_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 65, "a b", " a", "a\n", "a.b", "a/b", "a+b", "a=b", "clé", "٣", "a,b"])
def test_other_keys_are_refused_naming_the_parameter(key: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_key(key)
    assert raised.value.name == "Idempotency-Key"
    assert raised.value.reason == "must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -"


@given(st.text(alphabet=KEY_ALPHABET, min_size=1, max_size=64))
def test_every_key_of_the_alphabet_up_to_64_is_a_key(key: str) -> None:
    assert parse_key(key) == key


def test_the_flags_token_carries_a_key() -> None:
    assert key_in_flags("priority=high,idem=Order-7") == "Order-7"
    assert key_in_flags(" idem = K1 ") == "K1"
    assert key_in_flags("idem=first,flash,idem=last") == "last"  # a repeated token: the last wins
    assert key_in_flags("priority=high,idempotent,xidem=K") is None  # other tokens, not idem=
    assert key_in_flags("") is None
    with pytest.raises(InvalidParameter) as raised:
        key_in_flags("idem=no.dots")
    assert raised.value.name == "Idempotency-Key"


def test_the_header_and_the_flags_token_must_agree() -> None:
    assert request_key(None, None) is None
    assert request_key(None, "flash") is None
    assert request_key("K", None) == "K"
    assert request_key("K", "idem=K,flash") == "K"
    assert request_key(None, "idem=F") == "F"
    with pytest.raises(InvalidParameter, match="Idempotency-Key: the header and the flags token idem= differ"):
        request_key("K", "idem=F")
    with pytest.raises(InvalidParameter, match="Idempotency-Key: must be"):
        request_key("bad key", None)


def test_the_fingerprint_is_the_same_for_the_same_request_only() -> None:
    base = fingerprint("GET", "sendSMS", ["1", "sim", "123", "MTMw", "aGk="], b"")
    assert base == fingerprint("GET", "sendSMS", ["1", "sim", "123", "MTMw", "aGk="], b"")
    assert len(base) == 64 and int(base, 16) >= 0
    others = {
        fingerprint("GET", "sendSMS", ["1", "sim", "123", "MTMw", "aGl="], b""),  # another text
        fingerprint("GET", "sendMT", ["1", "sim", "123", "MTMw", "aGk="], b""),  # another method
        fingerprint("POST", "sendSMS", ["1", "sim", "123", "MTMw", "aGk="], b""),
        fingerprint("GET", "sendSMS", ["1", "sim", "123", "MTMw", "aGk="], b"{}"),  # a body
        fingerprint("GET", "sendSMS", ["2", "sim", "123", "MTMw", "aGk="], b""),
    }
    assert base not in others and len(others) == 5


def test_the_fingerprint_keeps_the_parameters_apart() -> None:
    """No way to join parameters that makes two requests one: "a/b" is not "a", "b"."""
    assert fingerprint("GET", "m", ["a/b"], b"") != fingerprint("GET", "m", ["a", "b"], b"")
    assert fingerprint("GET", "m", ["a", ""], b"") != fingerprint("GET", "m", ["a"], b"")
    assert fingerprint("POST", "m", ["1"], b'"]') != fingerprint("POST", "m", ["1\"]"], b"")
