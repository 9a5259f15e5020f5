"""STOP / START / HELP classification: the keyword alone, case, accents and punctuation ignored."""

from __future__ import annotations

import pytest

from mecm.domain.folding import fold, fold_keyword
from mecm.domain.optout import Intent, classify, parse_keywords, policy_of
from mecm.errors import InvalidParameter


@pytest.mark.parametrize(("text", "intent", "keyword"), [
    ("STOP", Intent.STOP, "STOP"),
    ("stop", Intent.STOP, "STOP"),
    ("  Stop!  ", Intent.STOP, "STOP"),
    ("¡Bajá!", Intent.STOP, "BAJA"),
    ("ＳＴＯＰ", Intent.STOP, "STOP"),  # fullwidth letters of some keyboards
    ("Cancelar.", Intent.STOP, "CANCELAR"),
    ("start", Intent.START, "START"),
    ("ALTA", Intent.START, "ALTA"),
    ("help?", Intent.HELP, "HELP"),
    ("Ayuda", Intent.HELP, "AYUDA"),
])
def test_default_keywords_in_english_and_spanish(text: str, intent: Intent, keyword: str) -> None:
    decision = classify(text)
    assert decision is not None and (decision.intent, decision.keyword) == (intent, keyword)


@pytest.mark.parametrize("text", ["please stop sending me offers", "STOPWATCH", "stop it", "", "   ", "PROMO"])
def test_anything_but_the_keyword_alone_is_an_ordinary_mo(text: str) -> None:
    assert classify(text) is None


def test_the_answer_is_in_the_language_of_the_keyword() -> None:
    assert classify("STOP").answer.startswith("You have been unsubscribed")
    assert classify("baja").answer.startswith("Ha sido dado de baja")
    assert classify("ayuda").answer.startswith("Responda BAJA")


def test_configured_keywords_replace_the_defaults_of_their_intent_only() -> None:
    policy = policy_of({Intent.STOP: parse_keywords("FIN, Anular", "stop-keywords")},
                       {Intent.STOP: "Listo."})
    assert classify("STOP", policy) is None
    decision = classify("anular", policy)
    assert decision is not None and decision.answer == "Listo."  # whatever the language
    assert classify("start", policy).intent is Intent.START  # defaults kept


def test_a_keyword_in_two_lists_is_refused_naming_both() -> None:
    with pytest.raises(InvalidParameter) as raised:
        policy_of({Intent.START: ["stop"]}, {})
    assert raised.value.name == "start-keywords" and "'STOP' is also a stop keyword" in raised.value.reason


@pytest.mark.parametrize(("raw", "reason"), [(" , ,", "no keyword given"), ("x" * 41, "longer than 40")])
def test_bad_keyword_lists_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidParameter, match=reason):
        parse_keywords(raw, "stop-keywords")


def test_folding() -> None:
    assert fold("Ñandú ÉCOLE") == "nandu ecole"
    assert fold_keyword("  ¿Stop  All?  ") == "stop all"
