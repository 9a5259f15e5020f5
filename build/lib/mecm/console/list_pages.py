"""The console's lists: the workspace's lists, a list's own page (its members, a page at a time, with
whether each has opted out; rename, delete, add and remove a member), and a CSV file's import with a
preview first.

The preview reads the file as the import would (domain/member_csv.py) and shows its first members and
every bad line by number, writing nothing; the page asks for it with htmx, so the file stays chosen
in the form and "Import" sends the same file. An import takes the file only when every line is good.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers
from mecm.console.navigation import LISTS
from mecm.console.web import Refused
from mecm.domain.member_csv import read_members
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.services.admin import lists

MAX_CSV_BYTES = 20 * 1024 * 1024  # a list of about half a million numbers with a field or two
PREVIEW_MEMBERS = 10
PREVIEW_ERRORS = 50
MEMBERS_PER_PAGE = 100


class ListPages(Handlers):
    """/w/{id}/lists and /w/{id}/lists/{list_id}[/...]."""

    async def lists_page(self, request: Request, *, outcome: dict[str, Any] | None = None,
                         status: int = 200) -> Response:
        session, context = await self._workspace_page(request, LISTS)
        workspace_id = context["workspace"]["instance_id"]
        rows = await self._read(lambda c: lists.list_lists(c, workspace_id))
        return web.render(request, "lists.html", {**context, "lists": rows, "outcome": outcome or {},
                                                  "may_edit": web.may(session, Action.LISTS, workspace_id)}, status)

    async def create_list(self, request: Request) -> Response:
        session, workspace_id, form = await self._change(request, Action.LISTS)
        name = form.get("name", "")
        try:
            await self._write(lambda c: lists.create_list(c, workspace_id, name, actor=session.actor))
        except InvalidParameter as refusal:
            return await self.lists_page(request, outcome={"error": refusal.description}, status=400)
        return web.redirect(f"/w/{workspace_id}/lists")

    async def import_list(self, request: Request) -> Response:
        """A CSV upload: every line is checked, and a bad one refuses the file, naming its line."""
        session, workspace_id, _form = await self._change(request, Action.LISTS)
        list_id = await self._owned_list(workspace_id, request.path_params["list_id"])
        try:
            text = await _uploaded_text(request)
            done = await self._write(lambda c: lists.import_csv(c, list_id, text, actor=session.actor))
        except InvalidParameter as refusal:
            return await self.lists_page(request, outcome={"list_id": list_id, "error": refusal.description},
                                         status=400)
        return await self.lists_page(request, outcome={"list_id": list_id, "imported": done})

    async def preview_import(self, request: Request) -> Response:
        """What importing the chosen file would do, writing nothing: the part of the page htmx swaps in
        (the whole lists page with it when asked without htmx)."""
        _session, workspace_id, _form = await self._change(request, Action.LISTS)
        list_id = await self._owned_list(workspace_id, request.path_params["list_id"])
        try:
            preview: dict[str, Any] = {"file": read_members(await _uploaded_text(request))}
        except InvalidParameter as refusal:
            preview = {"error": refusal.description}
        preview = {**preview, "list_id": list_id, "members_shown": PREVIEW_MEMBERS, "errors_shown": PREVIEW_ERRORS}
        if request.headers.get("hx-request") == "true":
            return web.render(request, "list_preview.html", {"preview": preview})
        return await self.lists_page(request, outcome={"list_id": list_id, "preview": preview})

    async def list_page(self, request: Request, *, error: str | None = None, status: int = 200) -> Response:
        """One list: its members a page at a time (``?number=`` finds those containing these digits)."""
        session, context = await self._workspace_page(request, LISTS)
        workspace_id = context["workspace"]["instance_id"]
        list_id = await self._owned_list(workspace_id, request.path_params["list_id"])
        number = request.query_params.get("number", "")
        try:
            page = _page_of(request.query_params.get("page", "1"))
            shown = await self._read(lambda c: lists.list_members(c, list_id, number=number, page=page,
                                                                 per_page=MEMBERS_PER_PAGE))
        except InvalidParameter as refusal:
            shown = await self._read(lambda c: lists.list_members(c, list_id, per_page=MEMBERS_PER_PAGE))
            error, status = refusal.description, 400
        page_count = max(1, -(-shown["total"] // MEMBERS_PER_PAGE))
        return web.render(request, "list.html", {
            **context, "list": shown, "number": number, "page_count": page_count, "error": error,
            "may_edit": web.may(session, Action.LISTS, workspace_id)}, status)

    async def change_list(self, request: Request) -> Response:
        """rename, delete, add (a member), remove (a member): each through services/admin/lists.py."""
        session, workspace_id, form = await self._change(request, Action.LISTS)
        list_id = await self._owned_list(workspace_id, request.path_params["list_id"])
        change, actor = request.path_params["change"], session.actor
        changes = {
            "rename": lambda c: lists.rename_list(c, list_id, form.get("name", ""), actor=actor),
            "delete": lambda c: lists.delete_list(c, list_id, actor=actor),
            "add": lambda c: lists.add_member(c, list_id, form.get("number", ""), actor=actor),
            "remove": lambda c: lists.remove_member(c, list_id, form.get("number", ""), actor=actor),
        }
        if change not in changes:
            raise Refused(404, "there is no such change of a list")
        try:
            await self._write(changes[change])
        except InvalidParameter as refusal:
            return await self.list_page(request, error=refusal.description, status=400)
        if change == "delete":
            return web.redirect(f"/w/{workspace_id}/lists")
        return web.redirect(f"/w/{workspace_id}/lists/{list_id}")


async def _uploaded_text(request: Request) -> str:
    """The form's CSV file as text; InvalidParameter("csv") when none was chosen, it is too large or
    it is not UTF-8."""
    upload = (await request.form()).get("csv")
    content = await upload.read(MAX_CSV_BYTES + 1) if isinstance(upload, UploadFile) else b""
    if not content:
        raise InvalidParameter("csv", "choose a CSV file to upload")
    if len(content) > MAX_CSV_BYTES:
        raise InvalidParameter("csv", f"larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidParameter("csv", "not UTF-8 text: save the file as CSV UTF-8") from None


def _page_of(raw: str) -> int:
    """A page number from the address (lists.list_members checks its range); InvalidParameter naming
    ``page`` when it is not a whole number."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidParameter("page", "must be a whole number from 1")
    return int(raw)
