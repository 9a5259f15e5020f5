"""``/admin/api`` routes of a workspace's records: its opt-outs (who, and the STOP / START / HELP
policy), its outbox's dead letters (replay, discard), and searching its messages and MOs (JSON pages,
or every row as CSV, streamed).

The same use cases as ``mecm admin optout``, ``mecm admin webhook``, ``mecm admin message search`` and
``mecm admin mo search`` (services/admin/optouts.py, outbox.py, messages.py), with the asking
principal as the audit log's actor; who may ask is decided before (the rules below).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from mecm.api.admin import calls
from mecm.api.admin.body import Body, in_body_spelling, path_id
from mecm.domain.optout import Intent
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.runtime import Runtime
from mecm.services.admin import messages, optouts, outbox

Handler = Callable[[Request, Runtime], Awaitable[Response]]
_READ = (Action.READ, "workspace_id")
_CSV = "text/csv"


def _workspace(request: Request) -> int:
    return path_id(request.path_params["workspace_id"], "workspace_id")


def _query(request: Request, allowed: set[str]) -> dict[str, str]:
    """The query parameters, each at most once; one not in ``allowed`` is refused, naming it."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            raise InvalidParameter(name, f"unknown query parameter: one of {', '.join(sorted(allowed))}")
        if name in params:
            raise InvalidParameter(name, "given twice")
        params[name] = value
    return params


def _whole(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidParameter(name, "must be a whole number")
    return int(raw)


# -- opt-outs ------------------------------------------------------------------------------------


async def list_opt_outs(request: Request, runtime: Runtime) -> Response:
    """A page of the opted-out numbers, oldest first: ``number`` (digits it contains), ``limit``, ``offset``."""
    workspace_id = _workspace(request)
    params = _query(request, {"number", "limit", "offset"})
    number, limit, offset = params.get("number"), _whole(params, "limit", 100), _whole(params, "offset", 0)
    rows = await calls.read(runtime, lambda c: optouts.list_opt_outs(c, workspace_id, number=number, limit=limit,
                                                                     offset=offset))
    return JSONResponse({"opt_outs": rows})


async def add_opt_out(request: Request, runtime: Runtime) -> Response:
    """Opt a number out, as if it had sent STOP (no answer is sent); the next send to it is refused."""
    workspace_id = _workspace(request)
    number = Body(await request.body()).text("number", required=True, max_length=40) or ""
    return await _set_opted_out(request, runtime, workspace_id, number, opted_out=True)


async def remove_opt_out(request: Request, runtime: Runtime) -> Response:
    """Opt a number back in, as if it had sent START (no answer is sent)."""
    workspace_id = _workspace(request)
    return await _set_opted_out(request, runtime, workspace_id, request.path_params["number"], opted_out=False)


async def _set_opted_out(request: Request, runtime: Runtime, workspace_id: int, number: str, *,
                         opted_out: bool) -> Response:
    actor = calls.actor_of(request)
    row = await calls.write(runtime, lambda c: optouts.set_opted_out(c, workspace_id, number, opted_out=opted_out,
                                                                     actor=actor))
    if row["changed"]:
        await runtime.opt_outs_changed_by_admin()  # the running server's next send is decided on it
    return JSONResponse(row, status_code=201 if opted_out and row["changed"] else 200)


async def show_policy(request: Request, runtime: Runtime) -> Response:
    workspace_id = _workspace(request)
    code = _query(request, {"code"}).get("code", "")
    return JSONResponse(await calls.read(runtime, lambda c: optouts.describe_policy(c, workspace_id, code)))


async def set_policy(request: Request, runtime: Runtime) -> Response:
    """Keywords and answers, on one code (``code``) or the whole workspace; what is not given is kept."""
    workspace_id = _workspace(request)
    body = Body(await request.body())
    code = body.text("code", default="", max_length=32) or ""
    keywords = {intent: body.text(f"{intent.value}_keywords", max_length=2000) for intent in Intent}
    texts = {intent: body.text(f"{intent.value}_text", max_length=2000) for intent in Intent}
    actor = calls.actor_of(request)
    return JSONResponse(await calls.write(runtime, in_body_spelling(lambda c: optouts.configure(
        c, workspace_id, code, keywords, texts, actor=actor))))


# -- webhook dead letters ------------------------------------------------------------------------


async def list_jobs(request: Request, runtime: Runtime) -> Response:
    """The workspace's newest outbox jobs (``state``: pending, done or dead), attempts and last error."""
    workspace_id = _workspace(request)
    params = _query(request, {"state", "limit"})
    state, limit = params.get("state"), _whole(params, "limit", 100)
    return JSONResponse({"jobs": await calls.read(runtime, lambda c: outbox.list_jobs(
        c, state, limit, workspace_id=workspace_id))})


async def replay_jobs(request: Request, runtime: Runtime) -> Response:
    """Dead jobs (``ids``, or ``all``: true) tried again with their attempts counted afresh."""
    count = await _change_jobs(request, runtime, outbox.replay)
    runtime.wake_outbox()
    return JSONResponse({"replayed": count})


async def discard_jobs(request: Request, runtime: Runtime) -> Response:
    """Dead jobs (``ids``, or ``all``: true) deleted: never tried again."""
    return JSONResponse({"discarded": await _change_jobs(request, runtime, outbox.discard)})


async def _change_jobs(request: Request, runtime: Runtime, change: Callable[..., int]) -> int:
    workspace_id = _workspace(request)
    body = Body(await request.body())
    ids, every = body.integers("ids"), body.boolean("all")
    actor = calls.actor_of(request)
    return await calls.write(runtime, lambda c: change(c, ids, every_dead=every, workspace_id=workspace_id,
                                                       actor=actor, ids_param="ids"))


# -- messages and MOs ----------------------------------------------------------------------------


async def search_messages(request: Request, runtime: Runtime) -> Response:
    return await _search(request, runtime, "messages")


async def search_mos(request: Request, runtime: Runtime) -> Response:
    return await _search(request, runtime, "mos")


async def _search(request: Request, runtime: Runtime, kind: str) -> Response:
    """A page as JSON, or with ``format=csv`` (or ``Accept: text/csv``) every matching row as CSV,
    streamed a page per read so a large export never sits in memory."""
    workspace_id = _workspace(request)
    params = _query(request, {*messages.FILTERS[kind], "format"})
    wanted = params.pop("format", None)
    if wanted not in (None, "json", "csv"):
        raise InvalidParameter("format", "must be json or csv")
    as_csv = wanted == "csv" or (wanted is None and _CSV in request.headers.get("accept", ""))
    if not as_csv:
        return JSONResponse(await calls.read(runtime, lambda c: messages.search(c, workspace_id, kind, params)))

    # The first read checks the filters (a 400 or 404 before anything is streamed) and reads the first page.
    def first(c: Connection) -> tuple[messages.Export, messages.CsvPage]:
        export = messages.prepare(c, workspace_id, kind, params, export=True)
        return export, export.page(c, export.search.before_id)

    export, page = await calls.read(runtime, first)

    filename = f"{kind}-workspace-{workspace_id}.csv"
    lines = messages.csv_stream(lambda fn: calls.read(runtime, fn), export, page)
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# (path, handler, methods, rule): the rule as routes.py reads it — the action, and the path parameter
# naming the workspace it concerns.
ROUTES: list[tuple[str, Handler, list[str], tuple[Action, str | None] | None]] = [
    ("/workspaces/{workspace_id}/opt-outs", list_opt_outs, ["GET"], _READ),
    ("/workspaces/{workspace_id}/opt-outs", add_opt_out, ["POST"], (Action.OPTOUTS, "workspace_id")),
    ("/workspaces/{workspace_id}/opt-outs/{number}", remove_opt_out, ["DELETE"], (Action.OPTOUTS, "workspace_id")),
    ("/workspaces/{workspace_id}/opt-out-policy", show_policy, ["GET"], _READ),
    ("/workspaces/{workspace_id}/opt-out-policy", set_policy, ["PATCH"], (Action.OPTOUTS, "workspace_id")),
    ("/workspaces/{workspace_id}/webhooks", list_jobs, ["GET"], _READ),
    ("/workspaces/{workspace_id}/webhooks/replay", replay_jobs, ["POST"], (Action.WEBHOOKS, "workspace_id")),
    ("/workspaces/{workspace_id}/webhooks/discard", discard_jobs, ["POST"], (Action.WEBHOOKS, "workspace_id")),
    ("/workspaces/{workspace_id}/messages", search_messages, ["GET"], _READ),
    ("/workspaces/{workspace_id}/mos", search_mos, ["GET"], _READ),
]
