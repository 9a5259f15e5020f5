"""Editing what administration made (services/admin): workspaces, codes, carriers. Each edit checks
every value before it writes, refuses naming the option (or ``Unknown`` for an id that names
nothing), and a refusal leaves everything as it was."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine

from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import broadcasts, carriers, lists, workspaces
from mecm.services.catalog import load_catalog
from mecm.store.crypto import Vault

VAULT = Vault(Fernet.generate_key())
ACTOR = "cli:test"


def _refused(call: Any) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as refused:
        call()
    return refused.value


def test_a_workspace_is_renamed_moved_to_another_zone_and_given_a_default_carrier(engine: Engine) -> None:
    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        carriers.add_carrier(c, "movistar", "simulator", actor=ACTOR)
        row = workspaces.update_workspace(c, ws, name="Acme Corp", timezone="America/Bogota",
                                          default_carrier="movistar", actor=ACTOR)
        assert (row["name"], row["timezone"], row["default_carrier"]) == ("Acme Corp", "America/Bogota", "movistar")
        assert workspaces.update_workspace(c, ws, default_carrier="", actor=ACTOR)["default_carrier"] is None
        # the rest stays
        assert workspaces.update_workspace(c, ws, name="Acme", actor=ACTOR)["timezone"] == "America/Bogota"


def test_a_workspace_edit_with_one_bad_value_changes_nothing(engine: Engine) -> None:
    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        cases = [
            (lambda: workspaces.update_workspace(c, ws, name="new", timezone="Mars/Olympus", actor=ACTOR), "timezone"),
            (lambda: workspaces.update_workspace(c, ws, name="new", default_carrier="nobody", actor=ACTOR),
             "default-carrier"),
            (lambda: workspaces.update_workspace(c, ws, name="  ", actor=ACTOR), "name"),
            (lambda: workspaces.update_workspace(c, ws, actor=ACTOR), "workspace"),  # nothing to change
        ]
        for call, name in cases:
            assert _refused(call).name == name
        unknown = _refused(lambda: workspaces.update_workspace(c, 99, name="x", actor=ACTOR))
        assert isinstance(unknown, Unknown) and unknown.description == "no workspace 99"
        assert [(w["name"], w["timezone"]) for w in workspaces.list_workspaces(c)] == [("acme", "UTC")]


def test_an_archived_workspace_is_hidden_its_keys_refused_and_it_can_be_restored(engine: Engine) -> None:
    from mecm.services.admin import keys

    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        other = workspaces.create_workspace(c, "other", "UTC", actor=ACTOR)["instance_id"]
        key = keys.create_key(c, VAULT, ws, actor=ACTOR)["public_key"]
        row = workspaces.archive_workspace(c, ws, now_ms=1_800_000_000_000, actor=ACTOR)
        assert row["archived_at_ms"] == 1_800_000_000_000
        again = workspaces.archive_workspace(c, ws, now_ms=1_900_000_000_000, actor=ACTOR)
        assert again["archived_at_ms"] == 1_800_000_000_000
        assert [w["instance_id"] for w in workspaces.list_workspaces(c)] == [other]
        assert [w["instance_id"] for w in workspaces.list_workspaces(c, include_archived=True)] == [ws, other]
        assert load_catalog(c, VAULT).workspace_key(ws, key) is None  # the API answers BAD_SIGNATURE
        assert [k["public_key"] for k in keys.list_keys(c, ws)] == [key]  # its history stays
        workspaces.restore_workspace(c, ws, actor=ACTOR)
        assert load_catalog(c, VAULT).workspace_key(ws, key) is not None
        assert [w["instance_id"] for w in workspaces.list_workspaces(c)] == [ws, other]


def test_a_workspace_with_a_broadcast_under_way_is_not_archived(engine: Engine) -> None:
    from mecm.services.admin import codes

    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "55501", actor=ACTOR)
        listed = lists.create_list(c, ws, "vip", actor=ACTOR)["id"]
        sent = broadcasts.create_broadcast(c, listed, "55501", "hola", actor=ACTOR, name="xmas",
                                           at="2099-01-01T00:00")
        refused = _refused(lambda: workspaces.archive_workspace(c, ws, now_ms=1, actor=ACTOR))
        assert refused.name == "workspace" and f"broadcast {sent['id']} (xmas)" in refused.reason
        assert workspaces.list_workspaces(c)[0]["archived_at_ms"] is None
        broadcasts.cancel_broadcast(c, sent["id"], actor=ACTOR)
        assert workspaces.archive_workspace(c, ws, now_ms=1, actor=ACTOR)["archived_at_ms"] == 1


# -- codes ---------------------------------------------------------------------------------------


def test_a_code_in_use_is_not_removed_and_the_refusal_names_the_user(engine: Engine) -> None:
    from mecm.services.admin import campaigns, codes

    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "55501", actor=ACTOR)
        codes.add_code(c, ws, "55502", actor=ACTOR)
        promo = campaigns.add_campaign(c, ws, campaigns.NewCampaign(codes=["55501"], name="promo", keyword="PROMO",
                                                                    reply="hi"))
        refused = _refused(lambda: codes.remove_code(c, "55501", actor=ACTOR))
        assert (refused.name, refused.reason) == ("code", f"code 55501 is used by campaign {promo['id']} (promo)")
        listed = lists.create_list(c, ws, "vip", actor=ACTOR)["id"]
        sent = broadcasts.create_broadcast(c, listed, "55502", "hola", actor=ACTOR, name="xmas",
                                           at="2099-01-01T00:00")
        refused = _refused(lambda: codes.remove_code(c, "55502", actor=ACTOR))
        assert refused.reason == f"code 55502 is used by broadcast {sent['id']} (xmas), scheduled, sending or paused"
        assert [r["code"] for r in codes.list_codes(c, ws)] == ["55501", "55502"]
        broadcasts.cancel_broadcast(c, sent["id"], actor=ACTOR)
        assert codes.remove_code(c, "+55502", actor=ACTOR) == {"workspace_id": ws, "code": "55502", "removed": True}
        assert [r["code"] for r in codes.list_codes(c, ws)] == ["55501"]
        unknown = _refused(lambda: codes.remove_code(c, "55502", actor=ACTOR))
        assert isinstance(unknown, Unknown) and unknown.description == "no code 55502"


def test_a_code_made_the_default_takes_the_place_from_the_others(engine: Engine) -> None:
    from mecm.services.admin import codes

    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        other = workspaces.create_workspace(c, "other", "UTC", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "55501", is_default=True, actor=ACTOR)
        codes.add_code(c, ws, "55502", actor=ACTOR)
        codes.add_code(c, other, "66601", is_default=True, actor=ACTOR)
        codes.set_default_code(c, "55502", actor=ACTOR)
        assert {r["code"]: r["is_default"] for r in codes.list_codes(c)} == {
            "55501": False, "55502": True, "66601": True}
        assert load_catalog(c, VAULT).workspaces[ws].default_code == "55502"
        assert isinstance(_refused(lambda: codes.set_default_code(c, "\0", actor=ACTOR)), Unknown)


# -- carriers ------------------------------------------------------------------------------------

SMPP = {"host": "127.0.0.1", "port": 2775, "system_id": "mecm", "password": "secret"}


def test_a_carrier_edit_keeps_what_it_does_not_give_and_the_password_stays_encrypted(engine: Engine) -> None:
    import json

    with engine.begin() as c:
        carriers.add_carrier(c, "smsc", "smpp", ["58414"], dict(SMPP), VAULT, actor=ACTOR)
        row = carriers.update_carrier(c, "smsc", settings={"port": 2776, "window": 20}, vault=VAULT, actor=ACTOR)
        assert row["settings"]["password"] == "(encrypted)" and "secret" not in json.dumps(row)
        assert (row["settings"]["port"], row["settings"]["window"], row["prefixes"]) == (2776, 20, "58414")
        assert load_catalog(c, VAULT).carriers["smsc"].settings["password"] == "secret"  # kept
        carriers.update_carrier(c, "smsc", settings={"password": "n3w"}, prefixes=["+58412", "58416"], vault=VAULT,
                                actor=ACTOR)
        loaded = load_catalog(c, VAULT).carriers["smsc"]
        assert (loaded.settings["password"], loaded.prefixes) == ("n3w", ("58412", "58416"))
        assert "n3w" not in json.dumps(carriers.list_carriers(c))


def test_a_bad_carrier_edit_is_refused_as_when_it_was_added_and_changes_nothing(engine: Engine) -> None:
    with engine.begin() as c:
        carriers.add_carrier(c, "smsc", "smpp", [], dict(SMPP), VAULT, actor=ACTOR)
        carriers.add_carrier(c, "sim", "simulator", [], {"failure_rate": 0.0}, actor=ACTOR)
        before = carriers.list_carriers(c)
        cases = [
            (lambda: carriers.update_carrier(c, "smsc", settings={"port": 70000, "window": 5}, vault=VAULT,
                                             actor=ACTOR), "port"),
            (lambda: carriers.update_carrier(c, "smsc", settings={"password": "toolongpw"}, vault=VAULT,
                                             actor=ACTOR), "password"),
            (lambda: carriers.update_carrier(c, "smsc", settings={"password": ""}, vault=VAULT, actor=ACTOR),
             "password"),  # an empty one would leave it without a password
            (lambda: carriers.update_carrier(c, "smsc", settings={"max_binds": 0}, vault=VAULT, actor=ACTOR),
             "max-binds"),
            (lambda: carriers.update_carrier(c, "smsc", prefixes=["58a"], vault=VAULT, actor=ACTOR), "prefix"),
            (lambda: carriers.update_carrier(c, "sim", settings={"failure_rate": 2}, actor=ACTOR), "failure-rate"),
            (lambda: carriers.update_carrier(c, "sim", settings={"failure_rate": "x"}, actor=ACTOR), "failure-rate"),
            # not a simulator's
            (lambda: carriers.update_carrier(c, "sim", settings={"host": "h"}, actor=ACTOR), "host"),
            (lambda: carriers.update_carrier(c, "sim", actor=ACTOR), "carrier"),  # nothing to change
        ]
        for call, name in cases:
            assert _refused(call).name == name
        assert carriers.list_carriers(c) == before
        unknown = _refused(lambda: carriers.set_carrier_enabled(c, "nobody", enabled=False, actor=ACTOR))
        assert isinstance(unknown, Unknown) and unknown.description == "no carrier nobody"


def test_a_disabled_carrier_takes_no_route_and_is_known_as_disabled(engine: Engine) -> None:
    from mecm.services.router import route

    with engine.begin() as c:
        carriers.add_carrier(c, "sim", "simulator", ["58414"], actor=ACTOR)
        assert route("584141234567", load_catalog(c, VAULT), None) == "sim"
        assert carriers.set_carrier_enabled(c, "sim", enabled=False, actor=ACTOR)["is_active"] is False
        catalog = load_catalog(c, VAULT)
        assert route("584141234567", catalog, None) is None and catalog.disabled_carriers == {"sim"}
        carriers.set_carrier_enabled(c, "sim", enabled=True, actor=ACTOR)
        assert route("584141234567", load_catalog(c, VAULT), None) == "sim"


def test_a_carrier_in_use_is_not_deleted_and_the_refusal_names_every_user(engine: Engine) -> None:
    from mecm.services.admin import codes

    with engine.begin() as c:
        carriers.add_carrier(c, "sim", "simulator", actor=ACTOR)
        ws = workspaces.create_workspace(c, "acme", "UTC", default_carrier="sim", actor=ACTOR)["instance_id"]
        codes.add_code(c, ws, "55501", actor=ACTOR)
        listed = lists.create_list(c, ws, "vip", actor=ACTOR)["id"]
        sent = broadcasts.create_broadcast(c, listed, "55501", "hola", actor=ACTOR, name="xmas",
                                           at="2099-01-01T00:00", carrier="sim")
        refused = _refused(lambda: carriers.delete_carrier(c, "sim", actor=ACTOR))
        assert refused.name == "carrier"
        assert refused.reason == (f"carrier 'sim' is in use: workspace {ws} (acme) has it as default carrier; "
                                  f"broadcast {sent['id']} (xmas) uses it (scheduled, sending or paused)")
        workspaces.update_workspace(c, ws, default_carrier="", actor=ACTOR)
        broadcasts.cancel_broadcast(c, sent["id"], actor=ACTOR)
        assert carriers.delete_carrier(c, "sim", actor=ACTOR) == {"name": "sim", "deleted": True}
        assert carriers.list_carriers(c) == []


def test_a_carriers_audit_entries_name_what_changed_and_never_its_password(engine: Engine) -> None:
    from mecm.services.admin import audit

    with engine.begin() as c:
        carriers.add_carrier(c, "smsc", "smpp", ["58414"], dict(SMPP), VAULT, actor=ACTOR)
        carriers.update_carrier(c, "smsc", settings={"password": "n3w", "window": 5}, vault=VAULT, actor=ACTOR)
        stored = c.exec_driver_sql("SELECT before, after FROM audit_log").all()
        edit, add = audit.list_entries(c, action="carrier")
    assert (add["action"], add["after"]["password_set"], add["after"]["prefixes"]) == ("carrier.add", True, "58414")
    assert (edit["before"], edit["after"]) == ({"window": None, "password_changed": False},
                                               {"window": 5, "password_changed": True})
    assert not any(secret in str(stored) for secret in ("secret", "n3w", "password_enc", "encrypted"))


def test_a_change_that_changes_nothing_writes_no_audit_entry(engine: Engine) -> None:
    from mecm.services.admin import audit, codes

    with engine.begin() as c:
        ws = workspaces.create_workspace(c, "acme", "UTC", actor=ACTOR)["instance_id"]
        carriers.add_carrier(c, "sim", "simulator", [], {"failure_rate": 0.5}, actor=ACTOR)
        codes.add_code(c, ws, "55501", is_default=True, actor=ACTOR)
        made = len(audit.list_entries(c))
        workspaces.update_workspace(c, ws, name="acme", timezone="UTC", actor=ACTOR)
        workspaces.restore_workspace(c, ws, actor=ACTOR)  # not archived
        carriers.set_carrier_enabled(c, "sim", enabled=True, actor=ACTOR)  # enabled
        carriers.update_carrier(c, "sim", settings={"failure_rate": 0.5}, actor=ACTOR)
        codes.set_default_code(c, "55501", actor=ACTOR)
        assert len(audit.list_entries(c)) == made
        workspaces.update_workspace(c, ws, name="Acme", timezone="UTC", actor=ACTOR)
        [edit] = audit.list_entries(c, limit=1)
    assert (edit["action"], edit["before"], edit["after"]) == ("workspace.edit", {"name": "acme"}, {"name": "Acme"})
