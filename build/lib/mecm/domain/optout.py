"""Opt-out and help keywords: what an MO asks of the workspace before any campaign sees it.

A subscriber who sends a STOP-style keyword is opted out of the workspace: every later MT to them
from it is refused (NOT_SENT, "Subscriber opted out") except the answers to these keywords. A
START-style keyword opts them back in; a HELP-style keyword is answered with the workspace's help
text. Each is answered with a confirmation, in the language of the keyword when the default texts
are in use.

**Decision:** the message must be the keyword alone (case, accents, surrounding punctuation and
spaces ignored): "STOP" and "Baja." opt out; "please stop sending me offers" does not, and goes to
the campaigns like any MO. This is how carriers' own STOP handling works, and it keeps a campaign
keyword such as "STOPWATCH" from being taken for a STOP.

The keyword lists and texts are set per workspace, and may be overridden on one of its codes
(``mecm admin optout set``); the opt-out itself covers the whole workspace.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mecm.domain.folding import fold_keyword
from mecm.errors import InvalidParameter



class Intent(str, enum.Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# Keyword -> the language its default answer is in.
DEFAULT_KEYWORDS: dict[Intent, dict[str, str]] = {
    Intent.STOP: {
        "stop": "en", "stopall": "en", "unsubscribe": "en", "cancel": "en", "end": "en", "quit": "en",
        "baja": "es", "alto": "es", "parar": "es", "cancelar": "es", "detener": "es", "salir": "es",
    },
    Intent.START: {"start": "en", "unstop": "en", "subscribe": "en", "alta": "es", "reanudar": "es"},
    Intent.HELP: {"help": "en", "info": "en", "ayuda": "es"},
}

DEFAULT_ANSWERS: dict[Intent, dict[str, str]] = {
    Intent.STOP: {
        "en": "You have been unsubscribed and will receive no more messages. Reply START to subscribe again.",
        "es": "Ha sido dado de baja y no recibirá más mensajes. Responda ALTA para suscribirse de nuevo.",
    },
    Intent.START: {
        "en": "You have been subscribed again. Reply STOP to unsubscribe, HELP for help.",
        "es": "Ha sido suscrito de nuevo. Responda BAJA para darse de baja, AYUDA para ayuda.",
    },
    Intent.HELP: {
        "en": "Reply STOP to unsubscribe, START to subscribe again.",
        "es": "Responda BAJA para darse de baja, ALTA para suscribirse de nuevo.",
    },
}


@dataclass(frozen=True)
class Policy:
    """One workspace's (or one of its codes') keywords and answers.

    ``keywords[intent]`` maps each folded keyword to the language of its default answer ("" for a
    configured keyword). ``answers[intent]``, when set, replaces the default answers whatever the
    language: a workspace that sets its own STOP text gets exactly that text.
    """

    keywords: dict[Intent, dict[str, str]] = field(default_factory=lambda: DEFAULT_KEYWORDS)
    answers: dict[Intent, str] = field(default_factory=dict)

    def answer(self, intent: Intent, language: str) -> str:
        own = self.answers.get(intent)
        if own:
            return own
        defaults = DEFAULT_ANSWERS[intent]
        return defaults.get(language) or defaults["en"]


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Decision:
    """What an MO asks for: the intent, the keyword it matched, and the answer to send."""

    intent: Intent
    keyword: str
    answer: str


def classify(text: str, policy: Policy = DEFAULT_POLICY) -> Decision | None:
    """The opt-out, opt-in or help request ``text`` makes, or None for an ordinary MO."""
    folded = fold_keyword(text)
    if not folded:
        return None
    for intent in Intent:
        language = policy.keywords.get(intent, {}).get(folded)
        if language is not None:
            return Decision(intent, folded.upper(), policy.answer(intent, language))
    return None


def parse_keywords(raw: str, param: str) -> list[str]:
    """A comma-separated keyword list as an admin gives it: folded, each at most 40 characters."""
    words = [fold_keyword(word) for word in raw.split(",")]
    words = [word for word in words if word]
    if not words:
        raise InvalidParameter(param, "no keyword given")
    for word in words:
        if len(word) > 40:
            raise InvalidParameter(param, f"keyword {word!r} is longer than 40 characters")
    return words


def policy_of(keywords: dict[Intent, list[str] | None], answers: dict[Intent, str | None]) -> Policy:
    """A Policy from configured lists and texts; None keeps the default of that intent.

    A keyword in two lists is refused: an MO cannot both opt out and opt in.
    """
    lists = {intent: ({word: "" for word in words} if words is not None else DEFAULT_KEYWORDS[intent])
             for intent, words in ((i, keywords.get(i)) for i in Intent)}
    seen: dict[str, Intent] = {}
    for intent, words in lists.items():
        for word in words:
            other = seen.setdefault(word, intent)
            if other is not intent:
                raise InvalidParameter(f"{intent.value}-keywords",
                                       f"{word.upper()!r} is also a {other.value} keyword")
    return Policy(lists, {intent: text for intent, text in answers.items() if text})
