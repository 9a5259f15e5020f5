"""``/admin/api/workspaces/{id}/credit`` and ``.../prices``: the admin API's side of prepaid credit, the
same use cases as ``mecm admin credit`` and ``mecm admin price`` (services/admin/credit.py). Amounts are
decimal strings in the workspace's currency ("0.0075"); a bad one is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.api.admin import calls
from mecm.api.admin.body import Body, path_id
from mecm.domain.money import parse_amount, parse_currency
from mecm.domain.pricing import ANY_CARRIER, parse_prefix
from mecm.runtime import Runtime
from mecm.services.admin import credit


def _run(request: Request, runtime: Runtime, fn: Callable[[Connection, int], Any], *,
         write: bool) -> Awaitable[Any]:
    workspace_id = path_id(request.path_params["workspace_id"], "workspace_id")

    def run(connection: Connection) -> Any:
        return fn(connection, workspace_id)  # the use case refuses a workspace that does not exist: 404

    return calls.write(runtime, run) if write else calls.read(runtime, run)


def _currency(body: Body) -> str | None:
    raw = body.text("currency", max_length=3)
    return None if raw is None else parse_currency(raw)


async def get_credit(request: Request, runtime: Runtime) -> Response:
    return JSONResponse(await _run(request, runtime, credit.account, write=False))


async def top_up(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    amount = parse_amount(body.text("amount", required=True, max_length=40), "amount")
    reason = body.text("reason", max_length=500)
    currency = _currency(body)
    actor = calls.actor_of(request)
    account = await _run(request, runtime, lambda c, ws: credit.top_up(c, ws, amount, reason, currency, actor=actor),
                         write=True)
    return JSONResponse(account, status_code=201)


async def set_threshold(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    raw = body.text("low_balance", max_length=40)
    value = None if raw is None else parse_amount(raw, "low_balance", allow_zero=True)
    actor = calls.actor_of(request)
    return JSONResponse(await _run(request, runtime, lambda c, ws: credit.set_threshold(c, ws, value, actor=actor),
                                   write=True))


async def get_ledger(request: Request, runtime: Runtime) -> Response:
    return JSONResponse({"ledger": await _run(request, runtime, credit.ledger, write=False)})


async def list_prices(request: Request, runtime: Runtime) -> Response:
    return JSONResponse({"prices": await _run(request, runtime, credit.prices, write=False)})


async def set_price(request: Request, runtime: Runtime) -> Response:
    body = Body(await request.body())
    per_segment = parse_amount(body.text("per_segment", required=True, max_length=40), "per_segment", allow_zero=True)
    carrier = body.text("carrier", default=ANY_CARRIER, max_length=100)
    prefix = parse_prefix(body.text("prefix", default="", max_length=40))
    currency = _currency(body)
    actor = calls.actor_of(request)
    rows = await _run(request, runtime, lambda c, ws: credit.set_price(
        c, ws, carrier, prefix, per_segment, currency, actor=actor), write=True)
    await runtime.reload_catalog()  # the new price applies to the next send
    return JSONResponse({"prices": rows})


async def clear_prices(request: Request, runtime: Runtime) -> Response:
    actor = calls.actor_of(request)
    removed = await _run(request, runtime, lambda c, ws: credit.clear_prices(c, ws, actor=actor), write=True)
    await runtime.reload_catalog()
    return JSONResponse({"removed": removed})


ROUTES: list[tuple[str, Callable[[Request, Runtime], Awaitable[Response]], list[str]]] = [
    ("/workspaces/{workspace_id}/credit", get_credit, ["GET"]),
    ("/workspaces/{workspace_id}/credit", set_threshold, ["PATCH"]),
    ("/workspaces/{workspace_id}/credit/top-ups", top_up, ["POST"]),
    ("/workspaces/{workspace_id}/credit/ledger", get_ledger, ["GET"]),
    ("/workspaces/{workspace_id}/prices", list_prices, ["GET"]),
    ("/workspaces/{workspace_id}/prices", set_price, ["POST"]),
    ("/workspaces/{workspace_id}/prices", clear_prices, ["DELETE"]),
]
