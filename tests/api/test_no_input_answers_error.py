"""No input makes any method answer ERROR or anything but a well-formed envelope (issue 12, Fix 6).

Hypothesis builds arbitrary path segments and bodies for each of the eight methods and verifyPin, signs them with
the workspace's real key (so they get past authentication to the parameter checks and the writes),
and sends them to a real server: every answer must be a well-formed XML (or JSON) envelope whose
status is one of SPEC section 4's, never ERROR.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mecm.domain.b64 import encode as b64
from tests.support.server import Server

# Everything but ERROR (SPEC section 4).
ANSWERS = {"OK", "BAD_SIGNATURE", "INVALID_PARAMETER", "NOT_FOUND", "RATE_LIMITED", "NOT_ENOUGH_FUNDS"}

# (method, path prefix, number of parameters after instanceId, HTTP method)
METHODS = [
    ("sendSMS", "tools/", 4, "GET"),
    ("sendMT", "", 4, "GET"),
    ("sendMT", "", 5, "GET"),
    ("sendSMSPinMobileNumberConfirm", "tools/", 5, "GET"),
    ("fireMessage", "", 2, "GET"),
    ("fireMessage", "", 0, "POST"),
    ("getMOMessages", "tools/", 3, "GET"),
    ("getMessage", "tools/", 1, "GET"),
    ("verifyPin", "tools/", 2, "GET"),
]

# Text of every kind: surrogates, controls, separators, percent signs.
anything = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(st.sampled_from("a1 /%+=\x00\x1f\x7f\u2028\ufffe\ud800\udfffé€😀"), max_size=12),  # the awkward ones
)
# Digits int() reads ("٣") and digits it does not ("²", "①") although str.isdigit says they are.
unicode_digits = st.text(st.sampled_from("0123456789²³¹⁰٣۴०১๓០０１𝟎①⑴⒈"), min_size=1, max_size=20)
numbers = st.one_of(
    st.integers(min_value=-1, max_value=10**25).map(str),
    st.integers(min_value=2**63 - 3, max_value=2**64 + 3).map(str),  # around a 64-bit id's limits
    unicode_digits,
)
base64_text = anything.filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)).map(b64)
segment = st.one_of(anything, numbers, base64_text, st.sampled_from(["null", "", "%", "%zz", "..", "."]))
json_value = st.one_of(anything, numbers, st.integers(), st.none(), st.floats(), st.lists(st.integers(), max_size=2))
descriptor = st.fixed_dictionaries(
    {"recipient_address": st.one_of(st.just("13056708084"), json_value), "keyword_value": json_value},
    optional={"sender_id_id": json_value, "other": json_value},
).map(lambda fields: json.dumps({"event": {"fld-val-list": fields}}).encode())


def percent_encoded(value: str) -> str:
    if value in (".", ".."):  # a client would remove these as dot-segments (RFC 3986), so escape them
        return value.replace(".", "%2E")
    return quote(value, safe="", errors="surrogatepass")


def _fits_a_path_as_is(value: str) -> bool:
    """Printable ASCII that does not end or split a path ("%" stays: malformed escapes are input too)."""
    return (all("!" <= c <= "~" for c in value) and not any(c in value for c in "/?#")
            and value not in (".", ".."))


@pytest.fixture(scope="module")
def client(server: Server) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def send(client: httpx.Client, http_method: str, path: str, body: bytes | None, as_json: bool) -> None:
    headers = {"Accept": "application/json"} if as_json else {}
    response = client.request(http_method, path, content=body, headers=headers)
    assert response.status_code == 200
    if as_json:
        document = json.loads(response.content)
        status = document["status"]
    else:
        root = ET.fromstring(response.content)
        assert root.tag == "response"
        status = root.findtext("status")
    assert status in ANSWERS, (path, body, response.content[:500])


def signed(server: Server, method: str, prefix: str, params: list[str]) -> str:
    from mecm.domain.signature import sign

    creds = server.creds
    signature = sign(creds["private_key"], "/".join(params))
    return f"/rest/api/{prefix}{method}/{'/'.join(params)}/{creds['public_key']}/{signature}"


hypothesis_settings = settings(max_examples=120, deadline=None, derandomize=True,
                               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize(("method", "prefix", "count", "http_method"), METHODS,
                         ids=[f"{m}-{n}-{h}" for m, _, n, h in METHODS])
@hypothesis_settings
@given(data=st.data())
def test_arbitrary_parameters_never_answer_error(server: Server, client: httpx.Client, method: str, prefix: str, count: int,
                                                 http_method: str, data: st.DataObject) -> None:
    instance = data.draw(st.one_of(st.just(str(server.creds["instance_id"])), numbers), label="instance")
    values = data.draw(st.lists(segment, min_size=count, max_size=count), label="params")
    # Mostly percent-encoded as a client library would; sometimes as drawn, if it is a path's text.
    raw = data.draw(st.booleans(), label="raw")
    params = [v if raw and _fits_a_path_as_is(v) else percent_encoded(v) for v in [instance, *values]]
    body = None
    if http_method == "POST":
        body = data.draw(st.one_of(st.binary(max_size=200), descriptor), label="body")
    send(client, http_method, signed(server, method, prefix, params), body, data.draw(st.booleans(), label="json"))
