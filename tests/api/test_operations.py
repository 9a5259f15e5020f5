"""/metrics and /readyz of a running ``mecm serve``."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mecm.client import Client
from tests.support.server import Server


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
    deadline = time.monotonic() + 10
    while (body := httpx.get(f"{server.url}/readyz").json())["delivery_worker"] is not True:
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    assert body["status"] == "ready"
