"""Keyword regular expressions: campaign matching and the getMOMessages keyword filter.

Patterns come from API clients and campaign owners, so they run on RE2, whose matching time is
linear in the text: a pattern like ``(a+)+$`` cannot stall a worker the way it would with
Python's backtracking ``re``. The price is RE2's syntax: no backreferences, no look-around;
such patterns are refused as "does not compile" when they are submitted.

Matching is case-insensitive everywhere (campaign keywords and the search filter alike):
subscribers type "stop", "Stop" and "STOP", and a search for ``^OGANGI`` is expected to find
what the campaign with the same pattern matched. A pattern is *searched* in the text, not
matched in full, so ``STOP`` finds "please stop"; anchor with ``^...$`` for a whole-text match.

A campaign's keyword has a match mode:

- ``regex``: the pattern is searched in the text, as above, and accents are ignored too (both the
  text and the pattern lose their accents first: ``cafe`` finds "Café");
- ``word``: the text's first word is the keyword ("PROMO now" for PROMO, not "PROMOTION");
- ``prefix``: the text starts with the keyword ("PROMOTION" for PROMO);
- ``fallback``: no keyword; it answers an MO no other campaign matched.

Word and prefix compare folded text (domain/folding.py: case, accents, surrounding punctuation).
A campaign may be case-sensitive, which makes it accent-sensitive as well: it then compares the text
as it came.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from mecm.domain import templates
from mecm.domain.folding import fold_keyword, strip_accents
from mecm.errors import InvalidParameter

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.never_capture = True  # we only ask "does it occur?"; no group bookkeeping
_OPTIONS.log_errors = False  # a bad client pattern is not worth a line on stderr


_SENSITIVE = re2.Options()
_SENSITIVE.never_capture = True
_SENSITIVE.log_errors = False


@lru_cache(maxsize=4096)
def _compile(pattern: str, case_sensitive: bool = False) -> Any:
    """The compiled pattern, or None when RE2 (or UTF-8 encoding of the pattern) refuses it."""
    try:
        return re2.compile(pattern, _SENSITIVE if case_sensitive else _OPTIONS)
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


MATCH_MODES = ("regex", "word", "prefix", "fallback")


@dataclass(frozen=True)
class KeywordRule:
    """One active campaign as matching sees it; lower priority number wins, then lower id."""

    campaign_id: int
    name: str
    pattern: str
    priority: int
    reply: str
    mode: str = "regex"
    case_sensitive: bool = False
    starts_at_ms: int | None = None  # active window; None: no bound
    ends_at_ms: int | None = None
    cap_count: int = 0  # replies to one subscriber per cap_window_s; 0: no cap
    cap_window_s: int = 3600
    quiet_hours: str | None = None  # "22:00-08:00" in the workspace's time zone
    actions: tuple[dict[str, Any], ...] = ()  # after the reply, in order (domain/actions.py)

    def all_actions(self) -> list[dict[str, Any]]:
        """The reply (when the campaign has one), then the other actions, in order."""
        leading = [{"type": "reply", "text": self.reply}] if self.reply else []
        return leading + list(self.actions)

    def searches(self, subject: bytes) -> bool:
        """True when the pattern occurs in the UTF-8 `subject`; an uncompilable pattern never does."""
        pattern = self.pattern if self.case_sensitive else strip_accents(self.pattern)
        compiled = _compile(pattern, self.case_sensitive)
        return compiled is not None and compiled.search(subject) is not None

    def active_at(self, now_ms: int) -> bool:
        return ((self.starts_at_ms is None or self.starts_at_ms <= now_ms)
                and (self.ends_at_ms is None or now_ms < self.ends_at_ms))

    def matches(self, text: str) -> bool:
        """Whether an MO's ``text`` triggers this campaign (a fallback matches anything)."""
        if self.mode == "fallback":
            return True
        if self.mode == "regex":
            stripped = text.strip()
            return self.searches(_subject(stripped if self.case_sensitive else strip_accents(stripped)))
        subject, keyword = _comparable(text, self.case_sensitive), _comparable(self.pattern, self.case_sensitive)
        if self.mode == "prefix":
            return bool(keyword) and subject.startswith(keyword)
        return bool(keyword) and subject.split(" ", 1)[0] == keyword  # word


_CAPTURING = re2.Options()
_CAPTURING.case_sensitive = False
_CAPTURING.log_errors = False


@lru_cache(maxsize=1024)
def _compile_capturing(pattern: str, case_sensitive: bool) -> Any:
    options = _CAPTURING
    if case_sensitive:
        options = re2.Options()
        options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except (re2.error, UnicodeEncodeError):
        return None


def groups(rule: KeywordRule, text: str) -> dict[str, str]:
    """A regular expression campaign's groups in ``text``, as template values "1" to "9"."""
    if rule.mode != "regex" or not any(templates.uses_groups(a.get("text", "") + a.get("body", "")
                                                           + a.get("subject", "")) for a in rule.all_actions()):
        return {}
    stripped = text.strip()
    pattern = rule.pattern if rule.case_sensitive else strip_accents(rule.pattern)
    compiled = _compile_capturing(pattern, rule.case_sensitive)
    found = compiled.search(stripped if rule.case_sensitive else strip_accents(stripped)) if compiled else None
    if found is None:
        return {}
    return {str(i): value or "" for i, value in enumerate(found.groups()[:9], 1)}


def _comparable(text: str, case_sensitive: bool) -> str:
    return " ".join(text.split()) if case_sensitive else fold_keyword(text)


def match(text: str, rules: Iterable[KeywordRule], now_ms: int | None = None) -> KeywordRule | None:
    """The first rule by (priority, campaign_id) that is active at ``now_ms`` (any time when None)
    and matches the text; fallback rules only when no other does.

    A stored rule whose pattern does not compile (it was checked when saved, so this means a
    changed RE2 or a hand-edited database) is skipped rather than raised: one broken campaign
    must not stop every MO on the code from being stored and answered.
    """
    ordered = sorted((r for r in rules if now_ms is None or r.active_at(now_ms)), key=_order_key)
    for rule in ordered:
        if rule.mode != "fallback" and rule.matches(text):
            return rule
    return next((rule for rule in ordered if rule.mode == "fallback"), None)


def overlaps(a: KeywordRule, b: KeywordRule) -> bool:
    """Whether one MO could trigger both campaigns (checked when a campaign is created).

    Exact for word and prefix keywords; a regular expression overlaps a word or prefix keyword it
    matches, and another regular expression only when the two are the same pattern (whether two
    patterns share any text is not something RE2 can answer).
    """
    if a.mode == "fallback" or b.mode == "fallback":
        return a.mode == b.mode
    if a.mode == "regex" and b.mode == "regex":
        return strip_accents(a.pattern).casefold() == strip_accents(b.pattern).casefold()
    if b.mode == "regex":
        a, b = b, a
    if a.mode == "regex":
        return a.matches(b.pattern)
    ka, kb = fold_keyword(a.pattern), fold_keyword(b.pattern)
    if a.mode == "word" and b.mode == "word":
        return ka == kb
    if a.mode == "prefix" and b.mode == "prefix":
        return ka.startswith(kb) or kb.startswith(ka)
    word, prefix = (ka, kb) if a.mode == "word" else (kb, ka)
    return word.startswith(prefix)


def _order_key(rule: KeywordRule) -> tuple[int, int]:
    return (rule.priority, rule.campaign_id)
