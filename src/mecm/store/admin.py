"""Administration statements: workspaces, key pairs, codes, carriers, campaigns.

Plain functions over a connection, used by the CLI (and later the admin API). Each validates its
input and raises InvalidParameter naming the option, before writing anything.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, select, update

from mecm.domain.smpp_settings import SmppSettings
from mecm.domain import keywords
from mecm.domain.dates import is_valid_timezone
from mecm.domain.actions import check_url, dump as dump_actions, load as actions_of
from mecm.domain.addresses import Network
from mecm.domain.quiet import parse_quiet_hours
from mecm.domain.text import check_text
from mecm.errors import InvalidParameter
from mecm.store.crypto import Vault
from mecm.store.tables import api_keys, campaign_codes, campaigns, carriers, codes, lists, workspaces

CONNECTORS = ("simulator", "smpp")


def _now_ms() -> int:
    return int(time.time() * 1000)


def create_workspace(
    connection: Connection, name: str, timezone: str = "America/Caracas", default_carrier: str | None = None
) -> dict[str, Any]:
    if not name.strip():
        raise InvalidParameter("name", "empty")
    if not is_valid_timezone(timezone):
        raise InvalidParameter("timezone", f"unknown time zone {timezone!r}")
    if default_carrier is not None:
        _require_carrier(connection, default_carrier, "default-carrier")
    row = {"name": name, "timezone": timezone, "default_carrier": default_carrier, "created_at_ms": _now_ms()}
    workspace_id = connection.execute(workspaces.insert().values(row)).inserted_primary_key[0]
    return {"instance_id": workspace_id, **row}


def set_default_carrier(connection: Connection, workspace_id: int, carrier: str) -> None:
    require_workspace(connection, workspace_id)
    _require_carrier(connection, carrier, "carrier")
    connection.execute(
        update(workspaces).where(workspaces.c.id == workspace_id).values(default_carrier=carrier)
    )


def set_pin_in_response(connection: Connection, workspace_id: int, shown: bool) -> dict[str, Any]:
    """Whether sendSMSPinMobileNumberConfirm answers the PIN itself (``shown``) or an empty <pin/>."""
    require_workspace(connection, workspace_id)
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id).values(pin_in_response=shown))
    return {"instance_id": workspace_id, "pin_in_response": shown}


def webhook_secret(connection: Connection, vault: Vault, workspace_id: int, *, rotate: bool = False) -> str:
    """The key that signs the workspace's webhooks, created on first need (or anew with ``rotate``)."""
    require_workspace(connection, workspace_id)
    stored = connection.execute(
        select(workspaces.c.webhook_secret_enc).where(workspaces.c.id == workspace_id)).scalar_one()
    if stored and not rotate:
        return vault.decrypt(stored)
    secret = secrets.token_urlsafe(32)
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(webhook_secret_enc=vault.encrypt(secret)))
    return secret


def set_status_callback(connection: Connection, vault: Vault, workspace_id: int, url: str,
                        allow: Iterable[Network] = ()) -> dict[str, Any]:
    """Post every status change of the workspace's MTs to ``url`` ("" stops it); ``allow``: the
    setting outbound_allow's networks, which a URL's address must be in unless it is public."""
    require_workspace(connection, workspace_id)
    url = url.strip()
    if url:
        check_url(url, "url", allow)
        webhook_secret(connection, vault, workspace_id)
    connection.execute(update(workspaces).where(workspaces.c.id == workspace_id)
                       .values(status_callback_url=url or None))
    return {"instance_id": workspace_id, "status_callback_url": url or None}


def list_workspaces(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(workspaces).order_by(workspaces.c.id)).mappings().all()
    return [{"instance_id": r["id"], **{k: v for k, v in r.items() if k not in ("id", "webhook_secret_enc")}}
            for r in rows]


def require_workspace(connection: Connection, workspace_id: int) -> None:
    found = connection.execute(select(workspaces.c.id).where(workspaces.c.id == workspace_id)).first()
    if found is None:
        raise InvalidParameter("workspace", f"no workspace {workspace_id}")


def _require_carrier(connection: Connection, name: str, option: str) -> None:
    found = connection.execute(select(carriers.c.id).where(carriers.c.name == name)).first()
    if found is None:
        raise InvalidParameter(option, f"no carrier named {name!r}")


@dataclass(frozen=True)
class KeyPair:
    workspace_id: int
    public_key: str
    private_key: str


def create_key(connection: Connection, vault: Vault, workspace_id: int,
               expires_at_ms: int | None = None) -> KeyPair:
    """A new key pair; ``expires_at_ms`` is checked by the caller (store/keys.py)."""
    require_workspace(connection, workspace_id)
    public_key = uuid.uuid4().hex.upper()
    private_key = secrets.token_urlsafe(32)
    connection.execute(
        api_keys.insert().values(
            workspace_id=workspace_id,
            public_key=public_key,
            private_key_enc=vault.encrypt(private_key),
            created_at_ms=_now_ms(),
            expires_at_ms=expires_at_ms,
        )
    )
    return KeyPair(workspace_id, public_key, private_key)


def revoke_key(connection: Connection, public_key: str) -> None:
    result = connection.execute(
        update(api_keys)
        .where(api_keys.c.public_key == public_key, api_keys.c.revoked_at_ms.is_(None))
        .values(revoked_at_ms=_now_ms())
    )
    if result.rowcount == 0:
        raise InvalidParameter("public-key", "no such active key")


def add_code(connection: Connection, workspace_id: int, code: str, is_default: bool = False) -> dict[str, Any]:
    require_workspace(connection, workspace_id)
    code = code.strip().lstrip("+")
    if not code.isdigit() or not 3 <= len(code) <= 15:
        raise InvalidParameter("code", "must be 3 to 15 digits")
    owner = connection.execute(select(codes.c.workspace_id).where(codes.c.code == code)).first()
    if owner is not None:
        raise InvalidParameter("code", f"already assigned to workspace {owner[0]}")
    if is_default:
        connection.execute(update(codes).where(codes.c.workspace_id == workspace_id).values(is_default=False))
    row = {"workspace_id": workspace_id, "code": code, "is_default": is_default, "created_at_ms": _now_ms()}
    connection.execute(codes.insert().values(row))
    return row


def require_code_of(connection: Connection, workspace_id: int, code: str) -> None:
    owner = connection.execute(select(codes.c.workspace_id).where(codes.c.code == code)).first()
    if owner is None or owner[0] != workspace_id:
        raise InvalidParameter("code", f"code {code} is not assigned to workspace {workspace_id}")


def list_codes(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    query = select(codes.c.workspace_id, codes.c.code, codes.c.is_default).order_by(codes.c.id)
    if workspace_id is not None:
        query = query.where(codes.c.workspace_id == workspace_id)
    return [dict(r) for r in connection.execute(query).mappings().all()]


def add_carrier(
    connection: Connection,
    name: str,
    connector: str,
    prefixes: list[str] | None = None,
    settings: dict[str, Any] | None = None,
    vault: Vault | None = None,
) -> dict[str, Any]:
    """Add a carrier. An smpp carrier's settings are validated by SmppSettings and its password is
    stored encrypted with ``vault`` (as ``password_enc``); the returned row never holds it."""
    if not name.strip() or "/" in name:
        raise InvalidParameter("name", "must be non-empty and contain no '/'")
    if connector not in CONNECTORS:
        raise InvalidParameter("connector", f"must be one of {', '.join(CONNECTORS)}")
    clean_prefixes = [p.strip().lstrip("+") for p in prefixes or [] if p.strip()]
    for prefix in clean_prefixes:
        if not prefix.isdigit():
            raise InvalidParameter("prefix", f"{prefix!r} is not digits")
    stored = dict(settings or {})
    shown = stored
    max_binds = stored.get("max_binds", 1)
    if not isinstance(max_binds, int) or isinstance(max_binds, bool) or not 1 <= max_binds <= 64:
        raise InvalidParameter("max-binds", "must be a whole number from 1 to 64")
    if connector == "simulator":
        _check_simulator_settings(stored)
    elif connector == "smpp":
        stored, shown = _smpp_settings(stored, vault)
    exists = connection.execute(select(carriers.c.id).where(carriers.c.name == name)).first()
    if exists is not None:
        raise InvalidParameter("name", f"a carrier named {name!r} exists")
    row = {
        "name": name,
        "connector": connector,
        "prefixes": ",".join(clean_prefixes),
        "settings": json.dumps(stored, sort_keys=True),
        "is_active": True,
        "created_at_ms": _now_ms(),
    }
    connection.execute(carriers.insert().values(row))
    return {**row, "settings": shown}


def _smpp_settings(settings: dict[str, Any], vault: Vault | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what is stored, what is shown): validated, the password encrypted in one and absent from the other."""
    parsed = SmppSettings.parse(settings)
    stored = {k: v for k, v in settings.items() if k != "password" and v is not None}
    if parsed.password:
        if vault is None:
            raise InvalidParameter("password", "cannot be stored without the master key")
        stored["password_enc"] = vault.encrypt(parsed.password)
    shown = {k: v for k, v in stored.items() if k != "password_enc"}
    if parsed.password:
        shown["password"] = "(encrypted)"
    return stored, shown


def _check_simulator_settings(settings: dict[str, Any]) -> None:
    if not 0.0 <= float(settings.get("failure_rate", 0.0)) <= 1.0:
        raise InvalidParameter("failure-rate", "must be 0 to 1")
    if int(settings.get("delivery_delay_ms", 0)) < 0:
        raise InvalidParameter("delivery-delay-ms", "must be 0 or more")
    if float(settings.get("tps", 0)) < 0:
        raise InvalidParameter("tps", "must be 0 (no limit) or more")


def list_carriers(connection: Connection) -> list[dict[str, Any]]:
    rows = connection.execute(select(carriers).order_by(carriers.c.id)).mappings().all()
    return [{**dict(r), "settings": _shown_settings(json.loads(r["settings"]))} for r in rows]


def _shown_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings fit to print: an encrypted password shows as "(encrypted)", never its ciphertext."""
    if "password_enc" in settings:
        settings = {k: v for k, v in settings.items() if k != "password_enc"}
        settings["password"] = "(encrypted)"
    return settings


def add_campaign(
    connection: Connection,
    workspace_id: int,
    code: str | list[str],
    name: str,
    keyword: str,
    reply: str,
    priority: int = 100,
    *,
    mode: str = "regex",
    case_sensitive: bool = False,
    starts_at_ms: int | None = None,
    ends_at_ms: int | None = None,
    cap_count: int = 5,
    cap_window_s: int = 3600,
    quiet_hours: str | None = None,
    actions: list[dict[str, Any]] | None = None,
    vault: Vault | None = None,
) -> dict[str, Any]:
    """Add an active campaign on one or more codes, refused (naming the option) when any setting
    is wrong, or when an MO could trigger both it and an active campaign of the same priority on
    one of its codes (the other campaign is named; a different priority sets the order)."""
    require_workspace(connection, workspace_id)
    listening = _campaign_codes(code)
    if mode not in keywords.MATCH_MODES:
        raise InvalidParameter("match", f"must be one of {', '.join(keywords.MATCH_MODES)}")
    if mode == "fallback" and keyword.strip():
        raise InvalidParameter("keyword", "a fallback campaign has no keyword")
    if mode != "fallback" and not keyword.strip():
        raise InvalidParameter("keyword", "empty")
    for one in listening:
        if one or mode != "fallback":  # "" (every code) is for a fallback only
            require_code_of(connection, workspace_id, one)
    if not name.strip():
        raise InvalidParameter("name", "empty")
    if mode == "regex":
        keywords.compile_keyword(keyword, "keyword")
    if reply.strip():
        check_text(reply, "reply")
    elif reply or not actions:
        raise InvalidParameter("reply", "empty: a campaign needs a reply or an action")
    if starts_at_ms is not None and ends_at_ms is not None and ends_at_ms <= starts_at_ms:
        raise InvalidParameter("ends", "not after the start")
    if cap_count < 0:
        raise InvalidParameter("cap", "must be 0 (no cap) or more")
    if cap_window_s <= 0:
        raise InvalidParameter("cap-window-s", "must be more than 0")
    if quiet_hours is not None:
        quiet_hours = parse_quiet_hours(quiet_hours)
    row = {
        "workspace_id": workspace_id,
        "code": listening[0],
        "name": name,
        "keyword": keyword,
        "reply": reply,
        "priority": priority,
        "is_active": True,
        "created_at_ms": _now_ms(),
        "match_mode": mode,
        "case_sensitive": case_sensitive,
        "starts_at_ms": starts_at_ms,
        "ends_at_ms": ends_at_ms,
        "cap_count": cap_count,
        "cap_window_s": cap_window_s,
        "quiet_hours": quiet_hours,
        "actions": dump_actions(actions or []),
    }
    for one in listening:
        _refuse_collision(connection, {**row, "code": one})
    for action in actions or ():
        if action["type"] in ("subscribe", "unsubscribe"):
            action["list_id"] = _list_named(connection, workspace_id, action["list"])
    row["actions"] = dump_actions(actions or [])
    if vault is not None and any(action["type"] == "webhook" for action in actions or ()):
        webhook_secret(connection, vault, workspace_id)  # its webhooks are signed from the first
    campaign_id = connection.execute(campaigns.insert().values(row)).inserted_primary_key[0]
    connection.execute(campaign_codes.insert(), [{"campaign_id": campaign_id, "code": one} for one in listening])
    return {"id": campaign_id, **row, "codes": listening}


def _campaign_codes(code: str | list[str]) -> list[str]:
    """The codes given, each once, in order; at least one ("" alone: every code, for a fallback)."""
    given = [code] if isinstance(code, str) else list(code)
    listening = list(dict.fromkeys(one.strip().lstrip("+") for one in given))
    if not listening:
        raise InvalidParameter("code", "at least one code")
    if "" in listening and len(listening) > 1:
        raise InvalidParameter("code", "'' (every code) cannot be combined with other codes")
    return listening


def parse_when(connection: Connection, workspace_id: int, raw: str | None, name: str) -> int | None:
    """An ISO 8601 date and time as epoch ms; without an offset it is in the workspace's time zone."""
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidParameter(name, "must be an ISO 8601 date and time, e.g. 2026-12-24T18:00") from None
    if when.tzinfo is None:
        require_workspace(connection, workspace_id)
        zone = connection.execute(select(workspaces.c.timezone).where(workspaces.c.id == workspace_id)).scalar_one()
        when = when.replace(tzinfo=ZoneInfo(zone))
    return int(when.timestamp() * 1000)


def _list_named(connection: Connection, workspace_id: int, name: str) -> int:
    found = connection.execute(
        select(lists.c.id).where(lists.c.workspace_id == workspace_id, lists.c.name == name)).scalar()
    if found is None:
        raise InvalidParameter("action", f"workspace {workspace_id} has no list named {name!r}")
    return found


def rule_of(row: Any) -> keywords.KeywordRule:
    """A campaign row as matching sees it."""
    return keywords.KeywordRule(
        row.id, row.name, row.keyword, row.priority, row.reply, row.match_mode, bool(row.case_sensitive),
        row.starts_at_ms, row.ends_at_ms, row.cap_count, row.cap_window_s, row.quiet_hours,
        actions_of(row.actions),
    )


def _refuse_collision(connection: Connection, row: dict[str, Any]) -> None:
    new = rule_of(SimpleNamespace(id=0, **row))
    same_place = select(campaigns).select_from(
        campaigns.join(campaign_codes, campaign_codes.c.campaign_id == campaigns.c.id)).where(
        campaigns.c.workspace_id == row["workspace_id"], campaign_codes.c.code == row["code"],
        campaigns.c.is_active.is_(True),
    )
    for other in connection.execute(same_place):
        if other.match_mode == "fallback" and row["match_mode"] == "fallback":
            where = f"code {row['code']}" if row["code"] else "every code"
            raise InvalidParameter("match", f"campaign {other.name!r} is already the fallback on {where}")
        if other.priority == row["priority"] and keywords.overlaps(new, rule_of(other)):
            raise InvalidParameter(
                "keyword", f"collides with active campaign {other.name!r} (same code, same priority "
                f"{other.priority}); give one of them another --priority to set which answers first")


def list_campaigns(connection: Connection, workspace_id: int | None = None) -> list[dict[str, Any]]:
    query = select(campaigns).order_by(campaigns.c.id)
    if workspace_id is not None:
        query = query.where(campaigns.c.workspace_id == workspace_id)
    listening: dict[int, list[str]] = {}
    for campaign_id, one in connection.execute(select(campaign_codes).order_by(campaign_codes.c.code)):
        listening.setdefault(campaign_id, []).append(one)
    return [{**dict(r), "codes": listening.get(r["id"], [])} for r in connection.execute(query).mappings().all()]
