from __future__ import annotations

import pytest

from mecm.domain.keywords import KeywordRule, compile_keyword, match, regex_search
from mecm.errors import InvalidParameter


def rule(cid: int, pattern: str, priority: int = 10, name: str | None = None) -> KeywordRule:
    return KeywordRule(
        campaign_id=cid, name=name or f"c{cid}", pattern=pattern, priority=priority, reply=f"r{cid}"
    )


def test_priority_then_campaign_id_order() -> None:
    rules = [
        rule(3, "stop", priority=5),
        rule(1, "st", priority=5),
        rule(2, "^s", priority=1),
        rule(4, "stop", priority=0),
    ]
    assert match("stop", rules) == rules[3]
    assert match("stop", rules[:3]) == rules[2]
    assert match("stop", rules[:2]) == rules[1]  # same priority: lower campaign id
    assert match("nothing", rules) is None
    assert match("x", []) is None


def test_case_insensitive_search_on_stripped_text() -> None:
    rules = [rule(1, "^STOP$")]
    assert match("stop", rules) == rules[0]
    assert match("  Stop \n", rules) == rules[0]
    assert match("stop please", rules) is None
    assert match("please STOP now", [rule(2, "stop")]) is not None  # searched, not fullmatch


def test_unicode_case_folding() -> None:
    assert match("ÑANDÚ", [rule(1, "ñandú")]) is not None
    assert regex_search("^OGANGI.*", "ogangi test")


def test_accepts_any_iterable() -> None:
    rules = (rule(i, str(i), priority=-i) for i in range(5))
    assert match("0 1 2", rules).campaign_id == 2  # type: ignore[union-attr]


def test_pathological_pattern_is_linear() -> None:
    text = "a" * 10_000 + "!"
    assert regex_search("(a+)+$", text) is False
    assert regex_search("(a+)+!$", text) is True
    assert match(text, [rule(1, "(a|aa)+$"), rule(2, "(a*)*!")]).campaign_id == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("pattern", ["a(", "(a)\\1", "(?=a)", "[z-a]", "a{2000}", "\ud800"])
def test_non_compiling_pattern_raises(pattern: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        compile_keyword(pattern)
    assert (e.value.name, e.value.reason) == ("keyword", "regular expression does not compile")
    with pytest.raises(InvalidParameter) as e:
        compile_keyword(pattern, name="pattern")
    assert e.value.name == "pattern"
    with pytest.raises(InvalidParameter):
        regex_search(pattern, "a")


def test_compile_is_cached() -> None:
    assert compile_keyword("^OGANGI.*") is compile_keyword("^OGANGI.*")


def test_broken_stored_rule_is_skipped() -> None:
    rules = [rule(1, "a(", priority=0), rule(2, "a", priority=1)]
    assert match("a", rules) == rules[1]


def test_quantifier_with_comma() -> None:
    assert regex_search("^a{1,3}$", "AAA")
    assert not regex_search("^a{1,3}$", "aaaa")


def test_text_with_lone_surrogate_does_not_raise() -> None:
    assert regex_search("x", "\ud800x")


def campaign(cid: int, keyword: str, mode: str, priority: int = 10, **options: object) -> KeywordRule:
    return KeywordRule(cid, f"c{cid}", keyword, priority, f"r{cid}", mode, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(("mode", "keyword", "text", "expected"), [
    ("word", "PROMO", "promo now", True),
    ("word", "PROMO", "¡Promo!", True),
    ("word", "PROMO", "PROMOTION", False),
    ("word", "CAFÉ", "cafe con leche", True),
    ("word", "café", "CAFE", True),
    ("prefix", "PROMO", "promotion 2x1", True),
    ("prefix", "PROMO", "a promo", False),
    ("prefix", "Niño", "ninos", True),
    ("regex", "caf[eé]", "CAFÉ", True),
    ("regex", "^cafe$", "  Café ", True),
    ("regex", "olé", "OLE", True),
])
def test_match_modes_ignore_case_and_accents(mode: str, keyword: str, text: str, expected: bool) -> None:
    assert campaign(1, keyword, mode).matches(text) is expected


def test_case_sensitive_campaigns_compare_the_text_as_it_came() -> None:
    assert campaign(1, "PROMO", "word", case_sensitive=True).matches("PROMO now")
    assert not campaign(1, "PROMO", "word", case_sensitive=True).matches("promo now")
    assert not campaign(1, "café", "regex", case_sensitive=True).matches("cafe")
    assert campaign(1, "café", "regex", case_sensitive=True).matches("un café")


def test_fallback_answers_only_what_nothing_else_matched_and_windows_apply() -> None:
    fallback = campaign(9, "", "fallback", priority=0)
    promo = campaign(1, "PROMO", "word", starts_at_ms=1000, ends_at_ms=2000)
    assert match("promo", [fallback, promo], now_ms=1500) is promo
    assert match("promo", [fallback, promo], now_ms=2000) is fallback  # the window has ended
    assert match("promo", [fallback, promo], now_ms=999) is fallback
    assert match("hello", [promo]) is None


@pytest.mark.parametrize(("a", "b", "expected"), [
    (("PROMO", "word"), ("promo", "word"), True),
    (("PROMO", "word"), ("PROMOS", "word"), False),
    (("PROMO", "prefix"), ("PROMOTION", "prefix"), True),
    (("PROMOTION", "word"), ("PROMO", "prefix"), True),
    (("PRO", "word"), ("PROMO", "prefix"), False),
    (("^PROMO", "regex"), ("promo", "word"), True),
    (("^PROMO$", "regex"), ("PROMO2", "word"), False),
    (("^prom[o]", "regex"), ("^PROM[O]", "regex"), True),
    (("^a", "regex"), ("^b", "regex"), False),
    (("", "fallback"), ("", "fallback"), True),
    (("", "fallback"), ("PROMO", "word"), False),
])
def test_overlaps(a: tuple[str, str], b: tuple[str, str], expected: bool) -> None:
    from mecm.domain.keywords import overlaps

    assert overlaps(campaign(1, *a), campaign(2, *b)) is expected
    assert overlaps(campaign(2, *b), campaign(1, *a)) is expected
