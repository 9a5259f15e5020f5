"""Key pairs' expiry, rotation and listing on a real database: each refusal names its option and
writes nothing."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, func, select

from mecm.errors import InvalidParameter
from mecm.store import admin, keys
from mecm.store.crypto import Vault
from mecm.store.tables import api_keys

NOW = 1_800_000_000_000  # 2027-01-15T08:00:00Z
DAY = 86_400_000
VAULT = Vault(Fernet.generate_key())


@pytest.fixture()
def workspace(engine: Engine) -> int:
    with engine.begin() as c:
        return admin.create_workspace(c, "w", "America/Caracas")["instance_id"]


def _row(c: Connection, public_key: str) -> dict:
    return dict(c.execute(select(api_keys).where(api_keys.c.public_key == public_key)).mappings().one())


def _count(c: Connection) -> int:
    return c.execute(select(func.count()).select_from(api_keys)).scalar_one()


def test_create_with_an_expiry_date_in_the_workspace_zone(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        pair = keys.create_key(c, VAULT, workspace, NOW, expires="2027-01-31")
        assert pair["expires_at"] == "2027-01-31T00:00:00.000-04:00"
        assert _row(c, pair["public_key"])["expires_at_ms"] == 1_801_368_000_000
        assert VAULT.decrypt(_row(c, pair["public_key"])["private_key_enc"]) == pair["private_key"]


def test_create_refuses_a_past_date_and_a_bad_one_and_writes_nothing(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        with pytest.raises(InvalidParameter, match="expires: '2026-01-01' is already past"):
            keys.create_key(c, VAULT, workspace, NOW, expires="2026-01-01")
        with pytest.raises(InvalidParameter, match="expires-in: 'soon' is not a duration"):
            keys.create_key(c, VAULT, workspace, NOW, expires_in="soon")
        with pytest.raises(InvalidParameter, match="workspace: no workspace 99"):
            keys.create_key(c, VAULT, 99, NOW, expires_in="90d")
        assert _count(c) == 0


def test_set_expiry_in_the_past_then_never(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        public_key = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        answer = keys.set_expiry(c, public_key, NOW, expires="2020-01-01T00:00+00:00")
        assert answer["expired"] and answer["expires_at"] == "2019-12-31T20:00:00.000-04:00"
        assert [k["state"] for k in keys.list_keys(c, NOW)] == ["expired"]
        assert keys.set_expiry(c, public_key, NOW, never=True) == {
            "public_key": public_key, "expires_at": None, "expired": False}
        assert _row(c, public_key)["expires_at_ms"] is None


@pytest.mark.parametrize(("options", "message"), [
    ({}, "expires: missing: give expires, expires-in or never"),
    ({"never": True, "expires_in": "1d"}, "never: cannot be given with expires or expires-in"),
    ({"expires": "2027-13-01"}, "expires: '2027-13-01' is not an ISO 8601 date"),
])
def test_set_expiry_refusals_name_the_option(engine: Engine, workspace: int, options: dict, message: str) -> None:
    with engine.begin() as c:
        public_key = keys.create_key(c, VAULT, workspace, NOW, expires_in="1d")["public_key"]
        with pytest.raises(InvalidParameter, match=message):
            keys.set_expiry(c, public_key, NOW, **options)
        assert _row(c, public_key)["expires_at_ms"] == NOW + DAY


def test_set_expiry_of_an_unknown_or_revoked_key_names_public_key(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        with pytest.raises(InvalidParameter, match="public-key: no unrevoked key 'NOPE'"):
            keys.set_expiry(c, "NOPE", NOW, never=True)
        public_key = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        admin.revoke_key(c, public_key)
        with pytest.raises(InvalidParameter, match="public-key: no unrevoked key"):
            keys.set_expiry(c, public_key, NOW, never=True)  # a revocation is final


def test_rotate_makes_a_key_in_the_same_workspace_and_ends_the_old_after_the_overlap(
        engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        old = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        new = keys.rotate_key(c, VAULT, old, NOW, overlap="2s")
        assert new["instance_id"] == workspace and new["public_key"] != old and new["private_key"]
        assert new["old_public_key"] == old and not new["old_revoked"]
        assert _row(c, old)["expires_at_ms"] == NOW + 2000 and _row(c, old)["revoked_at_ms"] is None
        assert _row(c, new["public_key"])["expires_at_ms"] is None
        states = {k["public_key"]: k["state"] for k in keys.list_keys(c, NOW + 2000, workspace)}
        assert states == {old: "expired", new["public_key"]: "active"}


def test_rotate_with_no_overlap_revokes_now_and_never_lengthens_a_life(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        soon = keys.create_key(c, VAULT, workspace, NOW, expires_in="1h")["public_key"]
        keys.rotate_key(c, VAULT, soon, NOW, overlap="7d")
        assert _row(c, soon)["expires_at_ms"] == NOW + 3_600_000  # not a week
        other = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        answer = keys.rotate_key(c, VAULT, other, NOW, overlap="0", expires_in="90d")
        assert answer["old_revoked"] and _row(c, other)["revoked_at_ms"] == NOW
        assert _row(c, answer["public_key"])["expires_at_ms"] == NOW + 90 * DAY


@pytest.mark.parametrize(("options", "message"), [
    ({"overlap": "tomorrow"}, "overlap: 'tomorrow' is not a duration"),
    ({"expires": "2020-01-01"}, "expires: '2020-01-01' is already past"),
])
def test_a_refused_rotation_writes_nothing(engine: Engine, workspace: int, options: dict, message: str) -> None:
    with engine.connect() as c:
        with c.begin():
            old = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        with c.begin():  # seen inside the transaction: the refusal came before any write
            with pytest.raises(InvalidParameter, match=message):
                keys.rotate_key(c, VAULT, old, NOW, **options)
            assert _count(c) == 1 and _row(c, old)["expires_at_ms"] is None


def test_list_writes_readable_dates_and_the_last_use(engine: Engine, workspace: int) -> None:
    with engine.begin() as c:
        public_key = keys.create_key(c, VAULT, workspace, NOW)["public_key"]
        keys.record_last_used(c, {public_key: NOW + 1234})
        keys.record_last_used(c, {public_key: NOW})  # an older flush of another process
        [listed] = keys.list_keys(c, NOW, workspace)
        assert listed["last_used_at"] == "2027-01-15T04:00:01.234-04:00"
        assert listed["expires_at"] is None and listed["revoked_at"] is None and listed["state"] == "active"
        assert keys.list_keys(c, NOW, workspace + 1) == []
