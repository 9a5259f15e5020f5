"""Editing, pausing, resuming and archiving a campaign (services/admin/campaigns.py), on the store:
an edit keeps every setting it does not give exactly as it was, a paused campaign leaves the
catalog and keeps its keyword and its code, an archived one frees both, and a change that changes
nothing writes no audit entry."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine

from mecm.errors import InvalidParameter
from mecm.services.admin import audit, campaigns, codes, lists, workspaces
from mecm.services.catalog import load_catalog
from mecm.store.crypto import Vault

VAULT = Vault(Fernet.generate_key())
ME = "cli:tester"


def _refused(call: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as refused:
        call()
    return refused.value


def _workspace(c: Connection) -> int:
    ws = workspaces.create_workspace(c, "acme", "UTC", actor="cli:test")["instance_id"]
    codes.add_code(c, ws, "55501", actor="cli:test")
    codes.add_code(c, ws, "55502", actor="cli:test")
    lists.create_list(c, ws, "vip", actor="cli:test")
    return ws


def _answering(c: Connection, ws: int) -> list[str]:
    return [rule.name for rule in load_catalog(c, VAULT).campaigns_on(ws, "55501")]


def test_an_edit_keeps_every_setting_it_does_not_give_as_it_was(engine: Engine) -> None:
    with engine.begin() as c:
        ws = _workspace(c)
        made = campaigns.add_campaign(c, ws, campaigns.NewCampaign(
            codes=["55502", "55501"], name="promo", keyword="PROMO", match="word", reply="hi",
            starts="2026-12-01T08:00:00.123+00:00", ends="2027-01-01T00:00", quiet_hours="22:00-08:00",
            actions=["forward:584145550000", "email:ops@example.com", "subscribe:vip", "webhook:https://example.com/mo"],
            email_subject="MO {{text}}"), vault=VAULT, actor=ME)
        row = campaigns.edit_campaign(c, made["id"], campaigns.CampaignEdit(name="promo 2"), actor=ME, vault=VAULT)
        assert row["name"] == "promo 2"
        assert {k: v for k, v in row.items() if k != "name"} == \
            {k: v for k, v in campaigns.require_campaign(c, made["id"]).items() if k != "name"}
        for column in ("code", "starts_at_ms", "ends_at_ms", "quiet_hours", "actions", "keyword", "cap_count"):
            assert row[column] == {**made, "codes": sorted(made["codes"])}[column], column
        assert row["starts_at_ms"] % 1000 == 123  # epoch ms kept as stored, not read back through text
        cleared = campaigns.edit_campaign(c, made["id"], campaigns.CampaignEdit(starts="", quiet_hours="",
                                                                               actions=[]), actor=ME)
        assert (cleared["starts_at_ms"], cleared["quiet_hours"], cleared["actions"]) == (None, None, None)
        assert [e["action"] for e in audit.list_entries(c) if e["action"].startswith("campaign.")] == ["campaign.edit", "campaign.edit", "campaign.create"]


def test_an_edit_that_changes_nothing_writes_nothing(engine: Engine) -> None:
    with engine.begin() as c:
        ws = _workspace(c)
        made = campaigns.add_campaign(c, ws, campaigns.NewCampaign(codes=["55501", "55502"], name="promo",
                                                                   keyword="PROMO", reply="hi"), actor=ME)
        same = campaigns.edit_campaign(c, made["id"], campaigns.CampaignEdit(codes=["55502", "55501"], reply="hi"),
                                       actor=ME)
        assert same["codes"] == ["55501", "55502"] and same["code"] == "55501"
        assert campaigns.pause_campaign(c, made["id"], actor=ME)["state"] == "paused"
        assert campaigns.pause_campaign(c, made["id"], actor=ME)["state"] == "paused"
        assert [e["action"] for e in audit.list_entries(c) if e["action"].startswith("campaign.")] == ["campaign.pause", "campaign.create"]
        assert _refused(lambda: campaigns.edit_campaign(c, made["id"], campaigns.CampaignEdit(), actor=ME)).name == \
            "campaign"


def test_a_paused_campaign_leaves_the_catalog_and_keeps_its_keyword_and_its_code(engine: Engine) -> None:
    with engine.begin() as c:
        ws = _workspace(c)
        made = campaigns.add_campaign(c, ws, campaigns.NewCampaign(codes=["55501"], name="promo", keyword="PROMO",
                                                                   match="word", reply="hi"))
        assert _answering(c, ws) == ["promo"]
        campaigns.pause_campaign(c, made["id"], actor=ME)
        assert _answering(c, ws) == []
        clash = _refused(lambda: campaigns.add_campaign(c, ws, campaigns.NewCampaign(
            codes=["55501"], name="again", keyword="promo", match="prefix", reply="x")))
        assert (clash.name, "collides with paused campaign 'promo'" in clash.reason) == ("keyword", True)
        assert "used by campaign" in _refused(lambda: codes.remove_code(c, "55501", actor="cli:test")).reason
        assert campaigns.resume_campaign(c, made["id"], actor=ME)["state"] == "active"
        assert _answering(c, ws) == ["promo"]


def test_an_archived_campaign_frees_its_keyword_and_code_and_cannot_come_back(engine: Engine) -> None:
    with engine.begin() as c:
        ws = _workspace(c)
        made = campaigns.add_campaign(c, ws, campaigns.NewCampaign(codes=["55501"], name="promo", keyword="PROMO",
                                                                   match="word", reply="hi"))
        archived = campaigns.archive_campaign(c, made["id"], actor=ME, now_ms=1_000)
        assert (archived["state"], archived["archived_at_ms"], archived["is_active"]) == ("archived", 1_000, False)
        assert campaigns.archive_campaign(c, made["id"], actor=ME, now_ms=2_000)["archived_at_ms"] == 1_000
        assert _answering(c, ws) == []
        assert [r["id"] for r in campaigns.list_campaigns(c, ws)] == []
        assert [r["id"] for r in campaigns.list_campaigns(c, ws, include_archived=True)] == [made["id"]]
        for verb, call in [("edited", lambda: campaigns.edit_campaign(
                               c, made["id"], campaigns.CampaignEdit(reply="x"), actor=ME)),
                           ("resumed", lambda: campaigns.resume_campaign(c, made["id"], actor=ME)),
                           ("paused", lambda: campaigns.pause_campaign(c, made["id"], actor=ME))]:
            refused = _refused(call)
            assert (refused.name, refused.reason) == ("id", f"campaign {made['id']} (promo) is archived: "
                                                            f"it cannot be {verb}")
        again = campaigns.add_campaign(c, ws, campaigns.NewCampaign(codes=["55501"], name="promo 2",
                                                                    keyword="PROMO", match="word", reply="hi"))
        assert _answering(c, ws) == ["promo 2"]
        campaigns.archive_campaign(c, again["id"], actor=ME, now_ms=3_000)
        assert codes.remove_code(c, "55501", actor="cli:test")["removed"] is True
