"""The outbox worker: delivers queued webhooks, status callbacks and e-mails, retrying with backoff.

Jobs are queued in the transaction that stores what caused them (an MO, a status change), so a
job is never lost: it is claimed with a lease (store/outbox.py), carried out, and then marked done,
retried later (``outbox_retry_base_s`` doubling up to ``outbox_retry_max_s``) or, after
``outbox_max_attempts``, dead: kept with its last error for ``mecm admin webhook replay``. A job
that cannot succeed is dead at once: an e-mail with no SMTP server configured, a webhook or callback
whose address the outbound policy refuses (delivery/outbound.py; replay it once the setting
``outbound_allow`` allows the address).

Delivery is at least once: a worker that dies between a receiver's 2xx and marking the job done
posts it again after the lease (receivers drop duplicates by ``X-Mecm-Delivery``). A webhook's text
answer becomes the MO's reply in the transaction that marks the job done, so it is sent once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from urllib.parse import urlsplit

import httpx

from mecm.config import Settings
from mecm.delivery import outbound, webhooks
from mecm.delivery.email import EmailNotConfigured, send_email
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter, OutboundRefused
from mecm.services.catalog import Catalog
from mecm.services.sending import SendingService, SendRequest
from mecm.store import outbox as store
from mecm.store.tables import messages
from mecm.store.writer import GroupCommitWriter

log = logging.getLogger(__name__)

_IDLE_POLL_S = 0.25
_BATCH = 50
_CONCURRENCY = 20  # targets worked on at once


class Outbox:
    def __init__(self, settings: Settings, writer: GroupCommitWriter, catalog: Callable[[], Catalog],
                 sending: SendingService) -> None:
        self._settings = settings
        self._writer = writer
        self._catalog = catalog
        self._sending = sending
        self._wake = asyncio.Event()
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Claim due jobs of targets not already in hand, and work on each target's jobs in a task
        of its own: a target that is slow or down holds up its own jobs only."""
        self._client = outbound.guarded_client(self._settings.outbound_networks, self._settings.webhook_timeout_s)
        busy: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                self._wake.clear()
                jobs = await self._claim(set(busy)) if len(busy) < _CONCURRENCY else []
                for group in _by_target(jobs):
                    busy[group[0].target] = asyncio.create_task(self._attempt_in_turn(group, busy))
                if jobs:
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), _IDLE_POLL_S)
                except TimeoutError:
                    pass
        finally:
            for task in busy.values():
                task.cancel()
            await asyncio.gather(*busy.values(), return_exceptions=True)
            await self._client.aclose()

    async def _claim(self, busy: set[str]) -> list[Any]:
        now = _now_ms()
        if not await self._writer.read(lambda c: store.any_due(c, now)):
            return []  # a read on a pooled connection: no write lock taken while idle
        # A job's lease covers the jobs queued before it to the same target too.
        lease_until = now + int((self._settings.webhook_timeout_s + 5) * _BATCH * 1000)
        return await self._writer.write(lambda c: store.claim_due(c, now, lease_until, _BATCH, busy))

    async def _attempt_in_turn(self, jobs: list[Any], busy: dict[str, asyncio.Task[None]]) -> None:
        """Jobs to one target one after another, in the order they were queued: a status callback
        URL hears SENDING before SENT_TO_CARRIER (a retry can still reorder them: each carries
        ``updated_at_ms``, and a status only moves forward). Then the target is free again."""
        try:
            for job in jobs:
                await self._attempt(job)
        finally:
            busy.pop(jobs[0].target, None)
            self._wake.set()

    async def _attempt(self, job: Any) -> None:
        try:
            try:
                outcome = await self._carry_out(job)
            except (EmailNotConfigured, OutboundRefused) as error:  # trying again cannot help
                reason = str(error)
                await self._writer.write(lambda c: store.mark_dead(c, job.id, reason, _now_ms()))
                log.warning("outbox job %s (%s to %s) dead: %s", job.id, job.kind, _where(job), reason)
                return
            except Exception as error:  # noqa: BLE001 - any failure of one job is retried, not fatal
                outcome = webhooks.Answer(False, error=f"{error.__class__.__name__}: {error}"[:500])
            await self._record(job, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - its lease ends and it is tried again
            log.exception("outbox job %s: recording its outcome failed", job.id)

    async def _record(self, job: Any, outcome: webhooks.Answer) -> None:
        if outcome.ok:
            reply = self._reply_row(job, outcome.text) if outcome.text and job.reply_to else None
            await self._writer.write(_done(job.id, reply), can_wait=True)
            if reply is not None:
                self._sending.announce_accepted()
            return
        if job.attempts >= self._settings.outbox_max_attempts:
            await self._writer.write(lambda c: store.mark_dead(c, job.id, outcome.error, _now_ms()))
            log.warning("outbox job %s (%s to %s) dead after %d attempts: %s", job.id, job.kind,
                        _where(job), job.attempts, outcome.error)
            return
        delay = min(self._settings.outbox_retry_base_s * 2 ** (job.attempts - 1), self._settings.outbox_retry_max_s)
        at = _now_ms() + int(delay * 1000)
        await self._writer.write(lambda c: store.retry_later(c, job.id, outcome.error, at), can_wait=True)
        self._retry_wake(delay)

    def _retry_wake(self, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _carry_out(self, job: Any) -> webhooks.Answer:
        if job.kind == "email":
            content = json.loads(job.payload)
            await send_email(self._settings, job.target, content["subject"], content["body"])
            return webhooks.Answer(True)
        workspace = self._catalog().workspaces.get(job.workspace_id)
        if workspace is None or not workspace.webhook_secret:
            return webhooks.Answer(False, error="the workspace has no webhook secret")
        assert self._client is not None
        event = job.kind if job.kind in ("status", "balance") else "mo"  # balance: store/credit.py
        return await webhooks.post(self._client, job.target, job.payload.encode(), secret=workspace.webhook_secret,
                                   event=event, delivery_id=job.id)

    def _reply_row(self, job: Any, answer: str) -> dict[str, Any] | None:
        catalog = self._catalog()
        workspace = catalog.workspaces.get(job.workspace_id)
        try:
            check_text(answer)
        except Exception:  # noqa: BLE001 - an answer too long for an SMS is not sent
            log.warning("outbox job %s: the webhook's answer is not a sendable SMS; no reply sent", job.id)
            return None
        if workspace is None:
            return None
        try:
            return self._sending.prepare(
                SendRequest(workspace, "", "reply", None, job.reply_code, job.reply_to, answer, mo_id=job.mo_id),
                catalog, checked=False,
            )
        except InvalidParameter as error:  # the code was taken from the workspace since
            log.warning("outbox job %s: no reply sent: %s", job.id, error.description)
            return None


def _where(job: Any) -> str:
    """Where a job goes, fit for a log line: the host of a URL only (URLs carry tokens)."""
    if job.kind == "email":
        return job.target
    try:
        return urlsplit(job.target).hostname or "?"
    except ValueError:
        return "?"


def _by_target(jobs: list[Any]) -> list[list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for job in sorted(jobs, key=lambda j: j.id):
        grouped.setdefault(job.target, []).append(job)
    return list(grouped.values())


def _done(job_id: int, reply: dict[str, Any] | None):  # noqa: ANN202
    """Mark the job done; a webhook's text answer is stored as the MO's reply in the same write."""
    def write(connection: Any) -> None:
        store.mark_done(connection, job_id, _now_ms())
        if reply is not None:
            connection.execute(messages.insert(), [reply])

    return write


def _now_ms() -> int:
    return int(time.time() * 1000)
