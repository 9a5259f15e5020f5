"""The console for tests: people with passwords and roles (set up in this process, before the
server starts: set-up, not under test), and a client that signs in and posts forms as a browser
does (cookies, the CSRF token of the page the form came from)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpx

from tests.support.server import Server

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "editor", "admin", "owner")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_people(server: Server, people: dict[str, str | None], *, deployment_admins: tuple[str, ...] = ()) -> None:
    """Users named ``<name>@example.com`` with PASSWORD, each with the role given on the demo
    workspace (None: no role); ``deployment_admins`` are made deployment administrators."""
    from mecm.cli.state import open_store
    from mecm.config import load_settings
    from mecm.services.admin import users

    engine, _vault = open_store(load_settings(server.env))
    hashed = users.hash_password(PASSWORD)
    try:
        with engine.begin() as connection:
            for name, role in people.items():
                email = f"{name}@example.com"
                users.add_user(connection, email, actor="test", password=hashed,
                               deployment_admin=name in deployment_admins)
                if role is not None:
                    users.set_role(connection, email, server.creds["instance_id"], role, actor="test")
    finally:
        engine.dispose()


class ConsoleClient:
    """One browser's cookies, against a running server's console."""

    def __init__(self, server: Server, **headers: str) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30, headers=headers, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def csrf_of(self, path: str) -> str:
        page = self.http.get(path)
        assert page.status_code == 200, (path, page.status_code, page.text[:500])
        found = _CSRF.search(page.text)
        assert found, f"no CSRF token in {path}"
        return found.group(1)

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf_of("/sign-in")
        return self.http.post("/sign-in", data={"csrf_token": token, "email": f"{name}@example.com",
                                                "password": password})

    def post(self, path: str, data: dict[str, str] | None = None, *, token_from: str = "/") -> httpx.Response:
        """POST a form with the CSRF token of the page at ``token_from``, as a browser would."""
        return self.http.post(path, data={"csrf_token": self.csrf_of(token_from), **(data or {})})


@contextmanager
def signed_in(server: Server, names: Iterable[str]) -> Iterator[dict[str, ConsoleClient]]:
    """A client signed in (to the workspaces page) for each of ``names``, closed at the end."""
    clients: dict[str, ConsoleClient] = {}
    try:
        for name in names:
            client = clients[name] = ConsoleClient(server)
            answer = client.sign_in(name)
            assert answer.status_code == 303 and answer.headers["location"] == "/", (name, answer.text[:300])
        yield clients
    finally:
        for client in clients.values():
            client.close()
