"""``mecm admin limit ...`` (rate limits per workspace and key, by class) and ``mecm admin pin-guard
...`` (the SMS-pumping defence of PIN sends). A running server applies a change within
``catalog_refresh_s``."""

from __future__ import annotations

from typing import Any

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction as _in_transaction
from mecm.config import load_settings

limit_app = typer.Typer(no_args_is_help=True, help="Rate limits (sends, pins, reads) per workspace and per key.")
pin_guard_app = typer.Typer(no_args_is_help=True,
                            help="PIN sends per number and per block of numbers, and the countries PINs may go to.")

_CLASS_HELP = "sends (sendSMS, sendMT, fireMessage), pins (sendSMSPinMobileNumberConfirm, verifyPin) or reads " \
              "(getMOMessages, getMessage)."


@limit_app.command("set")
def limit_set(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    key: str = typer.Option(None, help="Only this public key of the workspace (default: the whole workspace)."),
    limit_class: str = typer.Option(..., "--class", help=_CLASS_HELP),
    rate: str = typer.Option(..., help="Requests per second, sustained (e.g. 50 or 0.5)."),
    burst: str = typer.Option(..., help="Requests allowed at once after a quiet time (a whole number)."),
    as_json: bool = JsonOption,
) -> None:
    """Give the workspace, or one of its keys, its own limit for a class (replacing the one it had)."""
    from mecm.services.admin import limits
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: limits.set_limit(c, workspace, key, limit_class, rate, burst,
                                                                 actor=actor))
    emit(row, as_json, f"{row['class']} of {_who(row)}: {row['rate_per_s']:g}/s, burst {row['burst']}")


@limit_app.command("list")
def limit_list(workspace: int = typer.Option(None, help="Only this workspace, with the defaults it has."),
               wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    """The limits set; for one workspace, also the settings' defaults of the classes it has none of."""
    from mecm.services.admin import limits

    rows = _in_transaction(as_json, lambda c, _: limits.list_limits(c, workspace, load_settings()))
    emit_table("limits", rows, as_json, "Rate limits", wide=wide)


@limit_app.command("clear")
def limit_clear(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    key: str = typer.Option(None, help="Only this public key's limits (default: the workspace's own)."),
    limit_class: str = typer.Option(None, "--class", help="Only this class (default: every class)."),
    as_json: bool = JsonOption,
) -> None:
    """Remove limits set: the workspace is back to the settings' defaults, a key to its workspace's."""
    from mecm.services.admin import limits
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = _in_transaction(as_json, lambda c, _: limits.clear_limit(c, workspace, key, limit_class, actor=actor))
    emit(row, as_json, f"{row['removed']} limit(s) of {_who(row)} removed")


def _who(row: dict[str, Any]) -> str:
    return f"key {row['key']}" if row["key"] else f"workspace {row['instance_id']}"


@pin_guard_app.command("set")
def pin_guard_set(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    per_number: int = typer.Option(None, help="PIN sends to one number per window (pin_send_window_s); 0: no limit."),
    per_block: int = typer.Option(None, help="PIN sends to one block of 10,000 numbers (the number without its "
                                             "last 4 digits) per window; 0: no limit."),
    countries: str = typer.Option(None, help="Comma list of ISO 3166 regions PINs may go to (e.g. US,CA); '' for any."),
    as_json: bool = JsonOption,
) -> None:
    """Change the parts given; the others keep what they were (the settings' defaults until set)."""
    from mecm.services.admin import limits
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    policy = _in_transaction(as_json, lambda c, _: limits.set_pin_guard(
        c, workspace, load_settings(), actor=actor, per_number=per_number, per_block=per_block, countries=countries))
    emit(policy, as_json, _describe(policy))


@pin_guard_app.command("show")
def pin_guard_show(workspace: int = typer.Option(..., help="Workspace (instance) id."),
                   as_json: bool = JsonOption) -> None:
    """The limits in force for the workspace's PIN sends."""
    from mecm.services.admin import limits

    policy = _in_transaction(as_json, lambda c, _: limits.pin_guard(c, workspace, load_settings()))
    emit(policy, as_json, _describe(policy))


@pin_guard_app.command("clear")
def pin_guard_clear(workspace: int = typer.Option(..., help="Workspace (instance) id."),
                    as_json: bool = JsonOption) -> None:
    """Back to the settings' defaults, and PINs to any country."""
    from mecm.services.admin import limits
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    policy = _in_transaction(as_json, lambda c, _: limits.clear_pin_guard(c, workspace, load_settings(), actor=actor))
    emit(policy, as_json, _describe(policy))


def _describe(row: dict[str, Any]) -> str:
    def limit(n: int) -> str:
        return f"{n} per {row['window_s']} s" if n else "no limit"

    countries = ", ".join(row["countries"]) or "any"
    return (f"workspace {row['instance_id']}: PIN sends to one number {limit(row['per_number'])}, to one block "
            f"{limit(row['per_block'])}; countries: {countries}")
