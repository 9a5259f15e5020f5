from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.signature import sign, signed_string, verify

KEY = "FBF3-4310-909C-C4BBC26F886F"
SIMPLE = "8/peter/peterpassword"
SIMPLE_SIG = "954221dc7ba612b2633c0ff1e0f5c4058f2bf982902faada38c78c4f044f5ef4"
SEND_SEGMENTS = ["8", "movistar", "19893653744", "MTMwNTY3MDgwODQ=", "T0dBTkdJIFRFU1QgTUVTU0FHRQ=="]
SEND = "8/movistar/19893653744/MTMwNTY3MDgwODQ=/T0dBTkdJIFRFU1QgTUVTU0FHRQ=="
SEND_SIG = "b9d950ad7dcb014e4be6d7f7055765067c97cb53b117ab1d84fa23e9dfb069e1"


def test_spec_worked_examples() -> None:
    assert signed_string(["8", "peter", "peterpassword"]) == SIMPLE
    assert sign(KEY, SIMPLE) == SIMPLE_SIG
    assert signed_string(SEND_SEGMENTS) == SEND
    assert sign(KEY, SEND) == SEND_SIG
    assert verify(KEY, SIMPLE, SIMPLE_SIG)
    assert verify(KEY, SEND, SEND_SIG)


def test_verify_accepts_upper_case() -> None:
    assert verify(KEY, SEND, SEND_SIG.upper())
    assert verify(KEY, SEND, SEND_SIG[:32] + SEND_SIG[32:].upper())


@pytest.mark.parametrize(
    "bad",
    [
        "",
        SEND_SIG[:-1],
        SEND_SIG + "0",
        SEND_SIG[:-1] + "g",
        SEND_SIG[:-2] + " 0",  # fromhex would skip the space
        " " + SEND_SIG[:-1],
        SEND_SIG[:-1] + "é",
        SIMPLE_SIG,  # valid hex, other message
        "0" * 64,
    ],
)
def test_verify_rejects(bad: str) -> None:
    assert verify(KEY, SEND, bad) is False


def test_wrong_key_or_message() -> None:
    assert not verify(KEY + "x", SEND, SEND_SIG)
    assert not verify(KEY, SEND + "/", SEND_SIG)


def test_utf8_key_and_message() -> None:
    sig = sign("clé", "8/ñandú")
    assert len(sig) == 64 and sig == sig.lower()
    assert verify("clé", "8/ñandú", sig)


@given(st.text(max_size=40), st.text(max_size=200), st.text(max_size=70))
def test_verify_never_raises_and_matches_sign(key: str, message: str, junk: str) -> None:
    assert verify(key, message, sign(key, message))
    assert verify(key, message, junk) == (junk.lower() == sign(key, message))
