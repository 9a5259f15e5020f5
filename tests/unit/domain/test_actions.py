from __future__ import annotations

import pytest

from mecm.delivery.webhooks import signature, verify
from mecm.domain import templates
from mecm.domain.actions import parse_action
from mecm.domain.keywords import KeywordRule, groups
from mecm.errors import InvalidParameter


def test_actions_are_parsed_with_their_defaults() -> None:
    assert parse_action("reply:Hi {{from}}") == {"type": "reply", "text": "Hi {{from}}"}
    assert parse_action("forward:+584145550000") == {"type": "forward", "to": "584145550000",
                                                     "text": "{{from}}: {{text}}"}
    assert parse_action("webhook:https://example.com/mo?x=1") == {"type": "webhook",
                                                                  "url": "https://example.com/mo?x=1"}
    assert parse_action("EMAIL:ops@example.com", email_subject="S {{to}}") == {
        "type": "email", "to": "ops@example.com", "subject": "S {{to}}", "body": "{{text}}"}


@pytest.mark.parametrize("spec", ["reply:", "reply:" + "x" * 1601, "webhook:example.com", "webhook:http://[abc/x",
                                  "webhook:http://x:port/", "email:a b@c",
                                  "forward:abc", "nothing", "sms:hi"])
def test_bad_actions_name_the_option(spec: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_action(spec)
    assert raised.value.name == "action"


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/mo", "127.0.0.1 is a loopback address"),
    ("http://2130706433/", "127.0.0.1 is a loopback address"),
    ("https://0x7f.0.0.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://10.0.0.1/mo", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:10.0.0.1]/", "10.0.0.1, a private address"),
    ("http://[::1]:9000/", "::1 is a loopback address"),
    ("http://[fd00::1]/", "unique local"),
    ("http://user:pw@100.64.1.1/", "CGNAT"),
])
def test_a_webhook_to_an_internal_address_is_refused_naming_the_option_and_the_setting(url: str, reason: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        parse_action(f"webhook:{url}", param="actions")
    assert raised.value.name == "actions"
    assert reason in raised.value.reason and "outbound_allow" in raised.value.reason


def test_the_allow_list_admits_a_webhook_to_an_internal_address_and_a_name_waits_for_its_connection() -> None:
    from mecm.domain.addresses import parse_allow

    allow = parse_allow("127.0.0.1/32")
    assert parse_action("webhook:http://127.0.0.1:8080/mo", allow=allow)["url"] == "http://127.0.0.1:8080/mo"
    with pytest.raises(InvalidParameter, match="127.0.0.2 is a loopback"):
        parse_action("webhook:http://127.0.0.2/", allow=allow)
    # A name is checked on what it resolves to, at each connection (delivery/outbound.py).
    assert parse_action("webhook:http://localhost:8080/mo")["url"] == "http://localhost:8080/mo"
    assert parse_action("webhook:http://8.8.8.8/mo")["url"] == "http://8.8.8.8/mo"


def test_templates_keep_unknown_placeholders_visible() -> None:
    values = {"from": "58414", "text": "hola", "1": "77"}
    assert templates.render("{{from}} said {{ text }} ({{1}}) {{2}} {{nope}}", values) == \
        "58414 said hola (77) {{2}} {{nope}}"


def test_regex_groups_ignore_accents_like_the_match() -> None:
    rule = KeywordRule(1, "c", r"^pedido (\w+)", 1, "Pedido {{1}}")
    assert groups(rule, "PEDIDO café") == {"1": "cafe"}
    assert groups(KeywordRule(1, "c", r"^pedido (\w+)", 1, "no groups"), "pedido x") == {}


def test_webhook_signature_is_hmac_sha256_of_the_body() -> None:
    # echo -n '{"a":1}' | openssl dgst -sha256 -hmac key
    got = signature("key", b'{"a":1}')
    assert got == "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342"
    assert verify("key", b'{"a":1}', got) and not verify("key", b'{"a":2}', got)
