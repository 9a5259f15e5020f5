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
