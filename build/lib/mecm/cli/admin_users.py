"""``mecm admin user ...``, ``mecm admin token ...`` and ``mecm admin audit list``: users, their roles
per workspace, their personal tokens for the admin API, and the audit log.

The CLI acts as the local operator (whoever has the database file and the master key may do
anything): its changes are recorded in the audit log with the actor ``cli:<OS user>``.
Passwords are read from a prompt (hidden) or from standard input, never from an option, so they are
not left in the shell's history or the process list.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction

if TYPE_CHECKING:
    from mecm.services.admin.users import HashedPassword

user_app = typer.Typer(no_args_is_help=True, help="Users of the admin API and their roles per workspace.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log: who changed what, before and after, when.")
# ``mecm admin token`` alone prints the deployment's single admin token (as before); its commands
# manage users' personal tokens.
token_app = typer.Typer(invoke_without_command=True,
                        help="The admin API's single admin token (alone), or users' personal tokens.")

_EMAIL_HELP = "The user's e-mail address."
_ROLE_HELP = "owner, admin, editor or viewer."


def _actor() -> str:
    from mecm.services.admin.audit import cli_actor

    return cli_actor()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _hashed(password: str, as_json: bool) -> HashedPassword:
    """The password checked and hashed before the transaction that stores it (hashing takes a while)."""
    from mecm.cli.output import friendly_errors
    from mecm.services.admin import users

    with friendly_errors(as_json):
        return users.hash_password(password)
    raise AssertionError("unreachable")


def _roles_text(roles: dict[str, str]) -> str:
    return ", ".join(f"{ws}={role}" for ws, role in roles.items()) or "none"


@user_app.command("add")
def user_add(
    email: str = typer.Option(..., help=_EMAIL_HELP),
    deployment_admin: bool = typer.Option(False, "--deployment-admin",
                                          help="May do everything, on every workspace (carriers, workspaces)."),
    password: bool = typer.Option(False, "--password", help="Ask for a password (hidden, twice)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    as_json: bool = JsonOption,
) -> None:
    """Add a user (without a password they use personal tokens only)."""
    from mecm.services.admin import users

    secret = _hashed(_read_password(password_stdin), as_json) if (password or password_stdin) else None
    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.add_user(c, email, actor=actor, password=secret,
                                                              deployment_admin=deployment_admin))
    emit(row, as_json, f"user {row['email']} added" + (" (deployment administrator)" if deployment_admin else ""))


@user_app.command("list")
def user_list(wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    """Every user: deployment administrator or not, disabled or not, roles per workspace."""
    from mecm.services.admin import users

    rows = in_transaction(as_json, lambda c, _: users.list_users(c))
    if not as_json:
        rows = [{**row, "roles": _roles_text(row["roles"])} for row in rows]
    emit_table("users", rows, as_json, "Users", wide=wide)


@user_app.command("set-role")
def user_set_role(
    email: str = typer.Option(..., help=_EMAIL_HELP),
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    role: str = typer.Option(..., help=_ROLE_HELP),
    as_json: bool = JsonOption,
) -> None:
    """Give a user a role on a workspace (replacing the one they had there)."""
    from mecm.services.admin import users

    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.set_role(c, email, workspace, role, actor=actor))
    emit(row, as_json, f"{row['email']} is {row['role']} of workspace {workspace}")


@user_app.command("remove-role")
def user_remove_role(
    email: str = typer.Option(..., help=_EMAIL_HELP),
    workspace: int = typer.Option(..., help="Workspace (instance) id."),
    as_json: bool = JsonOption,
) -> None:
    """Take a user's role on a workspace away."""
    from mecm.services.admin import users

    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.remove_role(c, email, workspace, actor=actor))
    emit(row, as_json, f"{row['email']} has no role on workspace {workspace} any more")


@user_app.command("password")
def user_password(
    email: str = typer.Option(..., help=_EMAIL_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    as_json: bool = JsonOption,
) -> None:
    """Set a user's password (asked for, hidden, twice)."""
    from mecm.services.admin import users

    secret = _hashed(_read_password(password_stdin), as_json)
    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.set_password(c, email, secret, actor=actor))
    emit(row, as_json, f"password of {row['email']} set")


@user_app.command("disable")
def user_disable(
    email: str = typer.Option(..., help=_EMAIL_HELP),
    enable: bool = typer.Option(False, "--enable", help="Enable the user again instead."),
    as_json: bool = JsonOption,
) -> None:
    """Disable a user: their tokens stop working at once (--enable gives them back)."""
    from mecm.services.admin import users

    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.set_disabled(c, email, not enable, actor=actor))
    emit(row, as_json, f"user {row['email']} {'disabled' if row['disabled'] else 'enabled'}")


@token_app.callback()
def token_main(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """The admin JSON API's single admin token (setting admin_token, or a file under var_dir), meant to
    create the first administrator; or, with a command, users' personal tokens."""
    if ctx.invoked_subcommand is not None:
        return
    from mecm.cli.output import friendly_errors
    from mecm.cli.state import open_store
    from mecm.config import load_settings
    from mecm.store.crypto import load_admin_token

    with friendly_errors(as_json):
        settings = load_settings()
        open_store(settings)[0].dispose()  # a token belongs to a database: none is made where there is none
        token = load_admin_token(settings)
    emit({"admin_token": token}, as_json, token)


@token_app.command("create")
def token_create(
    email: str = typer.Option(..., help="The user the token stands for."),
    scope: str = typer.Option("read", help="read (GET only) or write."),
    expires_in: str = typer.Option("90d", help="When the token stops working, from now: e.g. 90d, 12h, 30m."),
    name: str = typer.Option("", help="A name to recognise it by in token list."),
    as_json: bool = JsonOption,
) -> None:
    """A personal token for the admin API (Authorization: Bearer ...), shown now and never again."""
    from mecm.services.admin import users

    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.create_token(c, email, actor=actor, scope=scope,
                                                                  expires_in=expires_in, name=name))
    emit(row, as_json, f"token  : {row['token']}\nid     : {row['id']}\nscope  : {row['scope']}\n"
                       f"expires: {row['expires_at']}\n(the token is not shown again)")


@token_app.command("list")
def token_list(email: str = typer.Option(..., help=_EMAIL_HELP), wide: bool = WideOption,
               as_json: bool = JsonOption) -> None:
    """A user's tokens (never the tokens themselves): scope, created, expires, revoked."""
    from mecm.services.admin import users

    emit_table("tokens", in_transaction(as_json, lambda c, _: users.list_tokens(c, email)), as_json, "Tokens",
               wide=wide)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Option(..., "--id", help="The token's id (token list shows it)."),
                 as_json: bool = JsonOption) -> None:
    """Revoke a personal token: it stops working at once."""
    from mecm.services.admin import users

    actor = _actor()
    row = in_transaction(as_json, lambda c, _: users.revoke_token(c, token_id, actor=actor))
    emit(row, as_json, f"token {token_id} of {row['email']} revoked")


@audit_app.command("list")
def audit_list(
    workspace: int = typer.Option(None, help="Only changes to this workspace."),
    user: str = typer.Option(None, help="Only changes by this user (an e-mail) or actor (cli:ana, admin-token)."),
    action: str = typer.Option(None, help="Only this action (carrier.edit), or every action on a subject (carrier)."),
    since: str = typer.Option(None, help="Only changes at or after this ISO 8601 time (UTC without an offset)."),
    until: str = typer.Option(None, help="Only changes at or before this ISO 8601 time (UTC without an offset)."),
    limit: int = typer.Option(50, help="How many entries, newest first."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """The newest audit entries: when, who, what, on what, and what changed (before -> after).
    --json: every entry whole, before and after as objects."""
    from mecm.services.admin import audit

    rows = in_transaction(as_json, lambda c, _: audit.list_entries(
        c, workspace_id=workspace, user=user, action=action, since=since, until=until, limit=limit))
    if not as_json:
        rows = [{**row, "change": _change_text(row["before"], row["after"])} for row in rows]
    emit_table("entries", rows, as_json, "Audit log", wide=wide)


def _change_text(before: dict | None, after: dict | None) -> str:
    """An entry's before and after in one cell: ``name: beta -> gamma; tps: - -> 5`` for an edit,
    the fields of what was made (``+ name=acme, ...``) or removed (``- code=55501, ...``)."""
    from mecm.cli.output import cell

    if not before and after:
        return "+ " + cell("after", after)
    if before and not after:
        return "- " + cell("before", before)
    was, now = before or {}, after or {}
    return "; ".join(f"{key}: {cell(key, was.get(key)) or '-'} -> {cell(key, now.get(key)) or '-'}"
                     for key in {**was, **now})
