"""The console's campaign form: create a campaign, or edit one, with every option the CLI and the
admin API take (match mode, keyword, codes, reply, actions, e-mail templates, priority, quiet hours,
start and end, the cap and its window).

The form has two buttons. "Check" runs every check saving would run, collisions with the
workspace's other campaigns included (services/admin/campaigns.check_campaign), and saves nothing;
"Save" checks the same and saves. Either way a refusal comes back on the form, naming the option,
with what was typed kept in the fields.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers, id_of
from mecm.console.navigation import CAMPAIGNS
from mecm.console.web import Refused
from mecm.domain.actions import load as load_actions, spec_of
from mecm.domain.dates import format_date
from mecm.domain.keywords import MATCH_MODES
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import campaigns
from mecm.services.admin.try_message import codes_of

# The form's number fields: (name, lowest, highest), the bounds the admin API keeps.
_NUMBERS = (("priority", -1_000_000, 1_000_000), ("cap", 0, 1_000_000), ("cap_window_s", 1, 366 * 86400))
_TEXTS = ("name", "keyword", "reply", "match", "starts", "ends", "quiet_hours", "email_subject", "email_body")


def fields_of(campaign: dict[str, Any], zone: str) -> dict[str, Any]:
    """A stored campaign as the form shows it: times in the workspace's zone, one action a line."""
    actions = load_actions(campaign["actions"])
    email = next((action for action in actions if action["type"] == "email"), None)
    return {
        "name": campaign["name"], "keyword": campaign["keyword"], "reply": campaign["reply"],
        "match": campaign["match_mode"], "case_sensitive": bool(campaign["case_sensitive"]),
        "codes": list(campaign["codes"]), "priority": str(campaign["priority"]),
        "starts": _local(campaign["starts_at_ms"], zone), "ends": _local(campaign["ends_at_ms"], zone),
        "quiet_hours": campaign["quiet_hours"] or "", "cap": str(campaign["cap_count"]),
        "cap_window_s": str(campaign["cap_window_s"]),
        "actions": "\n".join(spec_of(action) for action in actions),
        "email_subject": email["subject"] if email else "", "email_body": email["body"] if email else "",
    }


def blank_fields(codes: list[str]) -> dict[str, Any]:
    """A new campaign's form, with NewCampaign's defaults."""
    new = campaigns.NewCampaign(codes=codes[:1], name="")
    return {**{name: "" for name in _TEXTS}, "match": new.match, "case_sensitive": new.case_sensitive,
            "codes": list(new.codes), "priority": str(new.priority), "cap": str(new.cap),
            "cap_window_s": str(new.cap_window_s), "actions": ""}


def _local(epoch_ms: int | None, zone: str) -> str:
    """``2026-12-03T10:00`` in ``zone``: what a datetime-local field holds (the admin layer reads a
    time without an offset in the workspace's zone)."""
    return "" if epoch_ms is None else format_date(epoch_ms, zone)[:16]


def submitted(form: dict[str, str], codes: list[str]) -> dict[str, Any]:
    """The form as posted, for showing it again."""
    fields = {name: form.get(name, "").strip() if name != "reply" else form.get(name, "") for name in _TEXTS}
    return {**fields, "case_sensitive": form.get("case_sensitive") == "on", "codes": codes,
            "priority": form.get("priority", ""), "cap": form.get("cap", ""),
            "cap_window_s": form.get("cap_window_s", ""), "actions": form.get("actions", "")}


def new_campaign_of(fields: dict[str, Any]) -> campaigns.NewCampaign:
    """The posted fields as the administration layer takes them; InvalidParameter naming a number
    field that is not a whole number in its bounds."""
    numbers = {}
    for name, low, high in _NUMBERS:
        raw = str(fields[name]).strip()
        if not (raw.lstrip("-").isascii() and raw.lstrip("-").isdigit()) or not low <= int(raw) <= high:
            raise InvalidParameter(name, f"must be a whole number from {low} to {high}")
        numbers[name] = int(raw)
    if not fields["codes"]:
        raise InvalidParameter("codes", "choose at least one code the campaign listens on")
    return campaigns.NewCampaign(
        codes=fields["codes"], name=fields["name"], keyword=fields["keyword"], reply=fields["reply"],
        match=fields["match"], case_sensitive=fields["case_sensitive"],
        starts=fields["starts"] or None, ends=fields["ends"] or None,
        quiet_hours=fields["quiet_hours"] or None,
        actions=[line.strip() for line in fields["actions"].splitlines() if line.strip()],
        email_subject=fields["email_subject"] or None, email_body=fields["email_body"] or None, **numbers)


def edit_of(new: campaigns.NewCampaign) -> campaigns.CampaignEdit:
    """Every setting of the form as an edit: empty times, quiet hours and e-mail templates clear
    them, and the actions listed replace the campaign's."""
    given = asdict(new)
    for name in ("starts", "ends", "quiet_hours", "email_subject", "email_body"):
        given[name] = given[name] or ""
    return campaigns.CampaignEdit(**given)


class CampaignForm(Handlers):
    """The handlers behind /w/{id}/campaigns/new and /w/{id}/campaigns/{campaign_id}/edit."""

    async def new_campaign_page(self, request: Request) -> Response:
        context = await self._campaign_form_context(request)
        codes = codes_of(self._runtime.catalog, context["workspace"]["instance_id"])
        return self._render_form(request, context, None, blank_fields(codes), codes)

    async def edit_campaign_page(self, request: Request) -> Response:
        context = await self._campaign_form_context(request)
        campaign = await self._owned_campaign(context, request.path_params["campaign_id"])
        codes = codes_of(self._runtime.catalog, context["workspace"]["instance_id"])
        return self._render_form(request, context, campaign, fields_of(campaign, context["workspace"]["timezone"]),
                                 codes)

    async def save_campaign(self, request: Request) -> Response:
        """POST of the form, new or edit: "check" only checks; otherwise saved, or refused on the form."""
        session, workspace_id, form = await self._change(request, Action.CAMPAIGNS)
        context = await self._campaign_form_context(request)
        raw_id = request.path_params.get("campaign_id")
        campaign = await self._owned_campaign(context, raw_id) if raw_id is not None else None
        codes = codes_of(self._runtime.catalog, workspace_id)
        chosen = [code for code in (await request.form()).getlist("codes") if isinstance(code, str)]
        fields = submitted(form, chosen)
        allow = self._runtime.settings.outbound_networks
        other_than = campaign["id"] if campaign else None
        try:
            new = new_campaign_of(fields)
            if "check" in form:
                await self._read(lambda c: campaigns.check_campaign(c, workspace_id, new, other_than=other_than,
                                                                     allow=allow))
                return self._render_form(request, context, campaign, fields, codes,
                                         checked="No problem and no collision: ready to save.")
            vault = self._runtime.vault
            if campaign is None:
                await self._write(lambda c: campaigns.add_campaign(
                    c, workspace_id, new, vault=vault, allow=allow, actions_param="actions", actor=session.actor),
                    catalog=True)
            else:
                await self._write(lambda c: campaigns.edit_campaign(
                    c, campaign["id"], edit_of(new), actor=session.actor, vault=vault, allow=allow,
                    actions_param="actions"), catalog=True)
        except InvalidParameter as refusal:
            return self._render_form(request, context, campaign, fields, codes,
                                     error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/campaigns")

    async def _campaign_form_context(self, request: Request) -> dict[str, Any]:
        """The campaigns page's context, for someone who may edit campaigns; Refused otherwise."""
        session, context = await self._workspace_page(request, CAMPAIGNS)
        web.require(session, Action.CAMPAIGNS, context["workspace"]["instance_id"])
        return context

    async def _owned_campaign(self, context: dict[str, Any], raw_id: str) -> dict[str, Any]:
        """One of the workspace's campaigns, not archived; Refused 404 otherwise."""
        campaign_id = id_of(raw_id, "campaign")
        workspace_id = context["workspace"]["instance_id"]

        def read(connection: Connection) -> dict[str, Any] | None:
            try:
                found = campaigns.require_campaign(connection, campaign_id)
            except Unknown:
                return None
            return found if found["workspace_id"] == workspace_id else None

        campaign = await self._read(read)
        if campaign is None:
            raise Refused(404, f"there is no campaign {campaign_id} in workspace {workspace_id}")
        if campaign["state"] == campaigns.ARCHIVED:
            raise Refused(404, f"campaign {campaign['name']!r} is archived: it can no longer be edited")
        return campaign

    def _render_form(self, request: Request, context: dict[str, Any], campaign: dict[str, Any] | None,
                     fields: dict[str, Any], codes: list[str], *, error: str | None = None,
                     checked: str | None = None, status: int = 200) -> Response:
        return web.render(request, "campaign_form.html", {
            **context, "campaign": campaign, "fields": fields, "codes": codes, "match_modes": MATCH_MODES,
            "error": error, "checked": checked}, status)
