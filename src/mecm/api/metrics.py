"""``GET /metrics`` (Prometheus text format) and ``GET /readyz``.

Counted in each API process as requests are answered (a dict increment on the hot path, no lock: one
event loop) and summed over the node's processes at scrape time (api/node_counts.py); read at scrape
time too: the queue by state and the outbox from the database (index
counts of the few non-final rows), who is opted out from the API's view, and each carrier's window,
rate and counters from the delivery worker's status (every number it reports, as a gauge labelled
by carrier). Like every /admin route, these belong on an address only operators reach.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mecm.store.figures import answers, queue_and_outbox

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
QUEUE_STATES = ("PENDING", "SENDING", "SENT_TO_CARRIER")

# (method, SPEC status) -> requests answered; the method is "unknown" for paths that name none.
request_counts: Counter[tuple[str, str]] = Counter()

async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    # Every API process of the node (api/node_counts.py): a few small files, read on the event loop,
    # which is also the only place this process's counts change (a thread would read them mid-change).
    node_counts = request.app.state.node_counts
    counts = node_counts.node_total() if node_counts is not None else request_counts
    queue, jobs = await runtime.writer.read(queue_and_outbox)
    carriers = await runtime.read_carrier_status() or []
    refreshes = await runtime.read_catalog_refreshes()
    registry = CollectorRegistry()
    registry.register(_Snapshot(counts, queue, jobs, carriers, len(runtime.opt_outs) if runtime.opt_outs else 0,
                                refreshes))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE)


class _Snapshot:
    """The figures of one scrape, as Prometheus metric families."""

    def __init__(self, requests: Counter[tuple[str, str]], queue: dict[str, int], jobs: dict[str, int],
                 carriers: list[dict[str, Any]], opted_out: int, catalog_refreshes: dict[str, int]) -> None:
        self._requests = requests
        self._queue, self._jobs, self._carriers, self._opted_out = queue, jobs, carriers, opted_out
        self._catalog_refreshes = catalog_refreshes

    def collect(self):  # noqa: ANN201 - prometheus_client's collector protocol
        requests = CounterMetricFamily("mecm_api_requests", "OGANGI API requests answered, by method and status",
                                       labels=["method", "status"])
        for (method, status), count in sorted(self._requests.items()):
            requests.add_metric([method, status], count)
        yield requests
        queue = GaugeMetricFamily("mecm_queue_messages", "MTs not final yet, by status", labels=["status"])
        for status in QUEUE_STATES:
            queue.add_metric([status], self._queue.get(status, 0))
        yield queue
        jobs = GaugeMetricFamily("mecm_outbox_jobs", "Webhooks and e-mails waiting (pending) or dead-lettered",
                                 labels=["state"])
        for state in ("pending", "dead"):
            jobs.add_metric([state], self._jobs.get(state, 0))
        yield jobs
        yield GaugeMetricFamily("mecm_opted_out_subscribers", "Opt-outs, as this API process knows them",
                                value=self._opted_out)
        refreshes = CounterMetricFamily("mecm_catalog_refreshes", "Periodic re-reads of workspaces, keys, codes,"
                                        " carriers and campaigns completed, by process", labels=["process"])
        for process, count in sorted(self._catalog_refreshes.items()):
            refreshes.add_metric([process], count)
        yield refreshes
        by_name: dict[str, GaugeMetricFamily] = {}
        for carrier in self._carriers:
            for key, value in carrier.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    family = by_name.setdefault(key, GaugeMetricFamily(
                        f"mecm_carrier_{key}", f"Carrier status: {key}", labels=["carrier"]))
                    family.add_metric([str(carrier.get("carrier", ""))], value)
        yield from by_name.values()


async def readyz(request: Request) -> Response:
    """200 once the runtime is started and the database answers and takes writes; says whether a
    worker answers. 503, with the reason, while the database file is gone or replaced (SQLite: a
    restart is the cure, and refuses a missing file), while writes fail (disk full): then each call
    tries a write, so readiness comes back with the first write that succeeds, and while an API
    process on PostgreSQL has lost the session leasing its node id (services/node_lease.py) until it
    leases one again."""
    runtime = request.app.state.runtime
    if runtime.writer is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    if runtime.node_lease is not None and runtime.node_lease.unavailable is not None:
        return JSONResponse({"status": "no node id", "error": runtime.node_lease.unavailable}, status_code=503)
    if runtime.database_file is not None and (problem := runtime.database_file.problem()) is not None:
        return JSONResponse({"status": "database file gone", "error": problem}, status_code=503)
    try:
        await runtime.writer.read(answers)
    except Exception as error:  # noqa: BLE001 - not ready, and why
        return JSONResponse({"status": "database unavailable", "error": error.__class__.__name__}, status_code=503)
    if runtime.writer.failure is not None:
        with contextlib.suppress(Exception):
            await runtime.writer.probe()
        if runtime.writer.failure is not None:
            return JSONResponse({"status": "database writes failing", "error": runtime.writer.failure},
                                status_code=503)
    worker = await runtime.read_carrier_status() is not None
    return JSONResponse({"status": "ready", "delivery_worker": worker})
