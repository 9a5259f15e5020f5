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


PAGES = (
    Page("", "Dashboard", Action.READ),
    Page("/messages", "Messages", Action.READ),
    Page("/inbox", "Inbox", Action.READ),
    Page("/campaigns", "Campaigns", Action.READ),
    Page("/lists", "Lists", Action.READ),
    Page("/broadcasts", "Broadcasts", Action.READ),
    Page("/keys", "Keys", Action.READ),
    Page("/people", "People", Action.USERS),
    Page("/audit", "Audit log", Action.AUDIT),
)
DASHBOARD, MESSAGES, INBOX, CAMPAIGNS, LISTS, BROADCASTS, KEYS, PEOPLE, AUDIT = PAGES
