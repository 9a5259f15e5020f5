"""``mecm admin ...``: direct administration of the database (the running server picks changes up
within ``catalog_refresh_s``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mecm.cli import (admin_campaigns, admin_credit, admin_keys, admin_limits, admin_lists, admin_optout,
                      admin_records, admin_users, admin_webhook)
from mecm.cli.transaction import in_transaction as _in_transaction
from mecm.cli.output import JsonOption, WideOption, emit, emit_table, friendly_errors
from mecm.config import Settings, load_settings
from mecm.errors import ConfigError, Unknown

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mecm.services.catalog import Catalog
    from mecm.store.crypto import Vault

app = typer.Typer(no_args_is_help=True)
workspace_app = typer.Typer(no_args_is_help=True, help="Workspaces (the API's instanceId).")
code_app = typer.Typer(no_args_is_help=True, help="Short and long codes.")
carrier_app = typer.Typer(no_args_is_help=True, help="Carriers (connections to operators).")
route_app = typer.Typer(no_args_is_help=True, help="Routing of numbers to carriers.")
app.add_typer(workspace_app, name="workspace")
app.add_typer(admin_keys.app, name="key")
app.add_typer(code_app, name="code")
app.add_typer(carrier_app, name="carrier")
app.add_typer(admin_campaigns.campaign_app, name="campaign")
app.add_typer(route_app, name="route")
app.add_typer(admin_optout.app, name="optout")
app.add_typer(admin_webhook.app, name="webhook")
app.add_typer(admin_records.message_app, name="message")
app.add_typer(admin_records.mo_app, name="mo")
app.add_typer(admin_lists.list_app, name="list")
app.add_typer(admin_lists.broadcast_app, name="broadcast")
app.add_typer(admin_credit.credit_app, name="credit")
app.add_typer(admin_credit.price_app, name="price")
app.add_typer(admin_limits.limit_app, name="limit")
app.add_typer(admin_limits.pin_guard_app, name="pin-guard")
app.add_typer(admin_users.user_app, name="user")
app.add_typer(admin_users.token_app, name="token")
app.add_typer(admin_users.audit_app, name="audit")



@workspace_app.command("create")
def workspace_create(
    name: str = typer.Option(..., help="Workspace name."),
    timezone: str = typer.Option("America/Caracas", help="IANA time zone for dates in responses."),
    default_carrier: str = typer.Option(None, help="Carrier for carrier=null when routing finds none."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    ws = _in_transaction(as_json, lambda c, _: workspaces.create_workspace(c, name, timezone, default_carrier,
                                                                           actor=actor))
    emit(ws, as_json, f"workspace {ws['instance_id']} ({name}) created")


# "workspace list" is cli/workspace_list.py: the front door runs it without typer (cli/front.py).


@workspace_app.command("edit")
def workspace_edit(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    name: str = typer.Option(None, help="New name."),
    timezone: str = typer.Option(None, help="New IANA time zone (dates in answers, quiet hours)."),
    default_carrier: str = typer.Option(None, help="Carrier for carrier=null when routing finds none; '' for none."),
    as_json: bool = JsonOption,
) -> None:
    """Rename a workspace, or change its time zone or default carrier (what is given)."""
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: workspaces.update_workspace(
        c, workspace, actor=actor, name=name, timezone=timezone, default_carrier=default_carrier))
    emit(row, as_json, f"workspace {workspace} ({row['name']}): time zone {row['timezone']}, "
                       f"default carrier {row['default_carrier'] or 'none'}")


@workspace_app.command("archive")
def workspace_archive(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    as_json: bool = JsonOption,
) -> None:
    """Stop a workspace: its keys answer BAD_SIGNATURE, its campaigns stop answering, lists hide it.
    Its history stays; "workspace restore" brings it back."""
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor
    from mecm.services.key_use import wall_clock_ms

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: workspaces.archive_workspace(c, workspace, now_ms=wall_clock_ms(),
                                                                             actor=actor))
    emit(row, as_json, f"workspace {workspace} ({row['name']}) archived")


@workspace_app.command("restore")
def workspace_restore(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    as_json: bool = JsonOption,
) -> None:
    """Bring an archived workspace back: its keys that were not revoked or expired work again."""
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: workspaces.restore_workspace(c, workspace, actor=actor))
    emit(row, as_json, f"workspace {workspace} ({row['name']}) restored")


@workspace_app.command("set-callback")
def workspace_set_callback(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    url: str = typer.Option(..., help="URL that receives every MT status change (signed JSON); '' to stop."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, v: workspaces.set_status_callback(
        c, v, workspace, url, load_settings().outbound_networks, actor=actor))
    emit(row, as_json, f"status callback of workspace {workspace}: {row['status_callback_url'] or 'none'}")


@workspace_app.command("webhook-secret")
def workspace_webhook_secret(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    rotate: bool = typer.Option(False, "--rotate", help="Replace it with a new one."),
    as_json: bool = JsonOption,
) -> None:
    """The key of X-Mecm-Signature (HMAC-SHA256 of each webhook's body), created on first need."""
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    secret = _in_transaction(as_json, lambda c, v: workspaces.webhook_secret(c, v, workspace, rotate=rotate,
                                                                             actor=actor))
    emit({"instance_id": workspace, "webhook_secret": secret}, as_json, secret)


@workspace_app.command("set-pin-in-response")
def workspace_set_pin_in_response(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    shown: bool = typer.Option(..., "--on/--off", help="--off: sendSMSPinMobileNumberConfirm answers an empty "
                               "<pin/> (clients check PINs with verifyPin); --on: it answers the PIN (the default)."),
    as_json: bool = JsonOption,
) -> None:
    """Whether the PIN send's answer holds the PIN itself."""
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: workspaces.set_pin_in_response(c, workspace, shown, actor=actor))
    emit(row, as_json, f"PIN in the answers of workspace {workspace}: {'on' if shown else 'off'}")


@workspace_app.command("set-default-carrier")
def workspace_set_default_carrier(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    carrier: str = typer.Option(..., help="Carrier name."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import workspaces
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: workspaces.set_default_carrier(c, workspace, carrier, actor=actor))
    emit(row, as_json, "default carrier set")


@code_app.command("add")
def code_add(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: str = typer.Option(..., help="Short or long code (digits)."),
    default: bool = typer.Option(False, "--default", help="The code fireMessage GET receives on."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import codes
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: codes.add_code(c, workspace, code, default, actor=actor))
    emit(row, as_json, f"code {row['code']} assigned to workspace {workspace}")


@code_app.command("remove")
def code_remove(
    code: str = typer.Option(..., help="The code to free (refused while a campaign or broadcast uses it)."),
    as_json: bool = JsonOption,
) -> None:
    """Take a code from its workspace; its messages keep it in their history."""
    from mecm.services.admin import codes
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: codes.remove_code(c, code, actor=actor))
    emit(row, as_json, f"code {row['code']} removed from workspace {row['workspace_id']}")


@code_app.command("set-default")
def code_set_default(
    code: str = typer.Option(..., help="The code fireMessage GET receives on, in its workspace."),
    as_json: bool = JsonOption,
) -> None:
    """Make a code its workspace's default (its other codes stop being it)."""
    from mecm.services.admin import codes
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: codes.set_default_code(c, code, actor=actor))
    emit(row, as_json, f"code {row['code']} is the default of workspace {row['workspace_id']}")


@code_app.command("list")
def code_list(workspace: int = typer.Option(None, help="Only this workspace."), wide: bool = WideOption,
              as_json: bool = JsonOption) -> None:
    from mecm.services.admin import codes

    emit_table("codes", _in_transaction(as_json, lambda c, _: codes.list_codes(c, workspace)), as_json, "Codes",
               wide=wide)


@carrier_app.command("add")
def carrier_add(
    name: str = typer.Option(..., help="Carrier name, as used in the API (case-sensitive)."),
    connector: str = typer.Option(..., help="Connector: simulator or smpp."),
    prefix: list[str] = typer.Option(None, help="Number prefix routed to this carrier (repeatable)."),
    delivery_delay_ms: int = typer.Option(50, help="simulator: receipt delay."),
    failure_rate: float = typer.Option(0.0, help="simulator: share of messages UNDELIVERED (0 to 1)."),
    host: str = typer.Option(None, help="smpp: SMSC host."),
    port: int = typer.Option(None, help="smpp: SMSC port."),
    system_id: str = typer.Option(None, help="smpp: system_id (login)."),
    password: str = typer.Option(
        None, envvar="MECM_SMPP_PASSWORD",
        help="smpp: password, stored encrypted (env MECM_SMPP_PASSWORD; asked for when missing).",
    ),
    system_type: str = typer.Option(None, help="smpp: system_type, when the carrier wants one."),
    bind: str = typer.Option(None, help="smpp: transceiver (default) or tx-rx (a transmitter and a receiver)."),
    window: int = typer.Option(None, help="smpp: submits awaiting a response, at most (default 10)."),
    tps: float = typer.Option(None, help="Submits per second, one per part (smpp and simulator); 0 = no limit (default 0)."),
    tls: bool = typer.Option(None, "--tls/--no-tls", help="smpp: connect over TLS (default no)."),
    tls_verify: bool = typer.Option(None, "--tls-verify/--no-tls-verify", help="smpp: check the TLS certificate (default yes)."),
    tls_ca: str = typer.Option(None, "--tls-ca", help="smpp: PEM file of CA certificates to trust (a private CA)."),
    concat: str = typer.Option(None, help="smpp: long messages as udh (default), sar or payload."),
    gsm_packed: bool = typer.Option(None, "--gsm-packed/--no-gsm-packed", help="smpp: pack GSM 7-bit text (default no)."),
    on_unknown: str = typer.Option(None, help="smpp: a submit with a lost answer: query (default), resend or fail."),
    enquire_link_s: float = typer.Option(None, help="smpp: seconds between enquire_link; a peer silent that long is dead (default 30)."),
    id_format: str = typer.Option(None, help="smpp: as-is (default), decimal or hex: how receipt ids meet submit ids."),
    throttle_pause_s: float = typer.Option(
        None, help="smpp: pause after the SMSC throttles us; doubles while throttles go on, up to 30x (default 1)."
    ),
    supports_query: bool = typer.Option(
        None, "--supports-query/--no-supports-query",
        help="smpp: the SMSC answers query_sm (default yes); with no, on-unknown=query resends.",
    ),
    mo_reassembly_s: float = typer.Option(
        None, help="smpp: seconds to wait for the missing parts of a long MO before taking it as it is (default 60)."
    ),
    reconnect_base_s: float = typer.Option(None, help="smpp: first wait before a rebind (default 1)."),
    reconnect_max_s: float = typer.Option(None, help="smpp: longest wait between rebinds (default 60)."),
    max_binds: int = typer.Option(
        None, help="PostgreSQL: connections to the carrier across all delivery workers, at most (default 1)."
    ),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import carriers
    from mecm.services.admin.audit import cli_actor

    settings: dict[str, Any] = {}
    if connector == "simulator":
        settings = {"delivery_delay_ms": delivery_delay_ms, "failure_rate": failure_rate}
        if tps is not None:
            settings["tps"] = tps
    elif connector == "smpp":
        if password is None and system_id is not None:
            password = typer.prompt("SMPP password", hide_input=True, default="", show_default=False)
        given = {
            "host": host, "port": port, "system_id": system_id, "password": password,
            "system_type": system_type, "bind": bind, "window": window, "tps": tps, "tls": tls,
            "tls_verify": tls_verify, "tls_ca": str(Path(tls_ca).resolve()) if tls_ca else None,  # the worker's cwd
            "concat": concat, "gsm_packed": gsm_packed, "on_unknown": on_unknown,
            "enquire_link_s": enquire_link_s, "id_format": id_format, "throttle_pause_s": throttle_pause_s,
            "supports_query": supports_query, "mo_reassembly_s": mo_reassembly_s,
            "reconnect_base_s": reconnect_base_s, "reconnect_max_s": reconnect_max_s,
        }
        settings = {k: v for k, v in given.items() if v is not None}
    if max_binds is not None:
        settings["max_binds"] = max_binds
    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, v: carriers.add_carrier(c, name, connector, prefix, settings, v,
                                                                     actor=actor))
    emit(row, as_json, f"carrier {name} ({connector}) added")


@carrier_app.command("edit")
def carrier_edit(
    name: str = typer.Option(..., help="The carrier's name."),
    setting: list[str] = typer.Option(None, "--set", help="SETTING=VALUE, as 'carrier add' takes it (e.g. "
                                      "port=2776, tps=50, failure-rate=0.1); repeatable. The others stay."),
    prefix: list[str] = typer.Option(None, help="The prefixes routed to it, replacing the old ones (repeatable)."),
    no_prefixes: bool = typer.Option(False, "--no-prefixes", help="Route no prefix to it."),
    password: str = typer.Option(None, help="smpp: a new password, stored encrypted (never printed)."),
    ask_password: bool = typer.Option(False, "--ask-password", help="smpp: ask for a new password (not echoed)."),
    as_json: bool = JsonOption,
) -> None:
    """Change a carrier's settings, password or prefixes, checked as when it was added. A running
    worker reconnects it with them at its next catalog refresh."""
    from mecm.errors import InvalidParameter
    from mecm.services.admin import carriers
    from mecm.services.admin.audit import cli_actor

    with friendly_errors(as_json):
        if ask_password:
            password = typer.prompt("SMPP password", hide_input=True, default="", show_default=False)
            if not password:  # Enter alone: no new password; the old one stays
                raise InvalidParameter("password", "nothing was typed: the carrier keeps its old password")
        settings = _settings_given(setting or [])
    if password is not None:
        settings["password"] = password
    prefixes = [] if no_prefixes else (prefix or None)
    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, v: carriers.update_carrier(c, name, actor=actor, prefixes=prefixes,
                                                                        settings=settings, vault=v))
    emit(row, as_json, f"carrier {name} changed")


@carrier_app.command("disable")
def carrier_disable(name: str = typer.Option(..., help="The carrier's name."), as_json: bool = JsonOption) -> None:
    """No new message goes to it (routing skips it, a send naming it is BAD_CARRIER); those queued
    to it wait, attempts unspent, until it is enabled again or they expire."""
    from mecm.services.admin import carriers
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: carriers.set_carrier_enabled(c, name, enabled=False, actor=actor))
    emit(row, as_json, f"carrier {name} disabled")


@carrier_app.command("enable")
def carrier_enable(name: str = typer.Option(..., help="The carrier's name."), as_json: bool = JsonOption) -> None:
    """Take messages again; those that waited are sent."""
    from mecm.services.admin import carriers
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: carriers.set_carrier_enabled(c, name, enabled=True, actor=actor))
    emit(row, as_json, f"carrier {name} enabled")


@carrier_app.command("delete")
def carrier_delete(name: str = typer.Option(..., help="The carrier's name."), as_json: bool = JsonOption) -> None:
    """Delete a carrier nothing uses (the refusal names what does); its messages keep its name."""
    from mecm.services.admin import carriers
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: carriers.delete_carrier(c, name, actor=actor))
    emit(row, as_json, f"carrier {name} deleted")


def _settings_given(pairs: list[str]) -> dict[str, Any]:
    """``--set`` pairs as settings: numbers and true/false as such, anything else as text."""
    import json

    from mecm.errors import InvalidParameter

    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameter("set", f"{pair!r} is not SETTING=VALUE")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if not isinstance(value, (int, float, bool)) or value != value:  # NaN stays text (and is refused)
            value = raw
        settings[key.strip().replace("-", "_")] = value
    if isinstance(settings.get("tls_ca"), str) and settings["tls_ca"]:
        settings["tls_ca"] = str(Path(settings["tls_ca"]).resolve())  # the worker's cwd is not this one
    return settings


@carrier_app.command("list")
def carrier_list(wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    from mecm.services.admin import carriers

    emit_table("carriers", _in_transaction(as_json, lambda c, _: carriers.list_carriers(c)), as_json, "Carriers",
               wide=wide)


@carrier_app.command("status")
def carrier_status(
    host: str = typer.Option(None, help="The running server's address [env MECM_HOST]."),
    port: int = typer.Option(None, help="The running server's port [env MECM_PORT]."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """Binds, window, rate and counters of each carrier, as the running server sees them (on a
    worker node, with no server: as the delivery worker of this machine sees them)."""
    import httpx

    with friendly_errors(as_json):
        settings = load_settings(host=host, port=port)
        url = f"http://{settings.host}:{settings.port}/admin/carriers/status"
        try:
            headers = {"Authorization": f"Bearer {settings.ops_token}"} if settings.ops_token else {}
            response = httpx.get(url, headers=headers, timeout=10)
        except httpx.HTTPError as error:
            carriers = _from_this_machines_worker(settings)
            if carriers is None:
                raise ConfigError(f"cannot read {url}: {error}, and no delivery worker of this database runs on "
                                  "this machine (is `mecm serve` or `mecm worker` running?)") from None
        else:
            carriers = _from_the_server(url, response)
    if as_json:
        emit({"carriers": carriers}, True)
        return
    emit_table("carriers", [_status_row(c) for c in carriers], False, "Carriers", wide=wide)


def _from_the_server(url: str, response: Any) -> list[dict[str, Any]]:
    if response.status_code == 503:
        raise ConfigError(f"{url}: the server answers, but no delivery worker is running (it may be "
                          "starting or restarting; with `serve --delivery none`, start `mecm worker`)")
    if response.status_code == 401:
        raise ConfigError(f"{url}: the server wants its ops token (set ops_token / MECM_OPS_TOKEN "
                          "here to the server's)")
    if response.status_code != 200:
        raise ConfigError(f"cannot read {url}: HTTP {response.status_code}")
    return response.json()["carriers"]


def _from_this_machines_worker(settings: Settings) -> list[dict[str, Any]] | None:
    """The carriers' status from the delivery worker of this machine, asked on its status socket
    (delivery/worker_link.py), as an API process of this machine asks it; None if none answers."""
    import asyncio

    from mecm.delivery import worker_link

    address = worker_link.address(worker_link.link_key(settings.database_url), "status", settings.var_path)
    return asyncio.run(worker_link.read_status(address))


def _status_row(status: dict[str, Any]) -> dict[str, Any]:
    sessions = status.get("sessions") or {}
    row = {
        "carrier": status.get("carrier"),
        "connector": status.get("connector"),
        "binds": ", ".join(f"{role}: {state}" for role, state in sessions.items()) or status.get("state", ""),
    }
    # Every row has every column (the table takes its columns from the first row): a carrier
    # without a window (the simulator) shows them empty.
    counters = ("submits", "throttled", "in_doubt", "reconnects")
    row.update({"window": "", "tps now/max": "", **dict.fromkeys(counters, "")})
    if "window" in status:
        configured = status.get("tps") or "no limit"
        row.update({
            "window": f"{status['window_in_use']}/{status['window']}",
            "tps now/max": f"{status.get('current_tps', 0)}/{configured}",
            **{k: status.get(k, 0) for k in counters},
        })
    return row


@route_app.command("test")
def route_test(
    number: str = typer.Argument(..., help="The mobile number to route."),
    workspace: int = typer.Option(None, help="Workspace (instance) id, for its default carrier."),
    as_json: bool = JsonOption,
) -> None:
    """Which carrier a message to NUMBER with carrier=null goes to, and why."""
    from mecm.domain.phone import normalize_mt_number
    from mecm.services.catalog import load_catalog
    from mecm.services.router import route

    def explain(connection: Connection, vault: Vault) -> dict[str, Any]:
        digits = normalize_mt_number(number, "number")
        catalog = load_catalog(connection, vault)
        ws = None
        if workspace is not None:
            ws = catalog.workspaces.get(workspace)
            if ws is None:
                raise Unknown("workspace", "workspace", workspace)
        carrier = route(digits, catalog, ws)
        return {"number": digits, "carrier": carrier or None, "status": None if carrier else "BAD_CARRIER",
                "reason": _route_reason(digits, catalog, ws, carrier)}

    result = _in_transaction(as_json, explain)
    text = (f"{result['number']} -> {result['carrier']} ({result['reason']})" if result["carrier"]
            else f"{result['number']} -> no carrier: BAD_CARRIER ({result['reason']})")
    emit(result, as_json, text)


def _route_reason(number: str, catalog: Catalog, workspace: Any, carrier: str | None) -> str:
    """Why ``route`` chose ``carrier``, in router order: prefix, phonenumbers hint, workspace default."""
    from mecm.domain.phone import carrier_hint

    if carrier is not None:
        prefixes = [p for p in catalog.carriers[carrier].prefixes if number.startswith(p)]
        if prefixes:
            return f"longest matching prefix {max(prefixes, key=len)!r}"
        hint = carrier_hint(number)
        if hint and hint.lower() == carrier.lower():
            return f"phonenumbers names the operator {hint!r}"
        return f"default carrier of workspace {workspace.id}" if workspace is not None else "router choice"
    hint = carrier_hint(number)
    parts = ["no configured prefix matches"]
    parts.append(f"phonenumbers names {hint!r}, not a configured carrier" if hint
                 else "phonenumbers names no operator")
    if workspace is None:
        parts.append("no workspace given (--workspace)")
    elif workspace.default_carrier:
        parts.append(f"workspace default {workspace.default_carrier!r} is not configured")
    else:
        parts.append(f"workspace {workspace.id} has no default carrier")
    return "; ".join(parts)
