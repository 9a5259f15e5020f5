"""Every change of workspaces, keys, codes, carriers, limits, the PIN guard and credit writes one
audit entry (actor, action, subject, before and after), made through the CLI (actor ``cli:<OS
user>``) or the admin API (the asking principal); a refused change (bad input, or a role that may
not: 403) writes none. One table of cases drives both ways, as Courier's table-driven tests do:
each case makes what it needs, then changes it once through each way that has the change."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import httpx
import pytest

from tests.support.server import Server, make_server, run_mecm

CLI_ACTOR = f"cli:{getpass.getuser()}"
VIEWER = "viewer@example.com"
_numbers = count(1)


class _Set:
    """Matches any value but None (a time, a new key)."""

    def __eq__(self, other: object) -> bool:
        return other is not None

    def __repr__(self) -> str:
        return "<set>"


SET = _Set()


@dataclass
class World:
    server: Server
    admin: httpx.Client  # the deployment's admin token: actor "admin-token"
    viewer: dict[str, str]  # a viewer's personal token (of scope write), for the 403s

    def workspace(self) -> dict[str, Any]:
        """A fresh workspace, the viewer a viewer of it, and fresh names for codes and carriers."""
        n = next(_numbers)
        ws = self.ok(self.admin.post("/workspaces", json={"name": f"w{n}", "timezone": "UTC"}))["instance_id"]
        self.ok(self.admin.put(f"/workspaces/{ws}/roles/{VIEWER}", json={"role": "viewer"}))
        return {"ws": ws, "n": n, "code": str(55_000_000 + 10 * n), "code2": str(55_000_001 + 10 * n),
                "carrier": f"carrier{n}", "demo_carrier": self.server.creds["carrier"]}

    @staticmethod
    def ok(answer: httpx.Response) -> dict[str, Any]:
        assert answer.is_success, answer.text
        return answer.json()


# -- what each case makes first -------------------------------------------------------------------


def fresh(world: World) -> dict[str, Any]:
    return world.workspace()


def archived(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.ok(world.admin.post(f"/workspaces/{ctx['ws']}/archive"))
    return ctx


def with_key(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    ctx["key"] = world.ok(world.admin.post(f"/workspaces/{ctx['ws']}/keys", json={}))["public_key"]
    return ctx


def with_codes(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.server.cli("admin", "code", "add", "--workspace", str(ctx["ws"]), "--code", ctx["code"], "--default")
    world.server.cli("admin", "code", "add", "--workspace", str(ctx["ws"]), "--code", ctx["code2"])
    return ctx


def with_carrier(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.server.cli("admin", "carrier", "add", "--name", ctx["carrier"], "--connector", "simulator")
    return ctx


def with_disabled_carrier(world: World) -> dict[str, Any]:
    ctx = with_carrier(world)
    world.ok(world.admin.post(f"/carriers/{ctx['carrier']}/disable"))
    return ctx


def with_smpp_carrier(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.server.cli("admin", "carrier", "add", "--name", ctx["carrier"], "--connector", "smpp", "--host",
                     "127.0.0.1", "--port", "2775", "--system-id", "mecm", "--password", "first")
    return ctx


def with_limit(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.ok(world.admin.put(f"/workspaces/{ctx['ws']}/limits", json={"class": "sends", "rate_per_s": 5, "burst": 10}))
    return ctx


def with_pin_guard(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.ok(world.admin.patch(f"/workspaces/{ctx['ws']}/pin-guard", json={"per_number": 3}))
    return ctx


def with_price(world: World) -> dict[str, Any]:
    ctx = world.workspace()
    world.ok(world.admin.post(f"/workspaces/{ctx['ws']}/prices", json={"per_segment": "0.01"}))
    return ctx


# -- the table ------------------------------------------------------------------------------------


@dataclass
class Case:
    """One change: what it needs (``setup``), how the CLI and the API ask for it (None: that way has
    no such change), the entry it writes, and input each way refuses. Strings are formatted with the
    setup's names ({ws}, {key}, {code}, {carrier}, ...); ``before``/``after`` name the fields the
    entry must hold (None: the entry has none)."""

    action: str
    setup: Callable[[World], dict[str, Any]]
    cli: tuple[str, ...] | None
    api: tuple[str, str, dict[str, Any] | None] | None
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    bad_cli: tuple[str, ...] | None = None
    bad_api: tuple[str, str, dict[str, Any] | None] | None = None
    workspace: bool = True  # the entry names the case's workspace
    secret: str | None = None  # a secret the change takes, which no entry may hold
    also: tuple[str, ...] = field(default=())  # actions the change writes before its own


CASES = [
    Case("workspace.edit", fresh, ("workspace", "edit", "--workspace", "{ws}", "--name", "Renamed"),
         ("PATCH", "/workspaces/{ws}", {"name": "Renamed"}), "workspace:{ws}", {"name": "w{n}"}, {"name": "Renamed"},
         bad_cli=("workspace", "edit", "--workspace", "{ws}", "--name", "x", "--timezone", "Mars/Olympus"),
         bad_api=("PATCH", "/workspaces/{ws}", {"name": "x", "timezone": "Mars/Olympus"})),
    Case("workspace.edit", fresh, ("workspace", "edit", "--workspace", "{ws}", "--timezone", "Europe/Madrid"),
         ("PATCH", "/workspaces/{ws}", {"timezone": "Europe/Madrid"}), "workspace:{ws}", {"timezone": "UTC"},
         {"timezone": "Europe/Madrid"}),
    Case("workspace.edit", fresh, ("workspace", "set-default-carrier", "--workspace", "{ws}", "--carrier",
                                   "{demo_carrier}"),
         ("PATCH", "/workspaces/{ws}", {"default_carrier": "{demo_carrier}"}), "workspace:{ws}",
         {"default_carrier": None}, {"default_carrier": "{demo_carrier}"},
         bad_cli=("workspace", "set-default-carrier", "--workspace", "{ws}", "--carrier", "nobody"),
         bad_api=("PATCH", "/workspaces/{ws}", {"default_carrier": "nobody"})),
    Case("workspace.edit", fresh, ("workspace", "set-pin-in-response", "--workspace", "{ws}", "--off"),
         ("PATCH", "/workspaces/{ws}", {"pin_in_response": False}), "workspace:{ws}", {"pin_in_response": True},
         {"pin_in_response": False}),
    Case("workspace.archive", fresh, ("workspace", "archive", "--workspace", "{ws}"),
         ("POST", "/workspaces/{ws}/archive", None), "workspace:{ws}", {"archived_at_ms": None},
         {"archived_at_ms": SET}),
    Case("workspace.restore", archived, ("workspace", "restore", "--workspace", "{ws}"),
         ("POST", "/workspaces/{ws}/restore", None), "workspace:{ws}", {"archived_at_ms": SET},
         {"archived_at_ms": None}),
    Case("workspace.callback", fresh, ("workspace", "set-callback", "--workspace", "{ws}", "--url",
                                       "https://hooks.example.com/status"), None, "workspace:{ws}",
         {"status_callback_url": None}, {"status_callback_url": "https://hooks.example.com/status"},
         bad_cli=("workspace", "set-callback", "--workspace", "{ws}", "--url", "ftp://example.com"),
         also=("workspace.webhook_secret",)),
    Case("workspace.webhook_secret", fresh, ("workspace", "webhook-secret", "--workspace", "{ws}", "--rotate"),
         None, "workspace:{ws}", {"signing_key": None}, {"signing_key": "created"}),
    Case("key.expiry", with_key, ("key", "set-expiry", "--public-key", "{key}", "--expires-in", "10d"),
         ("PATCH", "/keys/{key}", {"expires_in": "10d"}), "key:{key}", {"expires_at": None, "state": "active"},
         {"expires_at": SET, "state": "active"},
         bad_cli=("key", "set-expiry", "--public-key", "{key}", "--expires-in", "soon"),
         bad_api=("PATCH", "/keys/{key}", {"expires_in": "soon"})),
    Case("key.rotate", with_key, ("key", "rotate", "--public-key", "{key}", "--overlap", "0"),
         ("POST", "/keys/{key}/rotate", {"overlap": "0"}), "key:{key}", {"public_key": "{key}", "state": "active"},
         {"public_key": "{key}", "revoked": True, "new_public_key": SET},
         bad_cli=("key", "rotate", "--public-key", "{key}", "--overlap", "forever"),
         bad_api=("POST", "/keys/{key}/rotate", {"overlap": "forever"})),
    Case("code.add", fresh, ("code", "add", "--workspace", "{ws}", "--code", "{code}", "--default"), None,
         "code:{code}", {"default_code": None}, {"code": "{code}", "is_default": True, "default_code": "{code}"},
         bad_cli=("code", "add", "--workspace", "{ws}", "--code", "12")),
    Case("code.remove", with_codes, ("code", "remove", "--code", "{code2}"), ("DELETE", "/codes/{code2}", None),
         "code:{code2}", {"code": "{code2}", "is_default": False}, None),
    Case("code.default", with_codes, ("code", "set-default", "--code", "{code2}"),
         ("POST", "/codes/{code2}/default", None), "code:{code2}", {"default_code": "{code}"},
         {"default_code": "{code2}"}),
    Case("carrier.add", fresh, ("carrier", "add", "--name", "{carrier}", "--connector", "simulator", "--prefix",
                                "58499"), None, "carrier:{carrier}", None,
         {"connector": "simulator", "prefixes": "58499", "is_active": True, "failure_rate": 0.0},
         bad_cli=("carrier", "add", "--name", "{carrier}", "--connector", "pigeon"), workspace=False),
    Case("carrier.edit", with_carrier, ("carrier", "edit", "--name", "{carrier}", "--set", "tps=5"),
         ("PATCH", "/carriers/{carrier}", {"settings": {"tps": 5}}), "carrier:{carrier}", {"tps": None},
         {"tps": 5}, bad_cli=("carrier", "edit", "--name", "{carrier}", "--set", "failure-rate=2"),
         bad_api=("PATCH", "/carriers/{carrier}", {"settings": {"failure_rate": 2}}), workspace=False),
    Case("carrier.edit", with_smpp_carrier, ("carrier", "edit", "--name", "{carrier}", "--password", "s3cr3t"),
         ("PATCH", "/carriers/{carrier}", {"password": "s3cr3t"}), "carrier:{carrier}", {"password_changed": False},
         {"password_changed": True}, bad_cli=("carrier", "edit", "--name", "{carrier}", "--password", ""),
         bad_api=("PATCH", "/carriers/{carrier}", {"password": ""}), workspace=False, secret="s3cr3t"),
    Case("carrier.disable", with_carrier, ("carrier", "disable", "--name", "{carrier}"),
         ("POST", "/carriers/{carrier}/disable", None), "carrier:{carrier}", {"is_active": True},
         {"is_active": False}, workspace=False),
    Case("carrier.enable", with_disabled_carrier, ("carrier", "enable", "--name", "{carrier}"),
         ("POST", "/carriers/{carrier}/enable", None), "carrier:{carrier}", {"is_active": False},
         {"is_active": True}, workspace=False),
    Case("carrier.delete", with_carrier, ("carrier", "delete", "--name", "{carrier}"),
         ("DELETE", "/carriers/{carrier}", None), "carrier:{carrier}", {"connector": "simulator"}, None,
         bad_cli=("carrier", "delete", "--name", "{demo_carrier}"),  # in use
         bad_api=("DELETE", "/carriers/{demo_carrier}", None), workspace=False),
    Case("limit.set", fresh, ("limit", "set", "--workspace", "{ws}", "--class", "sends", "--rate", "5",
                              "--burst", "10"),
         ("PUT", "/workspaces/{ws}/limits", {"class": "sends", "rate_per_s": 5, "burst": 10}), "workspace:{ws}/sends",
         None, {"rate_per_s": 5.0, "burst": 10},
         bad_cli=("limit", "set", "--workspace", "{ws}", "--class", "sends", "--rate=-1", "--burst", "10"),
         bad_api=("PUT", "/workspaces/{ws}/limits", {"class": "sends", "rate_per_s": -1, "burst": 10})),
    Case("limit.clear", with_limit, ("limit", "clear", "--workspace", "{ws}"),
         ("DELETE", "/workspaces/{ws}/limits", None), "workspace:{ws}",
         {"sends": {"rate_per_s": 5.0, "burst": 10}}, {"sends": None},
         bad_cli=("limit", "clear", "--workspace", "{ws}", "--class", "everything"),
         bad_api=("DELETE", "/workspaces/{ws}/limits?class=everything", None)),
    Case("pin_guard.set", fresh, ("pin-guard", "set", "--workspace", "{ws}", "--per-number", "3"),
         ("PATCH", "/workspaces/{ws}/pin-guard", {"per_number": 3}), "workspace:{ws}", {"per_number": None},
         {"per_number": 3}, bad_cli=("pin-guard", "set", "--workspace", "{ws}", "--countries", "Atlantis"),
         bad_api=("PATCH", "/workspaces/{ws}/pin-guard", {"countries": "Atlantis"})),
    Case("pin_guard.clear", with_pin_guard, ("pin-guard", "clear", "--workspace", "{ws}"),
         ("DELETE", "/workspaces/{ws}/pin-guard", None), "workspace:{ws}", {"per_number": 3}, {"per_number": None}),
    Case("credit.top_up", fresh, ("credit", "top-up", "--workspace", "{ws}", "--amount", "25", "--reason", "march"),
         ("POST", "/workspaces/{ws}/credit/top-ups", {"amount": "25", "reason": "march"}), "workspace:{ws}",
         {"balance": None}, {"balance": SET, "amount": SET, "reason": "march"},
         bad_cli=("credit", "top-up", "--workspace", "{ws}", "--amount", "lots"),
         bad_api=("POST", "/workspaces/{ws}/credit/top-ups", {"amount": "lots"})),
    Case("credit.threshold", fresh, ("credit", "threshold", "--workspace", "{ws}", "--amount", "5"),
         ("PATCH", "/workspaces/{ws}/credit", {"low_balance": "5"}), "workspace:{ws}", {"low_balance": None},
         {"low_balance": SET}, bad_cli=("credit", "threshold", "--workspace", "{ws}", "--amount=-5"),
         bad_api=("PATCH", "/workspaces/{ws}/credit", {"low_balance": "-5"})),
    Case("price.set", fresh, ("price", "set", "--workspace", "{ws}", "--per-segment", "0.01"),
         ("POST", "/workspaces/{ws}/prices", {"per_segment": "0.01"}), "workspace:{ws}", None,
         {"carrier": "*", "prefix": "", "per_segment": SET},
         bad_cli=("price", "set", "--workspace", "{ws}", "--per-segment", "0.01", "--carrier", "nobody"),
         bad_api=("POST", "/workspaces/{ws}/prices", {"per_segment": "0.01", "carrier": "nobody"})),
    Case("price.clear", with_price, ("price", "clear", "--workspace", "{ws}"),
         ("DELETE", "/workspaces/{ws}/prices", None), "workspace:{ws}", {"prices": [SET]},
         {"prices": [], "removed": 1}),
]


def _name(case: Case) -> str:
    words = case.cli or case.api or ()
    return f"{case.action}:{'-'.join(w for w in words[:3] if '{' not in w and '/' not in w)}"


# -- running a case -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = make_server(tmp_path_factory.mktemp("audit"))
    server.start()
    try:
        with server.admin_api() as admin:
            World.ok(admin.post("/users", json={"email": VIEWER}))
            viewer = World.ok(admin.post(f"/users/{VIEWER}/tokens", json={"scope": "write"}))["token"]
            yield World(server, admin, {"Authorization": f"Bearer {viewer}"})
    finally:
        server.stop()


def _filled(value: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ctx)
    if isinstance(value, dict):
        return {k: _filled(v, ctx) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_filled(v, ctx) for v in value)
    return value


def _last_id(server: Server) -> int:
    return server.query("SELECT COALESCE(MAX(id), 0) FROM audit_log")[0][0]


def _entries_since(server: Server, last: int) -> list[dict[str, Any]]:
    rows = server.query("SELECT actor, action, subject, workspace_id, before, after FROM audit_log WHERE id > ? "
                        "ORDER BY id", last)
    return [{"actor": a, "action": act, "subject": s, "workspace_id": ws, "raw": (b or "") + (af or ""),
             "before": json.loads(b) if b else None, "after": json.loads(af) if af else None}
            for a, act, s, ws, b, af in rows]


def _holds(entry_part: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    if expected is None:
        return entry_part is None
    return entry_part is not None and all(k in entry_part and expected[k] == entry_part[k] for k in expected)


def _cli_refused(server: Server, args: list[str]) -> str:
    done = run_mecm(["admin", *args, "--json"], env=server.env)
    assert done.returncode == 2, done.stdout + done.stderr
    return json.loads(done.stdout)["error"]


def _assert_entry(world: World, case: Case, ctx: dict[str, Any], last: int, actor: str) -> None:
    entries = _entries_since(world.server, last)
    assert [e["action"] for e in entries] == [*case.also, case.action], entries
    entry = entries[-1]
    assert (entry["actor"], entry["subject"]) == (actor, _filled(case.subject, ctx))
    assert entry["workspace_id"] == (ctx["ws"] if case.workspace else None)
    assert _holds(entry["before"], _filled(case.before, ctx)), entry["before"]
    assert _holds(entry["after"], _filled(case.after, ctx)), entry["after"]
    if case.secret is not None:
        assert all(case.secret not in e["raw"] for e in entries)


@pytest.mark.parametrize("case", [c for c in CASES if c.cli], ids=_name)
def test_a_change_through_the_cli_writes_its_entry_and_a_refused_one_none(world: World, case: Case) -> None:
    ctx = case.setup(world)
    if case.bad_cli is not None:
        last = _last_id(world.server)
        _cli_refused(world.server, _filled(list(case.bad_cli), ctx))
        assert _entries_since(world.server, last) == []
    last = _last_id(world.server)
    world.server.cli("admin", *_filled(list(case.cli or ()), ctx))
    _assert_entry(world, case, ctx, last, CLI_ACTOR)


@pytest.mark.parametrize("case", [c for c in CASES if c.api], ids=_name)
def test_a_change_through_the_api_writes_its_entry_and_a_refused_one_none(world: World, case: Case) -> None:
    ctx = case.setup(world)
    method, path, body = _filled(case.api, ctx)
    last = _last_id(world.server)
    forbidden = world.admin.request(method, path, json=body, headers=world.viewer)
    assert forbidden.status_code == 403, forbidden.text
    if case.bad_api is not None:
        bad_method, bad_path, bad_body = _filled(case.bad_api, ctx)
        refused = world.admin.request(bad_method, bad_path, json=bad_body)
        assert refused.status_code == 400, refused.text
    assert _entries_since(world.server, last) == []
    World.ok(world.admin.request(method, path, json=body))
    _assert_entry(world, case, ctx, last, "admin-token")


# -- around the table -----------------------------------------------------------------------------


def test_an_empty_password_typed_at_ask_password_is_refused_and_the_old_one_kept(world: World) -> None:
    ctx = with_smpp_carrier(world)
    stored = world.server.query("SELECT settings FROM carriers WHERE name = ?", ctx["carrier"])[0][0]
    last = _last_id(world.server)
    done = run_mecm(["admin", "carrier", "edit", "--name", ctx["carrier"], "--ask-password"],
                    env=world.server.env, input="\n")
    assert done.returncode == 2
    assert "password: nothing was typed: the carrier keeps its old password" in done.stderr
    assert world.server.query("SELECT settings FROM carriers WHERE name = ?", ctx["carrier"])[0][0] == stored
    assert _entries_since(world.server, last) == []
    # a password typed is taken (and audited as changed, never shown)
    done = run_mecm(["admin", "carrier", "edit", "--name", ctx["carrier"], "--ask-password", "--json"],
                    env=world.server.env, input="n3wpw\n")
    assert done.returncode == 0 and "n3wpw" not in done.stdout + done.stderr
    [entry] = _entries_since(world.server, last)
    assert entry["after"] == {"password_changed": True} and "n3wpw" not in entry["raw"]


def test_the_audit_log_is_read_by_workspace_user_action_and_time_in_both_ways(world: World) -> None:
    server = world.server
    ctx = with_carrier(world)
    ws = ctx["ws"]
    server.cli("admin", "workspace", "edit", "--workspace", str(ws), "--name", "Read me")
    World.ok(world.admin.patch(f"/carriers/{ctx['carrier']}", json={"settings": {"failure_rate": 0.5}}))
    entries = server.cli("admin", "audit", "list", "--workspace", str(ws), "--action", "workspace.edit")["entries"]
    assert [(e["actor"], e["before"], e["after"]) for e in entries] == \
        [(CLI_ACTOR, {"name": f"w{ctx['n']}"}, {"name": "Read me"})]
    shown = World.ok(world.admin.get("/audit", params={"action": "carrier", "user": "admin-token", "limit": 1}))
    [edit] = shown["entries"]
    assert (edit["action"], edit["subject"], edit["before"], edit["after"]) == \
        ("carrier.edit", f"carrier:{ctx['carrier']}", {"failure_rate": 0.0}, {"failure_rate": 0.5})

    at = datetime.fromisoformat(edit["at"])  # to the second, in UTC
    around = {"since": at.isoformat(), "until": (at + timedelta(seconds=1)).isoformat(), "action": "carrier.edit"}
    # Both ends are included. Another carrier edit of this module may share the edit's second: the
    # window holds the edit and nothing from outside it, and a window that ends before it misses it.
    inside = World.ok(world.admin.get("/audit", params=around))["entries"]
    assert edit["id"] in [e["id"] for e in inside]
    assert all(at <= datetime.fromisoformat(e["at"]) <= at + timedelta(seconds=1) for e in inside)
    earlier = {"until": (at - timedelta(seconds=1)).isoformat(), "action": "carrier.edit"}
    assert edit["id"] not in [e["id"] for e in World.ok(world.admin.get("/audit", params=earlier))["entries"]]
    later = World.ok(world.admin.get("/audit", params={"since": "2999-01-01T00:00:00", "action": "carrier"}))
    assert later["entries"] == []
    assert server.cli("admin", "audit", "list", "--until", "2000-01-01", "--action", "carrier")["entries"] == []
    for params, parameter in [({"since": "yesterday"}, "since"), ({"action": "carrier edit"}, "action"),
                              ({"since": "2026-02-01", "until": "2026-01-01"}, "until")]:
        refused = world.admin.get("/audit", params=params)
        assert refused.status_code == 400 and refused.json()["parameter"] == parameter, refused.text
    assert _cli_refused(server, ["audit", "list", "--since", "yesterday"]).startswith("Invalid parameter since")


def test_the_audit_table_fits_the_terminal_and_shows_what_changed(world: World) -> None:
    ctx = world.workspace()
    world.server.cli("admin", "workspace", "edit", "--workspace", str(ctx["ws"]), "--name", "Table",
                     "--timezone", "Europe/Madrid")
    env = {**world.server.env, "COLUMNS": "100"}
    done = run_mecm(["admin", "audit", "list", "--workspace", str(ctx["ws"]), "--action", "workspace.edit"],
                    env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "workspace.edit" in done.stdout and "change" in done.stdout and "->" in done.stdout
    wide = run_mecm(["admin", "audit", "list", "--workspace", str(ctx["ws"]), "--action", "workspace.edit",
                     "--wide"], env=env)
    assert "name: w" in wide.stdout and "-> Table" in wide.stdout and "timezone: UTC -> Europe/Madrid" in wide.stdout
