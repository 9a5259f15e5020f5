"""What every console handler stands on: the database through the runtime's writer, the session a
request's cookie opens, a POST's checks (CSRF token, then role), and turning refusals into pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.navigation import PAGES, Page
from mecm.console.web import Refused
from mecm.domain.roles import Action
from mecm.errors import ApiError, Unknown
from mecm.services.admin import audit, lists, sessions, workspaces

if TYPE_CHECKING:
    from mecm.runtime import Runtime

Clock = Callable[[], int]  # epoch milliseconds


class Handlers:
    """The base of the console's handler classes (signing.py, pages.py)."""

    def __init__(self, runtime: Runtime, clock: Clock = audit.now_ms) -> None:
        self._runtime = runtime
        self._clock = clock

    # -- database --------------------------------------------------------------------------------

    async def _read(self, fn: Callable[[Connection], Any]) -> Any:
        assert self._runtime.writer is not None
        return await self._runtime.writer.read(fn)

    async def _write(self, fn: Callable[[Connection], Any], *, catalog: bool = False) -> Any:
        assert self._runtime.writer is not None
        result = await self._runtime.writer.write(fn)
        if catalog:  # a change the API must see at its next request (a revoked key)
            await self._runtime.reload_catalog()
        return result

    async def _session(self, request: Request) -> sessions.Session | None:
        value = request.cookies.get(web.SESSION_COOKIE)
        if not value:
            return None
        now = self._clock()
        return await self._read(lambda c: sessions.session_of(c, value, now))

    async def _signed_in(self, request: Request) -> sessions.Session:
        session = await self._session(request)
        if session is None:
            raise ToSignIn()
        return session

    async def _workspace_page(self, request: Request, page: Page) -> tuple[sessions.Session, dict[str, Any]]:
        """A workspace page's session and the context every page's template takes (the workspace, the
        pages the top bar shows this person), once the role ``page`` needs holds; Refused otherwise."""
        session = await self._signed_in(request)
        workspace_id = workspace_id_of(request)
        web.require(session, page.action, workspace_id)
        listed = await self._read(lambda c: workspaces.list_workspaces(c, include_archived=True))
        workspace = next((w for w in listed if w["instance_id"] == workspace_id), None)
        if workspace is None:
            raise Refused(404, f"there is no workspace {workspace_id}")
        pages = [p for p in PAGES if web.may(session, p.action, workspace_id)]
        return session, {"session": session, "workspace": workspace, "pages": pages, "page": page,
                         "csrf_token": session.csrf_token}

    async def _owned_list(self, workspace_id: int, raw_id: str) -> int:
        """The id of one of the workspace's lists (lists and broadcasts name them); Refused 404 otherwise."""
        list_id = id_of(raw_id, "list")
        owned = await self._read(lambda c: [r["id"] for r in lists.list_lists(c, workspace_id)])
        if list_id not in owned:
            raise Refused(404, f"there is no list {list_id} in workspace {workspace_id}")
        return list_id

    async def _change(self, request: Request, action: Action) -> tuple[sessions.Session, int, dict[str, str]]:
        """A POST's session, workspace and form, once its CSRF token and the role for ``action`` hold."""
        session = await self._signed_in(request)
        form = await web.checked_form(request, session.csrf_token)
        workspace_id = workspace_id_of(request)
        web.require(session, action, workspace_id)
        return session, workspace_id, form


class ToSignIn(Exception):
    """No session: a page sends the browser to the sign-in page."""


def id_of(raw: str, what: str, *, digits: int = 9) -> int:
    """An id as a path or form gives it (digits, at most ``digits``: 19 for a message's 64-bit id);
    Refused 404 naming ``what`` otherwise."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > digits or int(raw) >= 2**63:
        raise Refused(404, f"there is no {what} {raw[:20]}")
    return int(raw)


def workspace_id_of(request: Request) -> int:
    return id_of(request.path_params["workspace_id"], "workspace")


async def answer_refusals(request: Request, call: Callable[[Request], Any]) -> Response:
    """Run a console handler, turning its refusals into pages (403, 404) or a trip to the sign-in."""
    try:
        return await call(request)
    except ToSignIn:
        return web.redirect("/sign-in")
    except Refused as refused:
        return web.render(request, "refused.html", {"reason": refused.reason, "session": None}, refused.status)
    except Unknown as unknown:
        return web.render(request, "refused.html", {"reason": unknown.description, "session": None}, 404)
    except ApiError as error:
        return web.render(request, "refused.html", {"reason": error.description, "session": None}, 400)
