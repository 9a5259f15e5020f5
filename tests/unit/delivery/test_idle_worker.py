"""A delivery worker with nothing to do writes nothing: every task it runs (dispatcher, outbox,
broadcaster, MO-part sweep, idempotency sweep, catalog refresh) looks with reads, and commits only
when there is something to write. Counted by its writers' commits over its dispatcher's idle polls
(a count of loop turns, not a time), on a real database."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sqlalchemy import Engine

from mecm.config import Settings
from mecm.runtime import Runtime
from mecm.store.crypto import load_master_key
from mecm.worker import worker_settings
from tests.support.waiting import wait_until_async


async def test_an_idle_worker_commits_nothing_over_its_idle_polls(engine: Engine, tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(), database_url=str(engine.url.render_as_string(hide_password=False)),
                                   var_dir=str(tmp_path), catalog_refresh_s=0.05)
    load_master_key(settings, create=True)  # as mecm init does
    runtime = Runtime(worker_settings(settings), role="worker")
    await runtime.start()
    try:
        dispatcher = runtime.dispatcher
        assert dispatcher is not None
        await wait_until_async(lambda: dispatcher.idle_polls >= 1, timeout=60)  # past its start
        writers = [runtime.writer, runtime.receipt_writer, runtime.outcome_writer]
        commits = [w.commits for w in writers]
        polls = dispatcher.idle_polls
        # 3 s of idle polls at 0.5 s each
        await wait_until_async(lambda: dispatcher.idle_polls >= polls + 6, timeout=60)
        assert [w.commits for w in writers] == commits
    finally:
        await runtime.stop()
