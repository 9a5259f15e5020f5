"""The console's workspace settings page: the workspace (name, time zone, default carrier, whether a
PIN send answers the PIN), the status callback, the opt-out words and answers, rate limits and the
PIN-send guard, and credit (balance, low-balance alert, top-ups, the price list).

Anyone with a role on the workspace sees the page; each form is shown, and its POST allowed, to
those whose role may do that change (domain/roles.py decides, as for the admin API: the workspace's
admin for most, an editor for the opt-out words, a deployment administrator for credit and prices).
A refusal comes back on the page above the form it concerns, naming the field; nothing is written.
Every change goes through the administration layer, which writes the audit log, and the API's
catalog is reloaded after it, so the next request sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers
from mecm.console.navigation import SETTINGS
from mecm.console.web import Refused
from mecm.domain.money import parse_amount, parse_currency
from mecm.domain.optout import Intent
from mecm.domain.pricing import parse_prefix
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.services.admin import credit, limits, optouts, workspaces
from mecm.services.admin.carriers import list_carriers

# Each form of the page: the action it needs (domain/roles.py).
FORMS = {
    "workspace": Action.WORKSPACE_SETTINGS,
    "callback": Action.WORKSPACE_SETTINGS,
    "opt-out": Action.OPTOUTS,
    "limit": Action.LIMITS,
    "limit-clear": Action.LIMITS,
    "pin-guard": Action.LIMITS,
    "threshold": Action.WORKSPACE_SETTINGS,
    "top-up": Action.CREDIT_CHANGE,
    "price": Action.CREDIT_CHANGE,
}
_LEDGER_SHOWN = 20


class WorkspaceSettings(Handlers):
    """GET /w/{id}/settings, and POST /w/{id}/settings/{form} for each form of FORMS."""

    async def settings_page(self, request: Request, *, errors: dict[str, str] | None = None,
                            status: int = 200) -> Response:
        session, context = await self._workspace_page(request, SETTINGS)
        workspace_id = context["workspace"]["instance_id"]
        settings = self._runtime.settings
        may = {form: web.may(session, action, workspace_id) for form, action in FORMS.items()}
        sees_credit = web.may(session, Action.CREDIT_VIEW, workspace_id)

        def read(connection: Connection) -> dict[str, Any]:
            shown: dict[str, Any] = {
                "policy": optouts.describe_policy(connection, workspace_id),
                "limits": [row for row in limits.list_limits(connection, workspace_id, settings) if row["key"] is None],
                "pin_guard": limits.pin_guard(connection, workspace_id, settings),
                "carriers": [row["name"] for row in list_carriers(connection)],
            }
            if sees_credit:
                shown.update(account=credit.account(connection, workspace_id),
                             ledger=credit.ledger(connection, workspace_id, _LEDGER_SHOWN),
                             prices=credit.prices(connection, workspace_id))
            return shown

        shown = await self._read(read)
        return web.render(request, "settings.html", {
            **context, **shown, "may": may, "sees_credit": sees_credit, "errors": errors or {},
            "intents": [intent.value for intent in Intent]}, status)

    async def change(self, request: Request) -> Response:
        """One form's POST: its CSRF token, then its role, then the change; the page again on a refusal."""
        form_name = request.path_params["form"]
        action = FORMS.get(form_name)
        if action is None:
            raise Refused(404, "there is no such setting")
        session, workspace_id, form = await self._change(request, action)
        change = self._changes(form_name, form, workspace_id, session.actor)
        try:
            await self._write(change, catalog=True)
        except InvalidParameter as refusal:
            return await self.settings_page(request, errors={form_name: refusal.description}, status=400)
        return web.redirect(f"/w/{workspace_id}/settings#{form_name}")

    def _changes(self, form_name: str, form: dict[str, str], workspace_id: int,
                 actor: str) -> Callable[[Connection], Any]:
        """The write a form asks for, as a function of the connection (its checks run inside it, so a
        refusal rolls everything back)."""
        settings, vault = self._runtime.settings, self._runtime.vault
        text = form.get

        if form_name == "workspace":
            return lambda c: workspaces.update_workspace(
                c, workspace_id, actor=actor, name=text("name", ""), timezone=text("timezone", "").strip(),
                default_carrier=text("default_carrier", ""), pin_in_response=text("pin_in_response") == "on")
        if form_name == "callback":
            return lambda c: workspaces.set_status_callback(c, vault, workspace_id, text("url", ""),
                                                            settings.outbound_networks, actor=actor)
        if form_name == "opt-out":
            keywords = {intent: text(f"{intent.value}_keywords", "") for intent in Intent}
            answers = {intent: text(f"{intent.value}_text") or None for intent in Intent}
            return lambda c: optouts.configure(c, workspace_id, "", keywords, answers, actor=actor)
        if form_name == "limit":
            return lambda c: limits.set_limit(c, workspace_id, None, text("class", ""), text("rate", "").strip(),
                                              text("burst", "").strip(), actor=actor)
        if form_name == "limit-clear":
            return lambda c: limits.clear_limit(c, workspace_id, None, text("class", ""), actor=actor)
        if form_name == "pin-guard":
            def pin_guard(c: Connection) -> Any:
                per_number, per_block = _count(text("per_number", ""), "per_number"), _count(text("per_block", ""), "per_block")
                return limits.set_pin_guard(c, workspace_id, settings, actor=actor, per_number=per_number,
                                            per_block=per_block, countries=text("countries", "").strip())
            return pin_guard
        if form_name == "threshold":
            raw = text("low_balance", "").strip()

            def threshold(c: Connection) -> Any:
                low = parse_amount(raw, "low_balance", allow_zero=True) if raw else None
                return credit.set_threshold(c, workspace_id, low, actor=actor)
            return threshold
        if form_name == "top-up":
            def top_up(c: Connection) -> Any:
                amount = parse_amount(text("amount", "").strip(), "amount")
                return credit.top_up(c, workspace_id, amount, text("reason") or None,
                                     _currency(text("currency", "")), actor=actor)
            return top_up

        def price(c: Connection) -> Any:  # "price"
            per_segment = parse_amount(text("per_segment", "").strip(), "per_segment", allow_zero=True)
            return credit.set_price(c, workspace_id, text("carrier", "").strip() or "*", parse_prefix(text("prefix", "")),
                                    per_segment, _currency(text("currency", "")), actor=actor)
        return price


def _count(raw: str, name: str) -> int | None:
    """A whole number from 0 to 1,000,000 as the PIN guard takes it; blank: keep what it is."""
    raw = raw.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > 1_000_000:
        raise InvalidParameter(name, "must be a whole number from 0 to 1000000")
    return int(raw)


def _currency(raw: str) -> str | None:
    return parse_currency(raw) if raw.strip() else None
