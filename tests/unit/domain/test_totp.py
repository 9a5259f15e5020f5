"""One-time codes (domain/totp.py): RFC 6238's own test values, the step either side, no replay."""

from __future__ import annotations

import base64

import pytest

from mecm.domain.totp import code_at, matching_step, new_secret, provisioning_uri
from tests.support.databases import no_database

pytestmark = no_database

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 appendix B (SHA-1)


@pytest.mark.parametrize(("time_s", "code"), [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"),
                                              (1234567890, "005924"), (2000000000, "279037")])
def test_the_codes_of_rfc_6238(time_s: int, code: str) -> None:
    assert code_at(RFC_SECRET, time_s // 30) == code


def test_a_code_is_accepted_for_its_step_and_the_one_either_side_only() -> None:
    now = 1_800_000_015  # in the middle of a step
    step = now // 30
    for offset in (-1, 0, 1):
        assert matching_step(RFC_SECRET, code_at(RFC_SECRET, step + offset), now, None) == step + offset
    for offset in (-2, 2):
        assert matching_step(RFC_SECRET, code_at(RFC_SECRET, step + offset), now, None) is None


def test_a_used_step_or_an_earlier_one_is_not_accepted_again() -> None:
    now = 1_800_000_015
    step = now // 30
    code = code_at(RFC_SECRET, step)
    assert matching_step(RFC_SECRET, code, now, last_step=step - 1) == step
    assert matching_step(RFC_SECRET, code, now, last_step=step) is None
    assert matching_step(RFC_SECRET, code_at(RFC_SECRET, step - 1), now, last_step=step) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_what_is_not_six_digits_is_refused(typed: str) -> None:
    assert matching_step(RFC_SECRET, typed, 1_800_000_015, None) is None


def test_a_new_secret_is_160_bits_and_its_address_names_the_account() -> None:
    secret = new_secret()
    assert len(base64.b32decode(secret)) == 20 and secret != new_secret()
    uri = provisioning_uri(secret, "ana@example.com")
    assert uri.startswith("otpauth://totp/mecm%3Aana%40example.com?secret=" + secret)


def test_the_key_uri_escapes_every_reserved_character_of_the_account() -> None:
    uri = provisioning_uri("JBSWY3DPEHPK3PXP", "a/b?c@example.com")
    assert uri.startswith("otpauth://totp/mecm%3Aa%2Fb%3Fc%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=mecm&")
