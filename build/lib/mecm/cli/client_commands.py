"""``mecm send sms|mt|pin|verify-pin``, ``mecm mo list|fire`` and ``mecm message get``: the SDK against a running
server.

Credentials come from options, then ``MECM_URL`` / ``MECM_INSTANCE_ID`` / ``MECM_PUBLIC_KEY`` /
``MECM_PRIVATE_KEY``, then the demo credentials file that ``make run`` writes.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer

from mecm.cli.output import (JsonOption, WideOption, emit, emit_table, message_text, mo_text, pin_text, print_error,
                             verification_text)
from mecm.config import load_settings

send_app = typer.Typer(no_args_is_help=True, help="Send messages through a running server.")
mo_app = typer.Typer(no_args_is_help=True, help="Mobile-originated messages.")
message_app = typer.Typer(no_args_is_help=True, help="Look up sent messages.")


def register(app: typer.Typer) -> None:
    app.add_typer(send_app, name="send")
    app.add_typer(mo_app, name="mo")
    app.add_typer(message_app, name="message")


@dataclasses.dataclass
class Credentials:
    url: str
    instance_id: int
    public_key: str
    private_key: str
    code: str | None


def _credentials(url: str | None, instance: int | None, public_key: str | None, private_key: str | None) -> Credentials:
    settings = load_settings()
    demo: dict[str, Any] = {}
    demo_path = settings.var_path / "demo-credentials.json"
    if demo_path.exists() and not (instance and public_key and private_key):
        demo = json.loads(demo_path.read_text())
    resolved = Credentials(
        url or f"http://{settings.host}:{settings.port}",
        instance or demo.get("instance_id") or 0,
        public_key or demo.get("public_key") or "",
        private_key or demo.get("private_key") or "",
        demo.get("code"),
    )
    if not (resolved.instance_id and resolved.public_key and resolved.private_key):
        print_error("no credentials: pass --instance, --public-key and --private-key (or MECM_INSTANCE_ID, "
                    f"MECM_PUBLIC_KEY, MECM_PRIVATE_KEY), or run `mecm demo` (it writes {demo_path})")
        raise typer.Exit(2)
    return resolved


UrlOpt = typer.Option(None, "--url", envvar="MECM_URL", help="Server base URL.")
InstanceOpt = typer.Option(None, "--instance", envvar="MECM_INSTANCE_ID", help="Workspace (instance) id.")
PublicOpt = typer.Option(None, "--public-key", envvar="MECM_PUBLIC_KEY", help="Public key.")
PrivateOpt = typer.Option(None, "--private-key", envvar="MECM_PRIVATE_KEY", help="Private key.")
IdempotencyOpt = typer.Option(
    None, "--idempotency-key",
    help="1-64 of A-Z a-z 0-9 _ -: run again with the same key and arguments within 24 h to get the first "
         "answer, never a second message.")


@contextmanager
def _client(url: str | None, instance: int | None, public: str | None, private: str | None,
            as_json: bool) -> Iterator[tuple[Any, Credentials]]:
    from mecm.client import Client, ClientError

    creds = _credentials(url, instance, public, private)
    try:
        with Client(creds.url, creds.instance_id, creds.public_key, creds.private_key) as client:
            yield client, creds
    except ClientError as error:
        message = f"{error.status}: {error.description}" if getattr(error, "status", None) else str(error)
        if as_json:
            sys.stdout.write(json.dumps({"error": message, "status": getattr(error, "status", None)}) + "\n")
        else:
            print_error(message)
        raise typer.Exit(1) from None


def _as_dict(value: Any) -> dict[str, Any]:
    return dataclasses.asdict(value)


def _run(as_json: bool, conn: tuple[Any, ...], call: Callable[[Any, Credentials], Any],
         describe: Callable[[dict[str, Any]], str]) -> None:
    with _client(*conn, as_json) as (client, creds):
        result = call(client, creds)
    shown = _as_dict(result)
    emit(shown, as_json, describe(shown))


@send_app.command("sms")
def send_sms(
    to: str = typer.Argument(..., help="Mobile number, international digits."),
    text: str = typer.Argument(..., help="Message text."),
    from_: str = typer.Option(None, "--from", help="Short or long code (default: the demo code)."),
    carrier: str = typer.Option(None, help="Carrier name (default: routed)."),
    idempotency_key: str = IdempotencyOpt,
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Send an SMS (sendSMS)."""
    _run(as_json, (url, instance, public_key, private_key),
         lambda c, cr: c.send_sms(to, text, from_=from_ or cr.code, carrier=carrier, idempotency_key=idempotency_key),
         message_text)


@send_app.command("mt")
def send_mt(
    to: str = typer.Argument(...), text: str = typer.Argument(...),
    from_: str = typer.Option(None, "--from"), carrier: str = typer.Option(None),
    flags: str = typer.Option(None, help="Comma-separated flags: flash, nodlr, priority=high, validity=60, at=<ms>"),
    idempotency_key: str = IdempotencyOpt,
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Send an MT (sendMT), optionally with flags."""
    _run(as_json, (url, instance, public_key, private_key),
         lambda c, cr: c.send_mt(to, text, from_=from_ or cr.code, carrier=carrier, flags=flags,
                                 idempotency_key=idempotency_key), message_text)


@send_app.command("pin")
def send_pin(
    to: str = typer.Argument(...),
    text: str = typer.Argument("Your code is {pin}"),
    length: int = typer.Option(6, help="PIN length, 4 to 10."),
    from_: str = typer.Option(None, "--from"), carrier: str = typer.Option(None),
    idempotency_key: str = IdempotencyOpt,
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Send a PIN for confirming a number."""
    _run(as_json, (url, instance, public_key, private_key),
         lambda c, cr: c.send_pin(to, text, from_=from_ or cr.code, length=length, carrier=carrier,
                                  idempotency_key=idempotency_key), pin_text)


@send_app.command("verify-pin")
def verify_pin(
    number: str = typer.Argument(..., help="The mobile number the PIN was sent to."),
    pin: str = typer.Argument(..., help="The PIN the subscriber typed (4 to 10 digits)."),
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Check a PIN (verifyPin): approved, denied, expired, locked or none. Exits 1 unless approved."""
    with _client(url, instance, public_key, private_key, as_json) as (client, _):
        result = client.verify_pin(number, pin)
    shown = _as_dict(result)
    emit(shown, as_json, verification_text(shown))
    if not result.approved:
        raise typer.Exit(1)


@mo_app.command("fire")
def mo_fire(
    from_number: str = typer.Argument(..., help="The subscriber's number."),
    text: str = typer.Argument(...),
    code: str = typer.Option(None, help="The code it is sent to (default: the workspace's default)."),
    idempotency_key: str = IdempotencyOpt,
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Fire an MO as if a subscriber had sent it (fireMessage)."""
    _run(as_json, (url, instance, public_key, private_key),
         lambda c, _: c.fire_message(from_number, text, code=code, idempotency_key=idempotency_key), mo_text)


@mo_app.command("list")
def mo_list(
    page: int = typer.Option(1), per_page: int = typer.Option(20, "--per-page"),
    from_: list[str] = typer.Option(None, "--from", help="Subscriber number (repeat for OR)."),
    to: list[str] = typer.Option(None, help="Code (repeat for OR)."),
    carrier: list[str] = typer.Option(None, help="Carrier (repeat for OR)."),
    keyword: list[str] = typer.Option(None, help="Regular expression searched in the text (repeat for OR)."),
    order: str = typer.Option(None, help="asc or desc (default desc)."),
    since: int = typer.Option(None, help="Epoch ms."), until: int = typer.Option(None, help="Epoch ms."),
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    wide: bool = WideOption, as_json: bool = JsonOption,
) -> None:
    """List MOs (getMOMessages)."""
    with _client(url, instance, public_key, private_key, as_json) as (client, _):
        result = client.get_mo_messages(
            page, per_page, from_=from_ or None, to=to or None, carrier=carrier or None,
            keyword=keyword or None, order=order, since=since, until=until,
        )
    if as_json:
        emit(_as_dict(result), True)
        return
    rows = [_as_dict(m) for m in result.messages]
    emit_table("messages", rows, False, f"MOs: {result.records} in all, page {result.page}", wide=wide)


@message_app.command("get")
def message_get(
    message_id: int = typer.Argument(...),
    url: str = UrlOpt, instance: int = InstanceOpt, public_key: str = PublicOpt, private_key: str = PrivateOpt,
    as_json: bool = JsonOption,
) -> None:
    """Show an MT's current state (getMessage)."""
    _run(as_json, (url, instance, public_key, private_key), lambda c, _: c.get_message(message_id), message_text)
