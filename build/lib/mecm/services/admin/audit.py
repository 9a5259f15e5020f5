"""The audit log: who changed what, before and after, when; written in the change's own transaction
(so a refused or failed change leaves no entry) and read by ``mecm admin audit list`` and
``GET /admin/api/audit``.

Actors are named as strings: ``user:<e-mail>`` (a personal token of the admin API),
``admin-token`` (the deployment's single admin token), ``cli:<OS user>`` (the local operator, who has
the database file and the master key). Entries never hold a password, a token or a private key.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection

from mecm.errors import InvalidParameter
from mecm.store import audit as store_audit

ADMIN_TOKEN_ACTOR = "admin-token"
_SECRET_FIELDS = {"private_key", "password", "password_hash", "token", "token_hash", "webhook_secret",
                  "totp_secret"}


def now_ms() -> int:
    return int(time.time() * 1000)


def iso(epoch_ms: int | None) -> str | None:
    """Epoch ms as ISO 8601 in UTC, to the second (users and tokens belong to no workspace's zone)."""
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, timezone.utc).isoformat(timespec="seconds")


def cli_actor() -> str:
    """The CLI's actor: the OS user running it (the local operator)."""
    import getpass

    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001 - no name in this environment: still an operator at the console
        name = "unknown"
    return f"cli:{name}"


def _without_secrets(value: Any) -> Any:
    """``value`` with every secret field left out, at any depth (a carrier's settings are nested)."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if k not in _SECRET_FIELDS}
    if isinstance(value, (list, tuple)):
        return [_without_secrets(v) for v in value]
    return value


def _json(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(_without_secrets(value), sort_keys=True, default=str)


def record(connection: Connection, actor: str, action: str, subject: str, *, workspace_id: int | None = None,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    store_audit.insert_entry(connection, at_ms=now_ms(), actor=actor, action=action, subject=subject,
                             workspace_id=workspace_id, before=_json(before), after=_json(after))


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of only the fields that differ: an edit's entry shows what it changed."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _instant(raw: str | None, name: str) -> int | None:
    """An ISO 8601 date or date and time as epoch ms; without an offset, in UTC (as entries show times)."""
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidParameter(name, "must be an ISO 8601 date or date and time, e.g. 2026-12-24T18:00:00+00:00") \
            from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


def _action(raw: str | None) -> tuple[str | None, str | None]:
    """(an exact action, a subject's prefix): ``carrier.edit`` names one action, ``carrier`` all of carriers'."""
    if raw is None:
        return None, None
    action = raw.strip().lower()
    if not action or len(action) > 64 or not all(c.isalnum() or c in "._-" for c in action):
        raise InvalidParameter("action", "must be an action (carrier.edit) or a subject (carrier)")
    return (action, None) if "." in action else (None, action + ".")


def list_entries(connection: Connection, *, workspace_id: int | None = None, user: str | None = None,
                 action: str | None = None, since: str | None = None, until: str | None = None,
                 limit: int = 100) -> list[dict[str, Any]]:
    """Newest first. ``user``: an e-mail (its API changes) or an actor as written (``cli:ana``);
    ``action``: one action (``key.rotate``) or every action of a subject (``key``); ``since`` and
    ``until``: ISO 8601 instants (UTC without an offset), both included."""
    if not 1 <= limit <= 10_000:
        raise InvalidParameter("limit", "must be between 1 and 10000")
    actor = None
    if user is not None:
        if len(user) > 400 or not user.isprintable():
            raise InvalidParameter("user", "must be an e-mail address or an actor (cli:ana, admin-token)")
        actor = user if ":" in user or user == ADMIN_TOKEN_ACTOR else f"user:{user.strip().lower()}"
    exact, prefix = _action(action)
    since_ms, until_ms = _instant(since, "since"), _instant(until, "until")
    if since_ms is not None and until_ms is not None and until_ms < since_ms:
        raise InvalidParameter("until", "is before since")
    rows = store_audit.entries(connection, workspace_id=workspace_id, actor=actor, action=exact,
                               action_prefix=prefix, since_ms=since_ms, until_ms=until_ms, limit=limit)
    return [{"id": r["id"], "at": iso(r["at_ms"]), "actor": r["actor"], "action": r["action"],
             "subject": r["subject"], "workspace_id": r["workspace_id"],
             "before": json.loads(r["before"]) if r["before"] else None,
             "after": json.loads(r["after"]) if r["after"] else None} for r in rows]
