"""``mecm admin ...``: direct administration of the database (the running server picks changes up
within ``catalog_refresh_s``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from sqlalchemy import Connection

from mecm.cli.output import JsonOption, emit, emit_table, friendly_errors
from mecm.cli.server import open_store
from mecm.config import load_settings
from mecm.store import admin as store_admin
from mecm.store.crypto import Vault

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True)
workspace_app = typer.Typer(no_args_is_help=True, help="Workspaces (the API's instanceId).")
key_app = typer.Typer(no_args_is_help=True, help="API key pairs.")
code_app = typer.Typer(no_args_is_help=True, help="Short and long codes.")
carrier_app = typer.Typer(no_args_is_help=True, help="Carriers (connections to operators).")
campaign_app = typer.Typer(no_args_is_help=True, help="Keyword campaigns.")
app.add_typer(workspace_app, name="workspace")
app.add_typer(key_app, name="key")
app.add_typer(code_app, name="code")
app.add_typer(carrier_app, name="carrier")
app.add_typer(campaign_app, name="campaign")


def _in_transaction(as_json: bool, action: Callable[[Connection, Vault], T]) -> T:
    with friendly_errors(as_json):
        engine, vault = open_store(load_settings())
        try:
            with engine.begin() as connection:
                return action(connection, vault)
        finally:
            engine.dispose()
    raise AssertionError("unreachable")


@workspace_app.command("create")
def workspace_create(
    name: str = typer.Option(..., help="Workspace name."),
    timezone: str = typer.Option("America/Caracas", help="IANA time zone for dates in responses."),
    default_carrier: str = typer.Option(None, help="Carrier for carrier=null when routing finds none."),
    as_json: bool = JsonOption,
) -> None:
    ws = _in_transaction(as_json, lambda c, _: store_admin.create_workspace(c, name, timezone, default_carrier))
    emit(ws, as_json, f"workspace {ws['instance_id']} ({name}) created")


@workspace_app.command("list")
def workspace_list(as_json: bool = JsonOption) -> None:
    emit_table("workspaces", _in_transaction(as_json, lambda c, _: store_admin.list_workspaces(c)), as_json,
               "Workspaces")


@workspace_app.command("set-default-carrier")
def workspace_set_default_carrier(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    carrier: str = typer.Option(..., help="Carrier name."),
    as_json: bool = JsonOption,
) -> None:
    _in_transaction(as_json, lambda c, _: store_admin.set_default_carrier(c, workspace, carrier))
    emit({"instance_id": workspace, "default_carrier": carrier}, as_json, "default carrier set")


@key_app.command("create")
def key_create(workspace: int = typer.Option(..., help="Workspace (instance) id."), as_json: bool = JsonOption) -> None:
    """Create a key pair. The private key is shown now and never again."""
    pair = _in_transaction(as_json, lambda c, v: store_admin.create_key(c, v, workspace))
    obj = {"instance_id": pair.workspace_id, "public_key": pair.public_key, "private_key": pair.private_key}
    emit(obj, as_json, f"public key : {pair.public_key}\nprivate key: {pair.private_key}\n"
                       "(the private key is not shown again)")


@key_app.command("revoke")
def key_revoke(public_key: str = typer.Option(..., help="The public key to revoke."), as_json: bool = JsonOption) -> None:
    _in_transaction(as_json, lambda c, _: store_admin.revoke_key(c, public_key))
    emit({"public_key": public_key, "revoked": True}, as_json, f"key {public_key} revoked")


@key_app.command("list")
def key_list(workspace: int = typer.Option(None, help="Only this workspace."), as_json: bool = JsonOption) -> None:
    emit_table("keys", _in_transaction(as_json, lambda c, _: store_admin.list_keys(c, workspace)), as_json, "Keys")


@code_app.command("add")
def code_add(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: str = typer.Option(..., help="Short or long code (digits)."),
    default: bool = typer.Option(False, "--default", help="The code fireMessage GET receives on."),
    as_json: bool = JsonOption,
) -> None:
    row = _in_transaction(as_json, lambda c, _: store_admin.add_code(c, workspace, code, default))
    emit(row, as_json, f"code {row['code']} assigned to workspace {workspace}")


@code_app.command("list")
def code_list(workspace: int = typer.Option(None, help="Only this workspace."), as_json: bool = JsonOption) -> None:
    emit_table("codes", _in_transaction(as_json, lambda c, _: store_admin.list_codes(c, workspace)), as_json, "Codes")


@carrier_app.command("add")
def carrier_add(
    name: str = typer.Option(..., help="Carrier name, as used in the API (case-sensitive)."),
    connector: str = typer.Option(..., help="Connector: simulator."),
    prefix: list[str] = typer.Option(None, help="Number prefix routed to this carrier (repeatable)."),
    delivery_delay_ms: int = typer.Option(50, help="simulator: receipt delay."),
    failure_rate: float = typer.Option(0.0, help="simulator: share of messages UNDELIVERED (0 to 1)."),
    as_json: bool = JsonOption,
) -> None:
    settings: dict[str, Any] = {}
    if connector == "simulator":
        settings = {"delivery_delay_ms": delivery_delay_ms, "failure_rate": failure_rate}
    row = _in_transaction(as_json, lambda c, _: store_admin.add_carrier(c, name, connector, prefix, settings))
    emit(row, as_json, f"carrier {name} ({connector}) added")


@carrier_app.command("list")
def carrier_list(as_json: bool = JsonOption) -> None:
    emit_table("carriers", _in_transaction(as_json, lambda c, _: store_admin.list_carriers(c)), as_json, "Carriers")


@campaign_app.command("add")
def campaign_add(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    code: str = typer.Option(..., help="The code the campaign listens on."),
    name: str = typer.Option(..., help="Campaign name."),
    keyword: str = typer.Option(..., help="Regular expression searched in the MO text (case-insensitive)."),
    reply: str = typer.Option(..., help="Reply text sent to the subscriber."),
    priority: int = typer.Option(100, help="Lower runs first."),
    as_json: bool = JsonOption,
) -> None:
    row = _in_transaction(
        as_json, lambda c, _: store_admin.add_campaign(c, workspace, code, name, keyword, reply, priority)
    )
    emit(row, as_json, f"campaign {row['id']} ({name}) added")


@campaign_app.command("list")
def campaign_list(workspace: int = typer.Option(None, help="Only this workspace."), as_json: bool = JsonOption) -> None:
    rows = _in_transaction(as_json, lambda c, _: store_admin.list_campaigns(c, workspace))
    emit_table("campaigns", rows, as_json, "Campaigns")
