"""What every console response and request goes through: security headers, the session cookie, the
CSRF check on every POST, the role check of every page, and rendering.

- **Headers.** A Content-Security-Policy that allows scripts, styles and images from the console
  itself only (no inline script or style: htmx is told not to add its own style), no framing, no
  sniffing, no referrer to other sites.
- **Cookie.** ``mecm_session``: HttpOnly, SameSite=Strict, ``Secure`` when the request came over
  TLS (directly, or through a proxy that says so with ``X-Forwarded-Proto: https``), path ``/``.
- **CSRF.** Every form carries the session's token; a POST whose token is missing or differs is
  refused 403 before anything is done. The sign-in form, which has no session yet, carries a token
  from a cookie of its own (double submit), so another site cannot sign a browser in either.
- **Roles.** A page says which action of domain/roles.py it needs, and on which workspace; the
  decision is ``decide``'s, as for the admin API. A page the user may not see answers 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from mecm.domain.roles import Action, Role, decide
from mecm.services.admin.sessions import Session

SESSION_COOKIE = "mecm_session"
SIGN_IN_CSRF_COOKIE = "mecm_sign_in"
CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(iso: str | None) -> str:
    """An ISO 8601 time as people read it: ``2026-12-03 10:59:56`` (in the workspace's zone, as given)."""
    return "" if not iso else iso.replace("T", " ")[:19]


def _epoch_when(epoch_ms: int | None) -> str:
    """Epoch milliseconds as ``2026-12-03 10:59`` in UTC (for rows that keep no zone of their own)."""
    from datetime import datetime, timezone

    return "" if epoch_ms is None else datetime.fromtimestamp(epoch_ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = _when
templates.env.filters["epoch_when"] = _epoch_when


class Refused(Exception):
    """Answer ``status`` with a page that says ``reason`` (403: a role, or a CSRF token, is missing)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def secure_request(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def with_headers(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, max_age_s: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age_s, path="/", httponly=True, samesite="strict",
                        secure=secure_request(request))


def same_token(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def checked_form(request: Request, expected_token: str | None) -> dict[str, str]:
    """The POSTed form, once its CSRF token is the one expected; Refused 403 otherwise."""
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if not same_token(fields.get(CSRF_FIELD), expected_token):
        raise Refused(403, "this form has expired or did not come from this console: reload the page and try again")
    return fields


def _decision(session: Session, action: Action, workspace_id: int | None):  # noqa: ANN202 - a Decision
    held = session.roles.get(workspace_id) if workspace_id is not None else None
    return decide(action, role=Role(held) if held else None, deployment_admin=session.deployment_admin)


def may(session: Session, action: Action, workspace_id: int | None) -> bool:
    """Whether to show the control for ``action`` (the POST behind it checks with ``require``)."""
    return _decision(session, action, workspace_id).allowed


def require(session: Session, action: Action, workspace_id: int | None) -> None:
    decision = _decision(session, action, workspace_id)
    if not decision.allowed:
        raise Refused(403, f"you may not do this: {decision.reason}")


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return with_headers(templates.TemplateResponse(request, template, context, status_code=status))


def redirect(url: str) -> Response:
    return with_headers(RedirectResponse(url, status_code=303))


Handler = Callable[[Request], Awaitable[Response]]
