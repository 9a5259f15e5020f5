"""The Campaign Manager console: the web application people sign in to (issue 14).

Served by ``mecm serve`` (and ``mecm api``) on the API's own port, at ``/``: server-rendered pages
(Jinja2 templates), htmx for the parts that change in place, no build step and nothing fetched from
another site at run time (htmx ships inside the package: static/vendor/, ``make assets``).

    web.py    headers, cookie, CSRF, role checks, rendering: what every page goes through
    pages.py  the pages and the actions behind their forms, through the administration layer
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mecm.console.pages import Clock, Console, answer_refusals
from mecm.services.admin.audit import now_ms

if TYPE_CHECKING:
    from mecm.runtime import Runtime

STATIC = Path(__file__).parent / "static"


def console_routes(runtime: Runtime, clock: Clock = now_ms) -> list[BaseRoute]:
    console = Console(runtime, clock)

    def route(path: str, handler, methods: list[str]) -> Route:  # noqa: ANN001 - a Console method
        return Route(path, partial(answer_refusals, call=handler), methods=methods)

    return [
        route("/", console.home, ["GET"]),
        route("/sign-in", console.sign_in_page, ["GET"]),
        route("/sign-in", console.sign_in, ["POST"]),
        route("/sign-out", console.sign_out, ["POST"]),
        route("/sign-out-everywhere", console.sign_out_everywhere, ["POST"]),
        route("/two-factor", console.two_factor_page, ["GET"]),
        route("/two-factor", console.enable_two_factor, ["POST"]),
        route("/two-factor/off", console.disable_two_factor, ["POST"]),
        route("/w/{workspace_id}", console.dashboard_page, ["GET"]),
        route("/w/{workspace_id}/messages", console.messages_page, ["GET"]),
        route("/w/{workspace_id}/inbox", console.inbox_page, ["GET"]),
        route("/w/{workspace_id}/export/{kind}.csv", console.export_csv, ["GET"]),
        route("/w/{workspace_id}/campaigns", console.campaigns_page, ["GET"]),
        route("/w/{workspace_id}/campaigns/{campaign_id}/{change}", console.change_campaign, ["POST"]),
        route("/w/{workspace_id}/lists", console.lists_page, ["GET"]),
        route("/w/{workspace_id}/lists", console.create_list, ["POST"]),
        route("/w/{workspace_id}/lists/{list_id}/import", console.import_list, ["POST"]),
        route("/w/{workspace_id}/broadcasts", console.broadcasts_page, ["GET"]),
        route("/w/{workspace_id}/broadcasts", console.create_broadcast, ["POST"]),
        route("/w/{workspace_id}/broadcasts/{broadcast_id}/{change}", console.change_broadcast, ["POST"]),
        route("/w/{workspace_id}/keys", console.keys_page, ["GET"]),
        route("/w/{workspace_id}/keys/{public_key}/revoke", console.revoke_key, ["POST"]),
        route("/w/{workspace_id}/people", console.people_page, ["GET"]),
        route("/w/{workspace_id}/people", console.set_role, ["POST"]),
        route("/w/{workspace_id}/people/remove", console.remove_role, ["POST"]),
        route("/w/{workspace_id}/audit", console.audit_page, ["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
