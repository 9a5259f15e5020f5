"""Signing in and out of the console, and two-factor sign-in (the rules: services/admin/sessions.py)."""

from __future__ import annotations

import asyncio

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers
from mecm.console.web import Refused
from mecm.domain.totp import provisioning_uri
from mecm.errors import InvalidParameter
from mecm.services.admin import sessions


QR_TITLE = "QR code of the key's otpauth:// address"


def qr_svg(uri: str) -> Markup:
    """``uri`` as a QR code, an inline ``<svg>`` drawn on the server: one path, with attributes only
    (no style attribute or element: the Content-Security-Policy allows none), dark on a white ground
    whatever the page's colours, and a quiet zone of four modules as scanners expect."""
    code = segno.make(uri, error="m", micro=False)
    return Markup(code.svg_inline(scale=4, border=4, dark="#000", light="#fff", svgclass="qr", title=QR_TITLE))


class Signing(Handlers):
    async def sign_in_page(self, request: Request) -> Response:
        if await self._session(request) is not None:
            return web.redirect("/")
        return self._sign_in_form(request, error=None, email="")

    def _sign_in_form(self, request: Request, *, error: str | None, email: str, status: int = 200) -> Response:
        token = request.cookies.get(web.SIGN_IN_CSRF_COOKIE) or web.new_csrf_token()
        response = web.render(request, "sign_in.html", {"error": error, "email": email, "csrf_token": token,
                                                        "session": None}, status)
        web.set_cookie(request, response, web.SIGN_IN_CSRF_COOKIE, token, max_age_s=None)
        return response

    async def sign_in(self, request: Request) -> Response:
        form = await web.checked_form(request, request.cookies.get(web.SIGN_IN_CSRF_COOKIE))
        email, password = form.get("email", ""), form.get("password", "")
        now = self._clock()
        attempt = await self._write(lambda c: sessions.claim_attempt(c, email, now))
        if attempt.locked_s:
            minutes = -(-attempt.locked_s // 60)
            return self._sign_in_form(request, email=email, status=429, error=(
                f"Too many failed sign-ins for this address: it is locked for {minutes} more minute"
                f"{'s' if minutes != 1 else ''}."))
        user_id, stored_hash = await self._read(lambda c: sessions.password_hash_for(c, email))
        matches = await asyncio.to_thread(sessions.check_password, user_id, stored_hash, password)
        code, vault = form.get("code", ""), self._runtime.vault
        opened = await self._write(lambda c: sessions.open_session(c, user_id, self._clock(), vault=vault,
                                                                   code=code)) \
            if matches and user_id is not None else None
        if not isinstance(opened, tuple):  # a wrong password, or code: counted as a failure (step 1)
            await asyncio.sleep(attempt.answer_delay_s)
            reason = opened if isinstance(opened, str) else sessions.WRONG
            return self._sign_in_form(request, error=reason[0].upper() + reason[1:] + ".", email=email, status=401)
        value, _session = opened
        response = web.redirect("/")
        web.set_cookie(request, response, web.SESSION_COOKIE, value, max_age_s=sessions.SESSION_MS // 1000)
        response.delete_cookie(web.SIGN_IN_CSRF_COOKIE, path="/")
        return response

    async def sign_out(self, request: Request) -> Response:
        session = await self._session(request)
        if session is not None:
            await web.checked_form(request, session.csrf_token)
            value = request.cookies[web.SESSION_COOKIE]
            await self._write(lambda c: sessions.close_session(c, value))
        response = web.redirect("/sign-in")
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    async def sign_out_everywhere(self, request: Request) -> Response:
        session = await self._signed_in(request)
        await web.checked_form(request, session.csrf_token)
        await self._write(lambda c: sessions.close_all_sessions(c, session))
        response = web.redirect("/sign-in")
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    async def two_factor_page(self, request: Request, *, secret: str | None = None, error: str | None = None,
                              status: int = 200) -> Response:
        """Set up two-factor sign-in: a new key to put in an authenticator app, and its first code."""
        session = await self._signed_in(request)
        if session.two_factor:
            return web.redirect("/")
        if secret is None:
            secret, uri = sessions.start_two_factor(session)
        else:
            uri = provisioning_uri(secret, session.email)
        return web.render(request, "two_factor.html", {"session": session, "csrf_token": session.csrf_token,
                                                       "secret": secret, "uri": uri, "qr": qr_svg(uri),
                                                       "error": error}, status)

    async def enable_two_factor(self, request: Request) -> Response:
        session = await self._signed_in(request)
        form = await web.checked_form(request, session.csrf_token)
        secret, code, now, vault = form.get("secret", "")[:64], form.get("code", ""), self._clock(), self._runtime.vault
        try:
            await self._write(lambda c: sessions.enable_two_factor(c, session, secret, code, now, vault=vault))
        except InvalidParameter as refusal:
            return await self.two_factor_page(request, secret=secret, error=refusal.description, status=400)
        return web.redirect("/")

    async def disable_two_factor(self, request: Request) -> Response:
        session = await self._signed_in(request)
        form = await web.checked_form(request, session.csrf_token)
        code, now, vault = form.get("code", ""), self._clock(), self._runtime.vault
        try:
            await self._write(lambda c: sessions.disable_two_factor(c, session, code, now, vault=vault))
        except InvalidParameter as refusal:
            raise Refused(400, refusal.description) from None
        return web.redirect("/")
