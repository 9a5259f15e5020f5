"""Keyword regular expressions: campaign matching and the getMOMessages keyword filter.

Patterns come from API clients and campaign owners, so they run on RE2, whose matching time is
linear in the text: a pattern like ``(a+)+$`` cannot stall a worker the way it would with
Python's backtracking ``re``. The price is RE2's syntax: no backreferences, no look-around;
such patterns are refused as "does not compile" when they are submitted.

Matching is case-insensitive everywhere (campaign keywords and the search filter alike):
subscribers type "stop", "Stop" and "STOP", and a search for ``^OGANGI`` is expected to find
what the campaign with the same pattern matched. A pattern is *searched* in the text, not
matched in full, so ``STOP`` finds "please stop"; anchor with ``^...$`` for a whole-text match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from mecm.errors import InvalidParameter

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.never_capture = True  # we only ask "does it occur?"; no group bookkeeping
_OPTIONS.log_errors = False  # a bad client pattern is not worth a line on stderr


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> Any:
    """The compiled pattern, or None when RE2 (or UTF-8 encoding of the pattern) refuses it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except (re2.error, UnicodeEncodeError):
        return None


def compile_keyword(pattern: str, name: str = "keyword") -> Any:
    """A compiled, case-insensitive RE2 pattern, or InvalidParameter(name, ...).

    Cached per pattern, so callers may call this on every message instead of keeping their own
    compiled objects.
    """
    compiled = _compile(pattern)
    if compiled is None:
        raise InvalidParameter(name, "regular expression does not compile")
    return compiled


def _subject(text: str) -> bytes:
    # Search bytes rather than str: the re2 wrapper then skips mapping byte offsets back to
    # character offsets, which we never use. surrogatepass keeps a stray surrogate from raising.
    return text.encode("utf-8", "surrogatepass")


def regex_search(pattern: str, text: str) -> bool:
    """True when `pattern` occurs anywhere in `text`, ignoring case (getMOMessages keyword).

    A pattern that does not compile raises InvalidParameter("keyword", ...).
    """
    return compile_keyword(pattern).search(_subject(text)) is not None


@dataclass(frozen=True)
class KeywordRule:
    """One active campaign's keyword on a code; lower priority number wins, then lower id."""

    campaign_id: int
    name: str
    pattern: str
    priority: int
    reply: str

    def searches(self, subject: bytes) -> bool:
        """True when the pattern occurs in the UTF-8 `subject`; an uncompilable pattern never does."""
        compiled = _compile(self.pattern)
        return compiled is not None and compiled.search(subject) is not None


def match(text: str, rules: Iterable[KeywordRule]) -> KeywordRule | None:
    """The first rule by (priority, campaign_id) whose pattern occurs in the stripped text.

    A stored rule whose pattern does not compile (it was checked when saved, so this means a
    changed RE2 or a hand-edited database) is skipped rather than raised: one broken campaign
    must not stop every MO on the code from being stored and answered.
    """
    subject = _subject(text.strip())
    for rule in sorted(rules, key=_order_key):
        if rule.searches(subject):
            return rule
    return None


def _order_key(rule: KeywordRule) -> tuple[int, int]:
    return (rule.priority, rule.campaign_id)
