"""The Campaign Manager console: the web application people sign in to (issue 14).

Served by ``mecm serve`` (and ``mecm api``) on the API's own port, at ``/``: server-rendered pages
(Jinja2 templates), htmx for the parts that change in place, no build step and nothing fetched from
another site at run time (htmx ships inside the package: static/vendor/, ``make assets``).

    web.py      headers, cookie, CSRF, role checks, rendering: what every page goes through
    base.py     what every handler stands on: reads and writes, the session, a POST's checks, refusals
    signing.py  signing in and out, two-factor sign-in
    accounts.py every console account, outside any workspace (deployment administrators)
    navigation.py  the pages of a workspace the top bar lists, and the role each needs
    pages.py    the workspaces and each workspace's pages, through the administration layer
    campaign_form.py  creating and editing a campaign, checked (collisions too) before saving
    list_pages.py  lists, a list's members, a CSV import with its preview
    operations.py  codes, carriers (live bind status, settings), the webhooks' dead letters
    settings.py the workspace's settings: time zone, callback, opt-out words, limits, credit
    charts.py   the dashboard's chart, drawn as SVG on the server
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mecm.console.accounts import Accounts
from mecm.console.base import Clock, answer_refusals
from mecm.console.campaign_form import CampaignForm
from mecm.console.list_pages import ListPages
from mecm.console.operations import Operations
from mecm.console.pages import Pages
from mecm.console.settings import WorkspaceSettings
from mecm.console.signing import Signing
from mecm.services.admin.audit import now_ms

if TYPE_CHECKING:
    from mecm.runtime import Runtime

STATIC = Path(__file__).parent / "static"


def console_routes(runtime: Runtime, clock: Clock = now_ms) -> list[BaseRoute]:
    pages, signing, campaign_form = Pages(runtime, clock), Signing(runtime, clock), CampaignForm(runtime, clock)
    settings, list_pages = WorkspaceSettings(runtime, clock), ListPages(runtime, clock)
    accounts = Accounts(runtime, clock)
    operations = Operations(runtime, clock)

    def route(path: str, handler, methods: list[str]) -> Route:  # noqa: ANN001 - a handler method
        return Route(path, partial(answer_refusals, call=handler), methods=methods)

    return [
        route("/", pages.home, ["GET"]),
        route("/sign-in", signing.sign_in_page, ["GET"]),
        route("/sign-in", signing.sign_in, ["POST"]),
        route("/sign-out", signing.sign_out, ["POST"]),
        route("/sign-out-everywhere", signing.sign_out_everywhere, ["POST"]),
        route("/two-factor", signing.two_factor_page, ["GET"]),
        route("/two-factor", signing.enable_two_factor, ["POST"]),
        route("/two-factor/off", signing.disable_two_factor, ["POST"]),
        route("/accounts", accounts.accounts_page, ["GET"]),
        route("/accounts", accounts.add_account, ["POST"]),
        route("/accounts/disable", accounts.disable_account, ["POST"]),
        route("/accounts/enable", accounts.enable_account, ["POST"]),
        route("/accounts/password", accounts.set_password, ["POST"]),
        route("/accounts/deployment-admin", accounts.set_deployment_admin, ["POST"]),
        route("/w/{workspace_id}", pages.dashboard_page, ["GET"]),
        route("/w/{workspace_id}/messages", pages.messages_page, ["GET"]),
        route("/w/{workspace_id}/messages/{message_id}", pages.message_page, ["GET"]),
        route("/w/{workspace_id}/inbox", pages.inbox_page, ["GET"]),
        route("/w/{workspace_id}/export/{kind}.csv", pages.export_csv, ["GET"]),
        route("/w/{workspace_id}/campaigns", pages.campaigns_page, ["GET"]),
        route("/w/{workspace_id}/campaigns/new", campaign_form.new_campaign_page, ["GET"]),
        route("/w/{workspace_id}/campaigns/new", campaign_form.save_campaign, ["POST"]),
        route("/w/{workspace_id}/campaigns/{campaign_id}/edit", campaign_form.edit_campaign_page, ["GET"]),
        route("/w/{workspace_id}/campaigns/{campaign_id}/edit", campaign_form.save_campaign, ["POST"]),
        route("/w/{workspace_id}/campaigns/{campaign_id}/{change}", pages.change_campaign, ["POST"]),
        route("/w/{workspace_id}/lists", list_pages.lists_page, ["GET"]),
        route("/w/{workspace_id}/lists", list_pages.create_list, ["POST"]),
        route("/w/{workspace_id}/lists/{list_id}", list_pages.list_page, ["GET"]),
        route("/w/{workspace_id}/lists/{list_id}/import", list_pages.import_list, ["POST"]),
        route("/w/{workspace_id}/lists/{list_id}/preview", list_pages.preview_import, ["POST"]),
        route("/w/{workspace_id}/lists/{list_id}/{change}", list_pages.change_list, ["POST"]),
        route("/w/{workspace_id}/broadcasts", pages.broadcasts_page, ["GET"]),
        route("/w/{workspace_id}/broadcasts", pages.create_broadcast, ["POST"]),
        route("/w/{workspace_id}/broadcasts/{broadcast_id}/{change}", pages.change_broadcast, ["POST"]),
        route("/w/{workspace_id}/keys", pages.keys_page, ["GET"]),
        route("/w/{workspace_id}/keys", pages.create_key, ["POST"]),
        route("/w/{workspace_id}/keys/{public_key}/revoke", pages.revoke_key, ["POST"]),
        route("/w/{workspace_id}/people", pages.people_page, ["GET"]),
        route("/w/{workspace_id}/people", pages.set_role, ["POST"]),
        route("/w/{workspace_id}/people/remove", pages.remove_role, ["POST"]),
        route("/w/{workspace_id}/audit", pages.audit_page, ["GET"]),
        route("/w/{workspace_id}/settings", settings.settings_page, ["GET"]),
        route("/w/{workspace_id}/settings/{form}", settings.change, ["POST"]),
        route("/w/{workspace_id}/carriers", operations.carriers_page, ["GET"]),
        route("/w/{workspace_id}/carriers/{name}/edit", operations.edit_carrier_page, ["GET"]),
        route("/w/{workspace_id}/carriers/{name}/edit", operations.save_carrier, ["POST"]),
        route("/w/{workspace_id}/codes", operations.add_code, ["POST"]),
        route("/w/{workspace_id}/codes/{code}/{change}", operations.change_code, ["POST"]),
        route("/w/{workspace_id}/webhooks", operations.webhooks_page, ["GET"]),
        route("/w/{workspace_id}/webhooks/replay-dead", operations.replay_dead, ["POST"]),
        route("/w/{workspace_id}/webhooks/{job_id}/{change}", operations.change_job, ["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
