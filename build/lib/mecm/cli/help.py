"""``--help`` that reads well: a description for every command, no raw backticks from docstrings
and no ``<bool>`` beside a flag (click's layout shows no type for a flag).

Help is plain text (click's layout, paragraphs re-wrapped to the terminal), not rich's boxes: rich's
help renderer alone takes ``mecm --help`` from about 0.2 to 0.4 s of CPU (bench/cli_start.py).

A command's own docstring (or ``help=``) wins; DESCRIPTIONS gives one to the commands that have
none, by their path under ``mecm``. (``mecm --help`` and the other groups' pages are printed by
cli/front.py from an index of these descriptions, without importing typer or the commands.)
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

DESCRIPTIONS: dict[tuple[str, ...], str] = {
    ("admin", "workspace", "create"): "Create a workspace (an instanceId of the API) and print its id.",
    ("admin", "workspace", "set-callback"): "Set (or with '' remove) the URL told of every MT status change.",
    ("admin", "workspace", "set-default-carrier"): "The carrier a send with carrier=null goes to when no route "
                                                   "matches.",
    ("admin", "key", "revoke"): "Stop a key pair at once (a running server within catalog_refresh_s).",
    ("admin", "code", "add"): "Give a workspace a short or long code (--default: the one fireMessage uses).",
    ("admin", "code", "list"): "Every code and its workspace.",
    ("admin", "carrier", "add"): "Add a carrier: the simulator, or an SMSC over SMPP (its password stored "
                                 "encrypted).",
    ("admin", "carrier", "list"): "Every carrier with its connector, prefixes and settings (no passwords).",
    ("admin", "campaign", "add"): "Add a keyword campaign: what it matches, its reply and its actions.",
    ("admin", "campaign", "list"): "Every campaign (--wide for every setting).",
    ("admin", "webhook", "list"): "Jobs of the outbox (webhooks, status callbacks, e-mails), newest first.",
    ("admin", "list", "create"): "Create an empty subscriber list in a workspace.",
    ("admin", "list", "list"): "A workspace's subscriber lists and their sizes.",
    ("admin", "list", "add"): "Add one subscriber to a list.",
    ("admin", "list", "remove"): "Take one subscriber off a list.",
    ("admin", "broadcast", "create"): "Send one text to every member of a list, now or at a time (opted-out "
                                      "members are skipped).",
    ("admin", "broadcast", "list"): "Every broadcast and its progress.",
    ("admin", "broadcast", "cancel"): "Stop a broadcast: messages not yet handed to a carrier are withdrawn.",
    ("admin", "credit", "top-up"): "Add credit to a workspace's balance (opening its account if needed).",
    ("admin", "credit", "balance"): "A workspace's balance, low-balance alert and whether it is priced.",
    ("admin", "credit", "ledger"): "A workspace's credit movements, newest first.",
    ("admin", "credit", "threshold"): "Alert (a status callback) when a send takes the balance below an amount.",
    ("admin", "price", "set"): "Set the price of a segment, for a carrier and a number prefix.",
    ("admin", "price", "list"): "A workspace's price list.",
}


def describe_commands(app: typer.Typer, path: tuple[str, ...] = ()) -> None:
    """Give each command of ``app`` its description as people read it: its own (docstring or
    ``help=``) or its DESCRIPTIONS entry, without the backticks written for code readers."""
    for command in app.registered_commands:
        name = command.name or (command.callback.__name__.replace("_", "-") if command.callback else "")
        text = command.help or (command.callback.__doc__ if command.callback is not None else None)
        text = text or DESCRIPTIONS.get((*path, name))
        if text:
            command.help = plain(text)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = plain(group.help)
        if group.typer_instance is not None and group.name:
            describe_commands(group.typer_instance, (*path, group.name))


def plain(text: str) -> str:
    """A docstring as help text: its indentation removed, ``code`` and `code` without backticks."""
    return inspect.cleandoc(text).replace("``", "").replace("`", "")

