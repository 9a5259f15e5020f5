"""``mecm admin key ...``: API key pairs: create (with an expiry), set-expiry, rotate, revoke, list.

A running server picks changes up within ``catalog_refresh_s``; from then on it compares a key's
expiry with the clock at every request.
"""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction

app = typer.Typer(no_args_is_help=True, help="API key pairs.")

_EXPIRES_HELP = ("When the key stops working: an ISO 8601 date (00:00 that day) or date and time; "
                 "without an offset, in the workspace's time zone.")
_EXPIRES_IN_HELP = "When the key stops working, from now: e.g. 90d, 12h, 30m, 45s."
_NOT_SHOWN_AGAIN = "(the private key is not shown again)"


@app.command("create")
def key_create(
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    expires: str = typer.Option(None, help=_EXPIRES_HELP),
    expires_in: str = typer.Option(None, help=_EXPIRES_IN_HELP),
    as_json: bool = JsonOption,
) -> None:
    """Create a key pair. The private key is shown now and never again."""
    from mecm.services.admin import keys
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    pair = in_transaction(as_json, lambda c, v: keys.create_key(c, v, workspace, expires=expires,
                                                                 expires_in=expires_in, actor=actor))
    emit(pair, as_json, f"public key : {pair['public_key']}\nprivate key: {pair['private_key']}\n"
                        f"expires    : {pair['expires_at'] or 'never'}\n{_NOT_SHOWN_AGAIN}")


@app.command("set-expiry")
def key_set_expiry(
    public_key: str = typer.Option(..., help="The key pair's public key."),
    expires: str = typer.Option(None, help=_EXPIRES_HELP + " A past instant stops the key at once."),
    expires_in: str = typer.Option(None, help=_EXPIRES_IN_HELP),
    never: bool = typer.Option(False, "--never", help="No expiry: the key works until it is revoked."),
    as_json: bool = JsonOption,
) -> None:
    """Give a key another expiry, or none."""
    from mecm.services.admin import keys
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: keys.set_expiry(
        c, public_key, actor=actor, expires=expires, expires_in=expires_in, never=never))
    emit(row, as_json, f"key {public_key} expires: {row['expires_at'] or 'never'}"
                       + (" (already past: it no longer works)" if row["expired"] else ""))


@app.command("rotate")
def key_rotate(
    public_key: str = typer.Option(..., help="The key pair to replace."),
    overlap: str = typer.Option("24h", help="How long the old key keeps working: e.g. 24h, 7d, 2s; 0 revokes "
                                "it now."),
    expires: str = typer.Option(None, help="The new key's expiry. " + _EXPIRES_HELP),
    expires_in: str = typer.Option(None, help="The new key's expiry. " + _EXPIRES_IN_HELP),
    as_json: bool = JsonOption,
) -> None:
    """A new key pair in the same workspace, working now; the old one stops after the overlap."""
    from mecm.services.admin import keys
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, v: keys.rotate_key(
        c, v, public_key, actor=actor, overlap=overlap, expires=expires, expires_in=expires_in))
    old = "revoked now" if row["old_revoked"] else f"works until {row['old_expires_at']}"
    emit(row, as_json, f"public key : {row['public_key']}\nprivate key: {row['private_key']}\n"
                       f"expires    : {row['expires_at'] or 'never'}\n"
                       f"old key {public_key}: {old}\n{_NOT_SHOWN_AGAIN}")


@app.command("revoke")
def key_revoke(public_key: str = typer.Option(..., help="The public key to revoke."),
               as_json: bool = JsonOption) -> None:
    from mecm.services.admin import keys
    from mecm.services.admin.audit import cli_actor

    actor = cli_actor()
    row = in_transaction(as_json, lambda c, _: keys.revoke_key(c, public_key, actor=actor))
    emit(row, as_json, f"key {public_key} revoked")


@app.command("list")
def key_list(workspace: int = typer.Option(None, help="Only this workspace."), wide: bool = WideOption,
             as_json: bool = JsonOption) -> None:
    """Every key pair: state, created, expires, last used (to within key_last_used_flush_s), revoked."""
    from mecm.services.admin import keys

    emit_table("keys", in_transaction(as_json, lambda c, _: keys.list_keys(c, workspace)),
               as_json, "Keys", wide=wide)
