"""The pages of a workspace, as the top bar lists them: each one's path under ``/w/{workspace_id}``,
its title and the action of domain/roles.py it needs (a test walks every page for every role)."""

from __future__ import annotations

from dataclasses import dataclass

from mecm.domain.roles import Action


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    action: Action


DASHBOARD = Page("", "Dashboard", Action.READ)
MESSAGES = Page("/messages", "Messages", Action.READ)
INBOX = Page("/inbox", "Inbox", Action.READ)
CAMPAIGNS = Page("/campaigns", "Campaigns", Action.READ)
LISTS = Page("/lists", "Lists", Action.READ)
BROADCASTS = Page("/broadcasts", "Broadcasts", Action.READ)
KEYS = Page("/keys", "Keys", Action.READ)
PEOPLE = Page("/people", "People", Action.USERS)
AUDIT = Page("/audit", "Audit log", Action.AUDIT)
SETTINGS = Page("/settings", "Settings", Action.READ)
CODES_AND_CARRIERS = Page("/carriers", "Codes and carriers", Action.READ)
WEBHOOKS = Page("/webhooks", "Webhooks", Action.READ)

# In the top bar's order.
PAGES = (
    DASHBOARD,
    MESSAGES,
    INBOX,
    CAMPAIGNS,
    LISTS,
    BROADCASTS,
    KEYS,
    CODES_AND_CARRIERS,
    WEBHOOKS,
    PEOPLE,
    AUDIT,
    SETTINGS,
)
