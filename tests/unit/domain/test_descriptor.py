from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mecm.domain.descriptor import DEFAULT_FIELDS, FireMessage, parse_fire_descriptor
from mecm.errors import InvalidParameter

SPEC_BODY = b"""{
    "event": {
        "fld-val-list": {
            "sender_id_id": "SHORTCODE",
            "keyword_value": "STOP",
            "recipient_address": "13055468310",
        },
    },
}"""


def test_spec_example_with_trailing_commas() -> None:
    assert parse_fire_descriptor(SPEC_BODY) == FireMessage(
        recipient="13055468310", text="STOP", sender="SHORTCODE"
    )


def test_strict_json() -> None:
    body = json.dumps(
        {"event": {"fld-val-list": {"keyword_value": "hi", "recipient_address": "123"}}}
    ).encode()
    assert parse_fire_descriptor(body) == FireMessage("123", "hi", None)


def test_string_contents_are_not_damaged() -> None:
    body = (
        b'{"event": {"fld-val-list": {"keyword_value": "a,} b, ] \\", }", '
        b'"recipient_address": "123", "x": [1, 2, ],},},}'
    )
    assert parse_fire_descriptor(body).text == 'a,} b, ] ", }'


def test_utf8_bom_and_unicode_text() -> None:
    body = '\ufeff{"event":{"fld-val-list":{"keyword_value":"ñandú 😀","recipient_address":"123",}}}'
    assert parse_fire_descriptor(body.encode()).text == "ñandú 😀"


def test_integers_for_numbers_and_empty_sender() -> None:
    body = b'{"event":{"fld-val-list":{"keyword_value":"","recipient_address":13055468310,"sender_id_id":""}}}'
    assert parse_fire_descriptor(body) == FireMessage("13055468310", "", None)
    body = b'{"event":{"fld-val-list":{"keyword_value":"x","recipient_address":"1","sender_id_id":12345}}}'
    assert parse_fire_descriptor(body).sender == "12345"
    body = b'{"event":{"fld-val-list":{"keyword_value":"x","recipient_address":"1","sender_id_id":null}}}'
    assert parse_fire_descriptor(body).sender is None


def test_renamed_fields() -> None:
    fields = {"sender": "to", "text": "body", "recipient": "from"}
    body = b'{"event":{"fld-val-list":{"to":"555","body":"yes","from":"58414"}}}'
    assert parse_fire_descriptor(body, fields) == FireMessage("58414", "yes", "555")
    with pytest.raises(InvalidParameter) as e:
        parse_fire_descriptor(SPEC_BODY, fields)
    assert e.value.reason == "missing from"
    # a role left out keeps its default key
    partial = parse_fire_descriptor(SPEC_BODY, {"sender": "nope"})
    assert partial == FireMessage("13055468310", "STOP", None)


def test_default_fields_mapping() -> None:
    assert dict(DEFAULT_FIELDS) == {
        "sender": "sender_id_id",
        "text": "keyword_value",
        "recipient": "recipient_address",
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b"not json", "not valid JSON"),
        (b'{"event": ', "not valid JSON"),
        (b'{"a": 1,,}', "not valid JSON"),
        (b'{"a": "unterminated,}', "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[]", "not a fire-message descriptor: missing event.fld-val-list"),
        (b'"event"', "not a fire-message descriptor: missing event.fld-val-list"),
        (b"{}", "not a fire-message descriptor: missing event.fld-val-list"),
        (b'{"event": []}', "not a fire-message descriptor: missing event.fld-val-list"),
        (b'{"event": {"fld-val-list": "x"}}', "not a fire-message descriptor: missing event.fld-val-list"),
        (b'{"event": {"fld-val-list": {"keyword_value": "x"}}}', "missing recipient_address"),
        (
            b'{"event": {"fld-val-list": {"keyword_value": "x", "recipient_address": ["1"]}}}',
            "recipient_address must be a string",
        ),
        (
            b'{"event": {"fld-val-list": {"keyword_value": "x", "recipient_address": true}}}',
            "recipient_address must be a string",
        ),
        (
            b'{"event": {"fld-val-list": {"keyword_value": "x", "recipient_address": "  "}}}',
            "empty recipient_address",
        ),
        (b'{"event": {"fld-val-list": {"recipient_address": "1"}}}', "missing keyword_value"),
        (
            b'{"event": {"fld-val-list": {"recipient_address": "1", "keyword_value": 5}}}',
            "keyword_value must be a string",
        ),
        (
            b'{"event": {"fld-val-list": {"recipient_address": "1", "keyword_value": "x", "sender_id_id": {}}}}',
            "sender_id_id must be a string",
        ),
    ],
)
def test_errors(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidParameter) as e:
        parse_fire_descriptor(body)
    assert (e.value.name, e.value.reason) == ("body", reason)


@given(st.text(), st.text(min_size=1).filter(str.strip), st.one_of(st.none(), st.text(min_size=1)))
def test_any_strings_survive_with_trailing_commas(text: str, recipient: str, sender: str | None) -> None:
    values = {"keyword_value": text, "recipient_address": recipient}
    if sender is not None:
        values["sender_id_id"] = sender
    body = json.dumps({"event": {"fld-val-list": values}}, ensure_ascii=False)
    body = body[:-2] + ",},}"  # trailing commas after the inner and the middle object
    assert parse_fire_descriptor(body.encode()) == FireMessage(recipient, text, sender)


@given(st.binary(max_size=200))
def test_never_raises_anything_else(body: bytes) -> None:
    try:
        parse_fire_descriptor(body)
    except InvalidParameter:
        pass
