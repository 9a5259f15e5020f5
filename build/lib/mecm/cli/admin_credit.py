"""``mecm admin credit ...`` and ``mecm admin price ...``: a workspace's prepaid balance, its ledger,
its low-balance threshold, and its price list. Amounts are decimal strings in the workspace's
currency (``0.0075``), kept as integer micro-units (domain/money.py).

A running server sees a price change within ``catalog_refresh_s``; balances are read at each send.
"""

from __future__ import annotations

import typer

from mecm.cli.output import JsonOption, WideOption, emit, emit_table
from mecm.cli.transaction import in_transaction
from mecm.domain.money import parse_amount, parse_currency
from mecm.domain.pricing import ANY_CARRIER, parse_prefix

credit_app = typer.Typer(no_args_is_help=True, help="Prepaid credit: balance, top-ups, ledger, low-balance alert.")
price_app = typer.Typer(no_args_is_help=True, help="A workspace's price list (none: its sends are free).")

WorkspaceOption = typer.Option(..., "--workspace", help="Workspace id.")


def _currency(raw: str | None) -> str | None:
    return None if raw is None else parse_currency(raw)


def _describe(account: dict) -> str:
    if account["balance"] is None:
        return f"workspace {account['workspace']}: no credit account"
    low = f", alert below {account['low_balance']}" if account["low_balance"] is not None else ""
    priced = "priced" if account["priced"] else "no price list: sends are free"
    return f"workspace {account['workspace']}: {account['balance']} {account['currency']}{low} ({priced})"


@credit_app.command("top-up")
def top_up(
    workspace: int = WorkspaceOption,
    amount: str = typer.Option(..., help="Amount to add, e.g. 25 or 12.50."),
    reason: str = typer.Option(None, help="Kept in the ledger with the top-up."),
    currency: str = typer.Option(None, help="The account's currency when it is opened (default USD)."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import credit
    from mecm.services.admin.audit import cli_actor

    def run(connection, _vault):  # noqa: ANN001, ANN202
        return credit.top_up(connection, workspace, parse_amount(amount, "amount"), reason, _currency(currency),
                             actor=cli_actor())

    account = in_transaction(as_json, run)
    emit(account, as_json, _describe(account))


@credit_app.command("balance")
def balance(workspace: int = WorkspaceOption, as_json: bool = JsonOption) -> None:
    from mecm.services.admin import credit

    account = in_transaction(as_json, lambda c, _v: credit.account(c, workspace))
    emit(account, as_json, _describe(account))


@credit_app.command("ledger")
def ledger(
    workspace: int = WorkspaceOption,
    limit: int = typer.Option(100, help="The newest this many movements."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import credit

    rows = in_transaction(as_json, lambda c, _v: credit.ledger(c, workspace, limit))
    emit_table("ledger", rows, as_json, f"Ledger of workspace {workspace}", wide=wide, workspace=workspace)


@credit_app.command("threshold")
def threshold(
    workspace: int = WorkspaceOption,
    amount: str = typer.Option(None, help="Alert (a 'balance' status callback) when a send takes the "
                                          "balance below this; omit to turn the alert off."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import credit
    from mecm.services.admin.audit import cli_actor

    def run(connection, _vault):  # noqa: ANN001, ANN202
        value = None if amount is None else parse_amount(amount, "amount", allow_zero=True)
        return credit.set_threshold(connection, workspace, value, actor=cli_actor())

    account = in_transaction(as_json, run)
    emit(account, as_json, _describe(account))


@price_app.command("set")
def price_set(
    workspace: int = WorkspaceOption,
    per_segment: str = typer.Option(..., help="Price of one segment, e.g. 0.0075."),
    carrier: str = typer.Option(ANY_CARRIER, help="A carrier's name, or * for any (default)."),
    prefix: str = typer.Option("", help="Number prefix, digits (default: every number). Longest match wins."),
    currency: str = typer.Option(None, help="The account's currency when it is opened (default USD)."),
    as_json: bool = JsonOption,
) -> None:
    from mecm.services.admin import credit
    from mecm.services.admin.audit import cli_actor

    def run(connection, _vault):  # noqa: ANN001, ANN202
        price = parse_amount(per_segment, "per-segment", allow_zero=True)
        return credit.set_price(connection, workspace, carrier, parse_prefix(prefix), price, _currency(currency),
                                actor=cli_actor())

    emit_table("prices", in_transaction(as_json, run), as_json, f"Prices of workspace {workspace}")


@price_app.command("list")
def price_list(workspace: int = WorkspaceOption, wide: bool = WideOption, as_json: bool = JsonOption) -> None:
    from mecm.services.admin import credit

    rows = in_transaction(as_json, lambda c, _v: credit.prices(c, workspace))
    emit_table("prices", rows, as_json, f"Prices of workspace {workspace}", wide=wide)


@price_app.command("clear")
def price_clear(
    workspace: int = WorkspaceOption,
    carrier: str = typer.Option(None, help="Only this carrier's rows (* for the any-carrier rows)."),
    prefix: str = typer.Option(None, help="Only the rows of this prefix."),
    as_json: bool = JsonOption,
) -> None:
    """Remove price rows (all by default): with none left, the workspace's sends are free again."""
    from mecm.services.admin import credit
    from mecm.services.admin.audit import cli_actor

    def run(connection, _vault):  # noqa: ANN001, ANN202
        return credit.clear_prices(connection, workspace, carrier, None if prefix is None else parse_prefix(prefix),
                                   actor=cli_actor())

    count = in_transaction(as_json, run)
    emit({"removed": count}, as_json, f"{count} price row(s) removed")
