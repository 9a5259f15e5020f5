"""The accounts page (``/accounts``): every console account, outside any workspace, for deployment
administrators only (domain/roles.py's ``Action.ACCOUNTS``).

It lists each account (roles, two-factor sign-in, last sign-in, open sessions) and has forms to add
an account with a first password, disable or enable one, and set a new password. Every POST checks
the CSRF token first, then the role, then does its work through the administration layer
(services/admin/users.py, sessions.py), which writes the audit log, in one transaction: a refusal
(400, naming the field) leaves nothing half-written. Disabling an account, or setting its password,
also ends its console sessions.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from mecm.console import web
from mecm.console.base import Handlers
from mecm.domain.roles import Action
from mecm.errors import InvalidParameter
from mecm.services.admin import sessions, users, workspaces


class Accounts(Handlers):
    async def _deployment_change(self, request: Request) -> tuple[sessions.Session, dict[str, str]]:
        """A POST's session and form, once its CSRF token and the deployment-level role hold (as
        ``Handlers._change``, without a workspace in the path)."""
        session = await self._signed_in(request)
        form = await web.checked_form(request, session.csrf_token)
        web.require(session, Action.ACCOUNTS, None)
        return session, form

    async def accounts_page(self, request: Request, *, error: str | None = None, email: str = "",
                            status: int = 200) -> Response:
        session = await self._signed_in(request)
        web.require(session, Action.ACCOUNTS, None)
        now = self._clock()

        def read(connection: Connection) -> tuple[list, dict, dict]:
            names = {w["instance_id"]: w["name"] for w in workspaces.list_workspaces(connection, include_archived=True)}
            return users.list_users(connection), sessions.sign_in_states(connection, now), names

        accounts, states, names = await self._read(read)
        for account in accounts:
            account.update(states.get(account["id"], {}))
            account["role_list"] = [(names.get(int(ws), f"workspace {ws}"), role)
                                    for ws, role in account["roles"].items()]
        return web.render(request, "accounts.html", {"session": session, "csrf_token": session.csrf_token,
                                                     "accounts": accounts, "error": error, "email": email,
                                                     "on_accounts_page": True}, status)

    async def add_account(self, request: Request) -> Response:
        """A new account with a first password (hashed outside the write, as pages.py's set_role)."""
        session, form = await self._deployment_change(request)
        email, password = form.get("email", ""), form.get("password", "")
        try:
            hashed = await asyncio.to_thread(users.hash_password, password)
            await self._write(lambda c: users.add_user(c, email, actor=session.actor, password=hashed))
        except InvalidParameter as refusal:
            return await self.accounts_page(request, error=refusal.description, email=email[:320], status=400)
        return web.redirect("/accounts")

    async def disable_account(self, request: Request) -> Response:
        return await self._set_disabled(request, True)

    async def enable_account(self, request: Request) -> Response:
        return await self._set_disabled(request, False)

    async def _set_disabled(self, request: Request, disabled: bool) -> Response:
        session, form = await self._deployment_change(request)
        email = form.get("email", "")

        def apply(connection: Connection) -> None:
            if disabled and sessions.normalized(email) == session.email:
                raise InvalidParameter("email", "you cannot disable your own account: another deployment "
                                                "administrator can")
            users.set_disabled(connection, email, disabled, actor=session.actor)
            if disabled:
                sessions.end_sessions_of(connection, email, actor=session.actor)

        try:
            await self._write(apply)
        except InvalidParameter as refusal:
            return await self.accounts_page(request, error=refusal.description, status=400)
        return web.redirect("/accounts")

    async def set_deployment_admin(self, request: Request) -> Response:
        """``admin`` "1": make the account a deployment administrator; otherwise no longer one (not
        the last one, so the deployment always has one)."""
        session, form = await self._deployment_change(request)
        email, admin = form.get("email", ""), form.get("admin") == "1"
        try:
            await self._write(lambda c: users.set_deployment_admin(c, email, admin, actor=session.actor))
        except InvalidParameter as refusal:
            return await self.accounts_page(request, error=refusal.description, status=400)
        return web.redirect("/accounts")

    async def set_password(self, request: Request) -> Response:
        """A new password for an account; its sessions end (yours too, if it is yours: sign in again)."""
        session, form = await self._deployment_change(request)
        email, password = form.get("email", ""), form.get("password", "")
        try:
            hashed = await asyncio.to_thread(users.hash_password, password)

            def apply(connection: Connection) -> None:
                users.set_password(connection, email, hashed, actor=session.actor)
                sessions.end_sessions_of(connection, email, actor=session.actor)

            await self._write(apply)
        except InvalidParameter as refusal:
            return await self.accounts_page(request, error=refusal.description, status=400)
        return web.redirect("/accounts")
