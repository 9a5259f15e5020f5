"""Issue 16: a request can be followed by the id its proxy gave it. Every request answered with a
failure, and a sample of those that succeed (here every one: ``request_log_every = 1``), leaves a
line at INFO carrying the ``X-Request-Id`` it came with, and never its OGANGI URL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mecm.domain.b64 import encode as b64
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("mecm"), request_log_every="1")
    srv.start()
    yield srv
    srv.stop()


def logged(server: Server, request_id: str) -> str:
    """The request log's line of the request with this id, once the server has written it."""
    def find() -> str | None:
        for line in (server.home / "server.log").read_text().splitlines():
            if " mecm.requests " in line and line.endswith(f"[request {request_id}]"):
                return line
        return None
    return wait_until(find, timeout=30)


def test_a_refused_send_is_logged_with_the_proxys_request_id(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64("13056708084"), b64("secret words")]
    path = server.signed_path("sendSMS", params)[:-4] + "AAAA"  # a signature that does not match
    response = httpx.get(server.url + path, headers={"X-Request-Id": "proxy-7f3a-1"}, timeout=30)
    assert response.headers["x-mecm-status"] == "BAD_SIGNATURE"
    line = logged(server, "proxy-7f3a-1")
    assert " INFO mecm.requests sendSMS BAD_SIGNATURE in " in line and " from 127.0.0.1 " in line
    assert c["public_key"] not in line and b64("secret words") not in line  # no part of the URL


def test_a_sampled_send_that_succeeded_is_logged(server: Server) -> None:
    c = server.creds
    params = [str(c["instance_id"]), c["carrier"], c["code"], b64("13056708084"), b64("hello")]
    response = httpx.get(server.url + server.signed_path("sendSMS", params), headers={"X-Request-Id": "proxy-ok-2"},
                         timeout=30)
    assert response.headers["x-mecm-status"] == "OK"
    assert " mecm.requests sendSMS OK in " in logged(server, "proxy-ok-2")


def test_a_refusal_outside_the_api_is_logged_with_its_http_status(server: Server) -> None:
    response = httpx.get(server.url + "/admin/api/workspaces", headers={"X-Request-Id": "proxy-admin-3"}, timeout=30)
    assert response.status_code == 401
    assert " mecm.requests GET /admin/api/workspaces HTTP 401 in " in logged(server, "proxy-admin-3")
