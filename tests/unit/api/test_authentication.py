"""The OGANGI endpoint's authentication step (SPEC section 2), with a catalog of one key."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from mecm.api import ogangi
from mecm.api.ogangi import OgangiApi
from mecm.config import Settings
from mecm.domain.signature import sign
from mecm.errors import BadSignature
from mecm.services.catalog import ApiKey
from mecm.services.key_use import KeyUse

KEY = ApiKey(public_key="PUB", private_key="FBF3-4310-909C-C4BBC26F886F", workspace_id=8)


@dataclass
class _Catalog:
    def workspace_key(self, instance: int, public_key: str) -> tuple[object, ApiKey] | None:
        return (SimpleNamespace(id=8), KEY) if (instance, public_key) == (8, "PUB") else None


class _Runtime(SimpleNamespace):
    async def reload_on_miss(self) -> None:
        pass


@pytest.fixture()
def api() -> OgangiApi:
    return OgangiApi(_Runtime(catalog=_Catalog(), settings=Settings(), key_use=KeyUse()))  # type: ignore[arg-type]


@pytest.fixture()
def hmac_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The private keys each HMAC check of the endpoint was computed with, in order."""
    calls: list[str] = []
    real = ogangi.verify

    def counting(private_key: str, message: str, signature: str) -> bool:
        calls.append(private_key)
        return real(private_key, message, signature)

    monkeypatch.setattr(ogangi, "verify", counting)
    return calls


async def test_a_good_signature_over_the_raw_segments(api: OgangiApi) -> None:
    raw = ["8", "peter", "peterpassword"]
    call = await api._authenticate(raw, "PUB", sign(KEY.private_key, "8/peter/peterpassword"), b"")
    assert call.params == raw and call.key == KEY


async def test_a_good_signature_over_the_decoded_segments(api: OgangiApi) -> None:
    raw = ["8", "a%2Bb%3D"]
    call = await api._authenticate(raw, "PUB", sign(KEY.private_key, "8/a+b="), b"")
    assert call.params == ["8", "a+b="]


async def test_the_decoded_form_is_not_tried_when_it_puts_a_slash_in_a_segment(api: OgangiApi) -> None:
    # Signed as "8/ab/cd": read raw, the URL has one segment "ab%2Fcd" where the signer meant two.
    with pytest.raises(BadSignature):
        await api._authenticate(["8", "ab%2Fcd"], "PUB", sign(KEY.private_key, "8/ab/cd"), b"")


@pytest.mark.parametrize("public_key", ["PUB", "UNKNOWN"])
async def test_a_wrong_signature_costs_the_same_work_for_a_known_and_an_unknown_key(
        api: OgangiApi, hmac_calls: list[str], public_key: str) -> None:
    with pytest.raises(BadSignature):
        await api._authenticate(["8", "a%2Bb"], public_key, "0" * 64, b"")
    assert len(hmac_calls) == 2  # the raw and the decoded form, whether the key exists or not
    assert (KEY.private_key in hmac_calls) == (public_key == "PUB")
