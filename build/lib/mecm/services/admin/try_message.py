""""Try a message": which campaign would answer a text sent to one of a workspace's codes, and what
it would reply, without storing or sending anything (the console's campaigns page).

It decides as an MO would be decided now (services/inbound.py): an opt-out or opt-in word first,
then the campaigns active on the code, by priority, a fallback last. A reply's template is
rendered with what an MO gives (the sender is shown as ``{from}``); a subscriber's list field,
unknown here, stays as its placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

from mecm.domain import keywords, optout, templates
from mecm.errors import InvalidParameter
from mecm.services.catalog import Catalog

_MAX_TEXT = 1600


@dataclass(frozen=True)
class Tried:
    answered_by: str | None  # a campaign's name, the opt-out words' "stop", "start" or "help", or None
    keyword: str | None
    replies: tuple[str, ...]  # the texts it would send back to the subscriber
    other_actions: tuple[str, ...]  # what else it would do (forward, webhook, e-mail, list changes)


def codes_of(catalog: Catalog, workspace_id: int) -> list[str]:
    return sorted(code for code, owner in catalog.code_owner.items() if owner == workspace_id)


def try_message(catalog: Catalog, workspace_id: int, code: str, text: str, now_ms: int) -> Tried:
    if code not in codes_of(catalog, workspace_id):
        raise InvalidParameter("code", f"{code!r} is not one of this workspace's codes")
    if not text.strip():
        raise InvalidParameter("text", "is empty: write the message a subscriber would send")
    if len(text) > _MAX_TEXT:
        raise InvalidParameter("text", f"too long: at most {_MAX_TEXT} characters")
    decision = optout.classify(text, catalog.optout_policy(workspace_id, code))
    if decision is not None:
        return Tried(f"the {decision.intent.value.upper()} words", decision.keyword, (decision.answer,) if decision.answer.strip() else (), ())
    rule = keywords.match(text, catalog.campaigns_on(workspace_id, code), now_ms)
    if rule is None:
        return Tried(None, None, (), ())
    values = {"from": "{from}", "to": code, "text": text, "keyword": rule.pattern, **keywords.groups(rule, text)}
    replies, others = [], []
    for action in rule.all_actions():
        kind = action["type"]
        if kind == "reply":
            replies.append(templates.render(action["text"], values))
        elif kind == "forward":
            others.append(f"forward to {action['to']}: {templates.render(action['text'], values)}")
        elif kind == "webhook":
            others.append(f"call the webhook {action['url']}")
        elif kind == "email":
            others.append(f"e-mail {action['to']}: {templates.render(action['subject'], values)}")
        else:
            others.append(f"{kind} the sender (list {action.get('list_id')})")
    return Tried(rule.name, rule.pattern, tuple(replies), tuple(others))
