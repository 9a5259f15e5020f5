"""An in-memory snapshot of what changes rarely: workspaces, keys, codes, carriers, campaigns.

Every request needs these; reading them from the database each time would cost more than the send
itself. The snapshot is rebuilt from the database every ``catalog_refresh_s`` seconds (and at once
when a request names something it does not know, at most every 200 ms), so a change made by the CLI
in another process, such as a revoked key or a key's new expiry, takes effect within that interval.
A key's expiry itself is compared with the clock at each request (services/key_use.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from mecm.domain.keywords import KeywordRule
from mecm.domain.optout import DEFAULT_POLICY, Policy
from mecm.domain.pricing import PriceList
from mecm.domain.ratelimit import Limit
from mecm.store.crypto import Vault
from mecm.store.admin import rule_of
from mecm.store.credit import load_price_lists
from mecm.store.optouts import load_policies
from mecm.store.rate_limits import PinSendOverrides, load_pin_send_overrides, load_rate_limits
from mecm.store.tables import api_keys, campaign_codes, campaigns, carriers, codes, workspaces


@dataclass(frozen=True)
class Workspace:
    id: int
    name: str
    timezone: str
    default_carrier: str | None
    default_code: str | None
    webhook_secret: str | None = None  # signs its webhooks (delivery/webhooks.py)
    pin_in_response: bool = True  # sendSMSPinMobileNumberConfirm answers the PIN (else an empty <pin/>)
    archived: bool = False  # its keys answer BAD_SIGNATURE and its campaigns do not answer


@dataclass(frozen=True)
class ApiKey:
    public_key: str
    private_key: str
    workspace_id: int
    expires_at_ms: int | None = None  # from then on it answers BAD_SIGNATURE (services/key_use.py)


@dataclass(frozen=True)
class Carrier:
    name: str
    connector: str
    prefixes: tuple[str, ...]
    settings: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    workspaces: dict[int, Workspace] = field(default_factory=dict)
    # unrevoked keys, by public key; an expired one stays here and is refused per request (key_use.py)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    code_owner: dict[str, int] = field(default_factory=dict)  # code -> workspace id
    carriers: dict[str, Carrier] = field(default_factory=dict)  # the enabled ones
    # (workspace id, code) -> rules, already in matching order
    rules: dict[tuple[int, str], tuple[KeywordRule, ...]] = field(default_factory=dict)
    # (workspace id, code or "" for the whole workspace) -> STOP / START / HELP keywords and answers
    optout_policies: dict[tuple[int, str], Policy] = field(default_factory=dict)
    # workspace id -> its price list; a workspace absent here pays nothing (store/credit.py)
    price_lists: dict[int, PriceList] = field(default_factory=dict)
    # (workspace id, public key or "" for the workspace, class) -> limit (services/ratelimits.py)
    rate_limits: dict[tuple[int, str, str], Limit] = field(default_factory=dict)
    # workspace id -> its own PIN-send limits (services/pin_sends.py)
    pin_send_overrides: dict[int, PinSendOverrides] = field(default_factory=dict)
    # carriers disabled by an administrator: their queued messages wait (runtime.py)
    disabled_carriers: frozenset[str] = frozenset()

    def workspace_key(self, instance_id: int, public_key: str) -> tuple[Workspace, ApiKey] | None:
        key = self.keys.get(public_key)
        if key is None or key.workspace_id != instance_id:
            return None
        workspace = self.workspaces.get(instance_id)
        return None if workspace is None or workspace.archived else (workspace, key)

    def owns_code(self, workspace_id: int, code: str) -> bool:
        return self.code_owner.get(code) == workspace_id

    def campaigns_on(self, workspace_id: int, code: str) -> tuple[KeywordRule, ...]:
        """The active campaigns an MO to ``code`` may trigger: the code's, and the workspace's
        fallback for every code (stored with code "")."""
        return self.rules.get((workspace_id, code), ()) + self.rules.get((workspace_id, ""), ())

    def optout_policy(self, workspace_id: int, code: str) -> Policy:
        """The keywords and answers on this code: its own, else its workspace's, else the defaults."""
        policies = self.optout_policies
        return policies.get((workspace_id, code)) or policies.get((workspace_id, "")) or DEFAULT_POLICY


_decrypted: dict[str, str] = {}


def _carrier_settings(raw: str, vault: Vault) -> dict[str, Any]:
    """A carrier's settings, with its stored ``password_enc`` (an SMPP password) decrypted into
    ``password`` for the connector. The encrypted form stays out of the result."""
    settings = json.loads(raw)
    encrypted = settings.pop("password_enc", None)
    if encrypted:
        settings["password"] = Secret(_decrypt(encrypted, vault))
    return settings


def _decrypt(token: str, vault: Vault) -> str:
    """A stored secret in clear, decrypted once per process (Fernet costs tens of microseconds)."""
    clear = _decrypted.get(token)
    if clear is None:
        clear = _decrypted[token] = vault.decrypt(token)
    return clear


class Secret(str):
    """A str that does not show itself in a repr, so a logged Carrier or settings dict hides it."""

    def __repr__(self) -> str:
        return "'***'"


def load_catalog(connection: Connection, vault: Vault) -> Catalog:
    default_codes: dict[int, str] = {}
    code_owner: dict[str, int] = {}
    for row in connection.execute(select(codes.c.workspace_id, codes.c.code, codes.c.is_default).order_by(codes.c.id)):
        code_owner[row.code] = row.workspace_id
        if row.is_default or row.workspace_id not in default_codes:
            default_codes[row.workspace_id] = row.code

    workspace_map = {
        row.id: Workspace(row.id, row.name, row.timezone, row.default_carrier, default_codes.get(row.id),
                          Secret(_decrypt(row.webhook_secret_enc, vault)) if row.webhook_secret_enc else None,
                          bool(row.pin_in_response), row.archived_at_ms is not None)
        for row in connection.execute(select(workspaces))
    }

    keys: dict[str, ApiKey] = {}
    for row in connection.execute(select(api_keys).where(api_keys.c.revoked_at_ms.is_(None))):
        keys[row.public_key] = ApiKey(row.public_key, _decrypt(row.private_key_enc, vault), row.workspace_id,
                                      row.expires_at_ms)

    carrier_map = {
        row.name: Carrier(
            row.name,
            row.connector,
            tuple(p for p in row.prefixes.split(",") if p),
            _carrier_settings(row.settings, vault),
        )
        for row in connection.execute(select(carriers).where(carriers.c.is_active.is_(True)))
    }
    disabled = frozenset(connection.execute(select(carriers.c.name).where(carriers.c.is_active.is_(False))).scalars())

    grouped: dict[tuple[int, str], list[KeywordRule]] = {}
    query = (select(campaigns, campaign_codes.c.code.label("listening_code"))
             .select_from(campaigns.join(campaign_codes, campaign_codes.c.campaign_id == campaigns.c.id))
             .where(campaigns.c.is_active.is_(True)))
    for row in connection.execute(query):
        owner = workspace_map.get(row.workspace_id)
        if owner is not None and owner.archived:
            continue  # an archived workspace's campaigns keep their history and stop answering
        rule = rule_of(row)
        grouped.setdefault((row.workspace_id, row.listening_code), []).append(rule)
    rules = {
        key: tuple(sorted(items, key=lambda r: (r.priority, r.campaign_id))) for key, items in grouped.items()
    }
    return Catalog(workspace_map, keys, code_owner, carrier_map, rules, load_policies(connection),
                   load_price_lists(connection), load_rate_limits(connection), load_pin_send_overrides(connection),
                   disabled_carriers=disabled)
