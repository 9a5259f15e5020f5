"""The administration use cases (services/admin) on a real database: each refuses bad input naming
the option before anything is written, and an id that names nothing as ``Unknown`` with the words
both the CLI and the admin API print."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import broadcasts, campaigns, carriers, codes, keys, lists, workspaces
from mecm.store.crypto import Vault

ACTOR = "cli:test"


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as c:
        return c.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_an_id_that_names_nothing_is_unknown_in_the_same_words(engine: Engine) -> None:
    vault = Vault(Fernet.generate_key())
    with engine.begin() as c:
        refusals = [
            (lambda: lists.add_member(c, 7, "584141234567", actor=ACTOR), "list", "no list 7"),
            (lambda: lists.create_list(c, 9, "all", actor=ACTOR), "workspace", "no workspace 9"),
            (lambda: broadcasts.cancel_broadcast(c, 3, actor=ACTOR), "id", "no broadcast 3"),
            (lambda: keys.rotate_key(c, vault, "NOSUCHKEY", actor=ACTOR), "public-key", "no key NOSUCHKEY"),
            (lambda: codes.add_code(c, 9, "12345", actor=ACTOR), "workspace", "no workspace 9"),
            (lambda: campaigns.list_campaigns(c, 9), "workspace", "no workspace 9"),
        ]
        for call, name, words in refusals:
            with pytest.raises(Unknown) as refused:
                call()
            assert (refused.value.name, refused.value.description) == (name, words)
    assert _count(engine, "lists") == _count(engine, "codes") == _count(engine, "api_keys") == 0


def test_bad_input_is_refused_naming_the_option_and_nothing_is_written(engine: Engine) -> None:
    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "+55501", actor=ACTOR)
        cases = [
            (lambda: workspaces.create_workspace(c, "x", "Mars/Olympus", actor=ACTOR), "timezone"),
            (lambda: workspaces.create_workspace(c, "x", "UTC", default_carrier="nobody", actor=ACTOR),
             "default-carrier"),
            (lambda: codes.add_code(c, ws, "55501", actor=ACTOR), "code"),  # already assigned
            (lambda: carriers.add_carrier(c, "a/b", "simulator", actor=ACTOR), "name"),
            (lambda: carriers.add_carrier(c, "m", "pigeon", actor=ACTOR), "connector"),
            (lambda: campaigns.add_campaign(c, ws, campaigns.NewCampaign(
                codes=["55501"], name="p", keyword="PROMO", reply="hi", starts="2027-01-02", ends="2027-01-01")),
             "ends"),
            (lambda: campaigns.add_campaign(c, ws, campaigns.NewCampaign(
                codes=["99999"], name="p", keyword="PROMO", reply="hi")), "code"),  # not the workspace's
            (lambda: campaigns.add_campaign(c, ws, campaigns.NewCampaign(
                codes=["55501"], name="p", keyword="PROMO", reply="", actions=["subscribe:nobody"])), "action"),
        ]
        for call, name in cases:
            with pytest.raises(InvalidParameter) as refused:
                call()
            assert refused.value.name == name and not isinstance(refused.value, Unknown)
    assert _count(engine, "workspaces") == 1 and _count(engine, "codes") == 1
    assert _count(engine, "carriers") == _count(engine, "campaigns") == 0


def test_a_campaign_is_added_with_its_times_in_the_workspace_zone_and_collisions_refused(engine: Engine) -> None:
    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "America/Caracas", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "55501", actor=ACTOR)
        row = campaigns.add_campaign(c, ws, campaigns.NewCampaign(
            codes=["55501"], name="promo", keyword="PROMO", match="word", reply="Hi", starts="2027-01-01T00:00"))
        assert row["starts_at_ms"] == 1798776000000  # 2027-01-01T04:00Z: Caracas is UTC-4
        assert row["codes"] == ["55501"]
        with pytest.raises(InvalidParameter, match="collides with active campaign 'promo'"):
            campaigns.add_campaign(c, ws, campaigns.NewCampaign(
                codes=["55501"], name="again", keyword="promo", match="word", reply="Hi"))
        assert [r["name"] for r in campaigns.list_campaigns(c, ws)] == ["promo"]
