"""The console's pages and the actions behind their forms (signing in and out: signing.py).

Every page needs a session (without one: to the sign-in page); every page of a
workspace checks the role its action needs (navigation.py's ``PAGES`` lists them, and a test walks every page for
every role); every POST checks the CSRF token first, then the role, then does its work through the
administration layer (services/admin), as the CLI and the admin API do, writing the audit log.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from mecm.console import web
from mecm.console.base import Handlers, id_of
from mecm.console.navigation import AUDIT, BROADCASTS, CAMPAIGNS, DASHBOARD, INBOX, KEYS, MESSAGES, PEOPLE, Page
from mecm.console.charts import line_chart
from mecm.console.web import Refused
from mecm.domain.roles import ROLE_NAMES, Action
from mecm.domain.status import Status
from mecm.errors import InvalidParameter, Unknown
from mecm.services.admin import (
    audit, broadcasts, campaigns, dashboard, keys, lists, message_page, messages, users, workspaces,
)
from mecm.services.admin.try_message import codes_of, try_message


# A campaign's buttons: the use case each calls (services/admin/campaigns.py).
_CAMPAIGN_CHANGES = {"pause": campaigns.pause_campaign, "resume": campaigns.resume_campaign,
                     "archive": campaigns.archive_campaign}
# The filters each search page offers (domain/record_search.py's names; ``limit`` is the page's own).
_FILTERS = {"messages": ("number", "status", "campaign", "carrier", "text", "since", "until", "before"),
            "mos": ("number", "campaign", "carrier", "text", "since", "until", "before")}
_STATUSES = tuple(status.value for status in Status)
_PER_PAGE = "50"
# A broadcast's buttons: the use case each calls (services/admin/broadcasts.py).
_BROADCAST_CHANGES = {"pause": broadcasts.pause_broadcast, "resume": broadcasts.resume_broadcast,
                      "cancel": broadcasts.cancel_broadcast}

class Pages(Handlers):
    """The workspaces list and each workspace's pages."""

    async def home(self, request: Request, *, error: str | None = None, status: int = 200) -> Response:
        session = await self._signed_in(request)
        listed = await self._read(lambda c: workspaces.list_workspaces(c))
        visible = [w for w in listed if session.deployment_admin or w["instance_id"] in session.roles]
        return web.render(request, "home.html", {"session": session, "workspaces": visible,
                                                 "roles": session.roles, "error": error}, status)

    async def dashboard_page(self, request: Request) -> Response:
        """The workspace's traffic; ``?part=live`` is the part that refreshes itself (htmx, every 10 s).
        The day's and week's figures add up kept hours (services/admin/dashboard.py); the hours due to
        be kept are counted first, shown, and written once the answer has gone (no view waits on it)."""
        _session, context = await self._workspace_page(request, DASHBOARD)
        workspace_id = context["workspace"]["instance_id"]
        now = self._clock()
        counted = await self._read(lambda c: dashboard.count_hours(c, workspace_id, now))
        board = await self._read(lambda c: dashboard.dashboard(c, workspace_id, now, counted))
        template = "dashboard_live.html" if request.query_params.get("part") == "live" else "dashboard.html"
        response = web.render(request, template, {**context, "board": board, "chart": line_chart(board.series)})
        if counted is not None:
            response.background = BackgroundTask(self._write, lambda c: dashboard.keep_hours(c, counted))
        return response

    async def messages_page(self, request: Request) -> Response:
        return await self._search_page(request, MESSAGES, "messages", "messages.html")

    async def inbox_page(self, request: Request) -> Response:
        return await self._search_page(request, INBOX, "mos", "inbox.html")

    async def message_page(self, request: Request) -> Response:
        """One message: what it is, where it came from, its timeline (services/admin/message_page.py)."""
        _session, context = await self._workspace_page(request, MESSAGES)
        workspace_id = context["workspace"]["instance_id"]
        message_id = id_of(request.path_params["message_id"], "message", digits=19)
        now = self._clock()
        shown = await self._read(lambda c: message_page.message_page(c, workspace_id, message_id, now))
        if shown is None:
            raise Refused(404, f"there is no message {message_id} in workspace {workspace_id}")
        return web.render(request, "message.html", {**context, "message": shown})

    async def _search_page(self, request: Request, page: Page, kind: str, template: str) -> Response:
        """A page of a workspace's messages or MOs, newest first, filtered by the query string."""
        _session, context = await self._workspace_page(request, page)
        workspace_id = context["workspace"]["instance_id"]
        params: dict[str, str | None] = {name: request.query_params.get(name) or None for name in _FILTERS[kind]}
        params["limit"] = _PER_PAGE
        error, found = None, {kind: [], "next": None}

        def search(connection: Connection) -> dict[str, Any]:
            found = messages.search(connection, workspace_id, kind, params)
            if kind == "mos":
                found["mos"] = messages.with_replies(connection, workspace_id, found["mos"])
            return found

        try:
            found = await self._read(search)
        except InvalidParameter as refusal:
            error = refusal.description
        shown_campaigns = await self._read(lambda c: campaigns.list_campaigns(c, workspace_id, include_archived=True))
        filters = {name: value for name, value in params.items() if name != "limit"}
        return web.render(request, template, {**context, "filters": filters, "rows": found[kind],
                                              "campaigns": shown_campaigns,
                                              "statuses": _STATUSES if kind == "messages" else (),
                                              "next": found["next"], "error": error})

    async def export_csv(self, request: Request) -> Response:
        """Every message or MO the page's filters match, as a CSV file, streamed a page per read."""
        kind = request.path_params["kind"]
        if kind not in _FILTERS:
            raise Refused(404, "there is no such export")
        _session, context = await self._workspace_page(request, MESSAGES if kind == "messages" else INBOX)
        workspace_id = context["workspace"]["instance_id"]
        params = {name: request.query_params.get(name) or None for name in _FILTERS[kind] if name != "before"}

        def first(connection: Connection) -> tuple[messages.Export, messages.CsvPage]:
            export = messages.prepare(connection, workspace_id, kind, params, export=True)
            return export, export.page(connection, export.search.before_id)

        try:
            export, page = await self._read(first)
        except InvalidParameter as refusal:
            raise Refused(400, refusal.description) from None
        name = f"{kind}-{context['workspace']['name']}.csv".replace('"', "")
        return web.with_headers(StreamingResponse(
            messages.csv_stream(self._read, export, page), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'}))

    async def campaigns_page(self, request: Request) -> Response:
        """The workspace's campaigns, their buttons, and a "try a message" box (GET: nothing stored)."""
        session, context = await self._workspace_page(request, CAMPAIGNS)
        workspace_id = context["workspace"]["instance_id"]
        rows = await self._read(lambda c: campaigns.list_campaigns(c, workspace_id))
        catalog = self._runtime.catalog
        codes = codes_of(catalog, workspace_id)
        code, text = request.query_params.get("code") or (codes[0] if codes else ""), request.query_params.get("text")
        tried, error = None, None
        if text is not None:
            try:
                tried = try_message(catalog, workspace_id, code, text, self._clock())
            except InvalidParameter as refusal:
                error = refusal.description
        return web.render(request, "campaigns.html", {
            **context, "campaigns": rows, "codes": codes, "code": code, "text": text or "", "tried": tried,
            "error": error, "may_edit": web.may(session, Action.CAMPAIGNS, workspace_id)})

    async def change_campaign(self, request: Request) -> Response:
        session, workspace_id, _form = await self._change(request, Action.CAMPAIGNS)
        change = _CAMPAIGN_CHANGES.get(request.path_params["change"])
        if change is None:
            raise Refused(404, "there is no such change of a campaign")
        campaign_id = id_of(request.path_params["campaign_id"], "campaign")
        now = self._clock()

        def apply(connection: Connection) -> None:
            if campaigns.require_campaign(connection, campaign_id)["workspace_id"] != workspace_id:
                raise Unknown("id", "campaign", f"{campaign_id} in workspace {workspace_id}")
            extra = {"now_ms": now} if change is campaigns.archive_campaign else {}
            change(connection, campaign_id, actor=session.actor, **extra)

        await self._write(apply, catalog=True)
        return web.redirect(f"/w/{workspace_id}/campaigns")

    # -- broadcasts (lists: list_pages.py) -----------------------------------------------------------

    async def broadcasts_page(self, request: Request, *, error: str | None = None, status: int = 200) -> Response:
        """The workspace's broadcasts and their progress; ``?part=live`` is the part that refreshes
        itself (htmx, every 2 s) when the page was opened with one scheduled or on its way."""
        session, context = await self._workspace_page(request, BROADCASTS)
        workspace_id = context["workspace"]["instance_id"]

        def read(connection: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
            shown = [{**row, **broadcasts.broadcast_status(connection, row["id"])}
                     for row in reversed(broadcasts.list_broadcasts(connection, workspace_id))]
            return shown, lists.list_lists(connection, workspace_id)

        rows, workspace_lists = await self._read(read)
        for row in rows:
            row["progress"] = _progress(row)
        template = "broadcasts_live.html" if request.query_params.get("part") == "live" else "broadcasts.html"
        return web.render(request, template, {
            **context, "broadcasts": rows, "lists": workspace_lists, "codes": codes_of(self._runtime.catalog, workspace_id),
            "error": error, "live": any(not row["done"] for row in rows),
            "may_edit": web.may(session, Action.BROADCASTS, workspace_id)}, status)

    async def create_broadcast(self, request: Request) -> Response:
        session, workspace_id, form = await self._change(request, Action.BROADCASTS)
        try:
            list_id = await self._owned_list(workspace_id, form.get("list", ""))
            code, text, at = form.get("code", ""), form.get("text", ""), form.get("at") or None
            if code not in codes_of(self._runtime.catalog, workspace_id):
                raise InvalidParameter("code", f"{code!r} is not one of this workspace's codes")
            await self._write(lambda c: broadcasts.create_broadcast(c, list_id, code, text, actor=session.actor,
                                                                     name=form.get("name", ""), at=at))
        except (InvalidParameter, Refused) as refusal:
            reason = refusal.description if isinstance(refusal, InvalidParameter) else refusal.reason
            return await self.broadcasts_page(request, error=reason, status=400)
        return web.redirect(f"/w/{workspace_id}/broadcasts")

    async def change_broadcast(self, request: Request) -> Response:
        session, workspace_id, _form = await self._change(request, Action.BROADCASTS)
        change = _BROADCAST_CHANGES.get(request.path_params["change"])
        if change is None:
            raise Refused(404, "there is no such change of a broadcast")
        broadcast_id = id_of(request.path_params["broadcast_id"], "broadcast")

        def apply(connection: Connection) -> None:
            if all(b["id"] != broadcast_id for b in broadcasts.list_broadcasts(connection, workspace_id)):
                raise Unknown("id", "broadcast", f"{broadcast_id} in workspace {workspace_id}")
            change(connection, broadcast_id, actor=session.actor)

        try:
            await self._write(apply)
        except InvalidParameter as refusal:
            return await self.broadcasts_page(request, error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/broadcasts")

    async def keys_page(self, request: Request, *, created: dict[str, Any] | None = None,
                        error: str | None = None, status: int = 200) -> Response:
        session, context = await self._workspace_page(request, KEYS)
        workspace_id = context["workspace"]["instance_id"]
        rows = await self._read(lambda c: keys.list_keys(c, workspace_id))
        return web.render(request, "keys.html", {**context, "keys": rows, "created": created, "error": error,
                                                 "may_edit": web.may(session, Action.KEYS, workspace_id)}, status)

    async def create_key(self, request: Request) -> Response:
        """A new key pair, its private key shown on this answer's page only (it is kept encrypted and
        never shown again); ``expires_in`` (``90d``, ``12h``; empty: never) as the CLI takes it."""
        session, workspace_id, form = await self._change(request, Action.KEYS)
        expires_in = form.get("expires_in", "").strip() or None
        try:
            pair = await self._write(lambda c: keys.create_key(c, self._runtime.vault, workspace_id,
                                                               actor=session.actor, expires_in=expires_in),
                                     catalog=True)
        except InvalidParameter as refusal:
            return await self.keys_page(request, error=refusal.description, status=400)
        return await self.keys_page(request, created=pair)

    async def revoke_key(self, request: Request) -> Response:
        session, workspace_id, _form = await self._change(request, Action.KEYS)
        public_key = request.path_params["public_key"]

        def revoke(connection: Connection) -> None:
            if all(k["public_key"] != public_key for k in keys.list_keys(connection, workspace_id)):
                raise Unknown("public_key", "key", f"{public_key} in workspace {workspace_id}")
            keys.revoke_key(connection, public_key, actor=session.actor)

        await self._write(revoke, catalog=True)
        return web.redirect(f"/w/{workspace_id}/keys")

    # -- people ------------------------------------------------------------------------------------

    async def people_page(self, request: Request, *, error: str | None = None, status: int = 200) -> Response:
        """Who holds which role on the workspace (owners and deployment administrators)."""
        session, context = await self._workspace_page(request, PEOPLE)
        workspace_id = context["workspace"]["instance_id"]
        rows = await self._read(lambda c: users.workspace_roles(c, workspace_id))
        return web.render(request, "people.html", {**context, "people": rows, "roles": ROLE_NAMES, "error": error,
                                                   "may_add_accounts": session.deployment_admin}, status)

    async def set_role(self, request: Request) -> Response:
        """Give someone a role (a deployment administrator may make the account too, with a password)."""
        session, workspace_id, form = await self._change(request, Action.USERS)
        email, role, password = form.get("email", ""), form.get("role", ""), form.get("password", "")
        if password and not session.deployment_admin:
            raise Refused(403, "making an account needs a deployment administrator")
        try:
            hashed = await asyncio.to_thread(users.hash_password, password) if password else None

            def apply(connection: Connection) -> None:
                if hashed is not None:
                    users.add_user(connection, email, actor=session.actor, password=hashed)
                users.set_role(connection, email, workspace_id, role, actor=session.actor)

            await self._write(apply)
        except InvalidParameter as refusal:
            return await self.people_page(request, error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/people")

    async def remove_role(self, request: Request) -> Response:
        session, workspace_id, form = await self._change(request, Action.USERS)
        email = form.get("email", "")
        try:
            await self._write(lambda c: users.remove_role(c, email, workspace_id, actor=session.actor))
        except InvalidParameter as refusal:
            return await self.people_page(request, error=refusal.description, status=400)
        return web.redirect(f"/w/{workspace_id}/people")

    async def audit_page(self, request: Request) -> Response:
        _session, context = await self._workspace_page(request, AUDIT)
        workspace_id = context["workspace"]["instance_id"]
        entries = await self._read(lambda c: audit.list_entries(c, workspace_id=workspace_id, limit=100))
        return web.render(request, "audit.html", {**context, "entries": entries})



def _progress(row: dict[str, Any]) -> int:
    """How far a broadcast is, in percent of its members to send to: 100 once nothing is left."""
    if row["done"]:
        return 100
    target = row["members"] - row["skipped_opted_out"] - row["unsendable"]
    handed = row["enqueued"] - row["waiting"]
    return 0 if target <= 0 else min(99, max(0, handed * 100 // target))
