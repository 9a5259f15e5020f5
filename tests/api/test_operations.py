"""/metrics and /readyz of a running ``mecm serve``."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mecm.client import Client
from tests.support.server import Server
from tests.support.waiting import wait_until


def samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_metrics_count_requests_by_method_and_status_and_show_the_queue(server: Server) -> None:
    c = server.creds
    before = samples(server)
    key = ("mecm_api_requests_total", (("method", "sendSMS"), ("status", "OK")))
    with Client(server.url, c["instance_id"], c["public_key"], c["private_key"]) as api:
        for _ in range(3):
            api.send_sms("13056708084", "metrics", from_=c["code"])
    httpx.get(f"{server.url}/rest/api/tools/noSuchMethod{'x' * 50}/1/2/3/4")
    after = samples(server)
    assert after[key] - before.get(key, 0) == 3
    assert after[("mecm_api_requests_total", (("method", "unknown"), ("status", "NOT_FOUND")))] >= 1
    assert not [name for name, labels in after if "noSuchMethod" in str(labels)]  # no label from a path
    for status in ("PENDING", "SENDING", "SENT_TO_CARRIER"):
        assert ("mecm_queue_messages", (("status", status),)) in after
    assert ("mecm_outbox_jobs", (("state", "dead"),)) in after


def test_readyz_says_ready_and_whether_the_worker_answers(server: Server) -> None:
    body = wait_until(lambda: (b := httpx.get(f"{server.url}/readyz").json())["delivery_worker"] is True and b, 30)
    assert body["status"] == "ready"


def test_every_response_carries_the_request_id_it_came_with_or_a_new_one(server: Server) -> None:
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], "MTMwNTY3MDgwODQ=",
                                          "aGVsbG8="])
    given = httpx.get(server.url + path, headers={"X-Request-Id": "proxy-42.a"})
    assert given.headers["x-request-id"] == "proxy-42.a"
    for url in (server.url + path, f"{server.url}/healthz"):
        made = [httpx.get(url).headers["x-request-id"] for _ in range(2)]
        assert made[0] and made[0] != made[1]
    # An id that could forge a log line is not taken: a new one is made.
    hostile = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "x\" injected"})
    assert hostile.headers["x-request-id"] not in ("", 'x" injected')


def test_json_logs_are_one_object_per_line_and_carry_the_request_id(tmp_path) -> None:  # noqa: ANN001
    import json
    import logging

    from mecm import logs

    stream = tmp_path / "log.jsonl"
    logs.configure("INFO", "json")
    handler = logging.getLogger().handlers[0]
    handler.setStream(open(stream, "w"))  # noqa: SIM115 - closed with the handler below
    try:
        token = logs.REQUEST_ID.set("req-7")
        try:
            logging.getLogger("mecm.test").warning("sending %s failed", "x")
        finally:
            logs.REQUEST_ID.reset(token)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("mecm.test").exception("outside any request")
        handler.flush()
    finally:
        handler.stream.close()
        logging.getLogger().handlers[:] = []
    first, second = (json.loads(line) for line in stream.read_text().splitlines())
    assert (first["level"], first["logger"], first["message"], first["request_id"]) == (
        "WARNING", "mecm.test", "sending x failed", "req-7")
    assert "request_id" not in second and "ValueError: boom" in second["exception"]


def test_a_server_configured_for_json_logs_writes_only_json(tmp_path) -> None:  # noqa: ANN001
    import json

    from tests.support.server import make_server

    server = make_server(tmp_path, log_format="json")
    server.start()
    try:
        httpx.get(f"{server.url}/healthz")
    finally:
        server.stop()
    lines = (tmp_path / "server.log").read_text().splitlines()
    assert lines and all(json.loads(line)["level"] for line in lines)
