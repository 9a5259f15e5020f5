"""The console in a real browser: signing in and out, wrong passwords until the lock-out, a form
whose CSRF token was tampered with, revoking a key and the API refusing it at once, a viewer who
sees no edit control and whose forged POST is refused."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from mecm.domain.b64 import encode as b64
from tests.support.console import PASSWORD, add_people
from tests.support.server import Server, make_server
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(300)

TO = "584145550001"
PEOPLE = {"ana": "admin", "vic": "viewer", "lou": "viewer", "olga": "owner", "dora": "owner"}  # dora: deployment admin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    srv = make_server(tmp_path_factory.mktemp("browser"))
    add_people(srv, PEOPLE, deployment_admins=("dora",))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def page(browser, server: Server):  # noqa: ANN001, ANN201
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def sign_in(page, name: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto("/sign-in")
    page.get_by_label("E-mail address").fill(f"{name}@example.com")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def send(server: Server, creds: dict, text: str) -> httpx.Response:
    c = server.creds
    path = server.signed_path("sendSMS", [str(c["instance_id"]), c["carrier"], c["code"], b64(TO), b64(text)],
                              creds={**creds, "instance_id": c["instance_id"]})
    return httpx.get(server.url + path, timeout=30)


def test_sign_in_see_the_workspaces_and_messages_then_sign_out(page, server: Server, shots) -> None:  # noqa: ANN001
    for i in range(3):
        assert send(server, server.creds, f"Your order {1000 + i} has shipped").headers["x-mecm-status"] == "OK"
    page.goto("/")
    assert page.url.endswith("/sign-in")
    shots(page, "sign-in")
    sign_in(page, "ana")
    page.get_by_role("link", name="demo").click()
    # expect waits for the page the click opens; is_visible() looked once, and on a loaded machine
    # once found the URL changed and the heading not rendered yet
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Messages").click()
    page.wait_for_url(re.compile(r"/w/1/messages$"))
    assert page.get_by_role("heading", name="Messages").is_visible()
    assert page.get_by_text("Your order 1002 has shipped").is_visible()
    shots(page, "messages")
    page.get_by_label("Text").fill("1001")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"text=1001"))
    assert page.get_by_text("Your order 1001 has shipped").is_visible()
    assert page.get_by_text("Your order 1002 has shipped").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/sign-in$"))
    page.goto("/w/1/messages")
    assert page.url.endswith("/sign-in")  # the session is gone


def test_a_real_mo_fired_through_the_api_shows_in_the_inbox_with_its_campaign_and_reply(
        page, server: Server, shots) -> None:  # noqa: ANN001
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125551234", b64("OGANGI hello")],
                              tools=False)
    fired = httpx.get(server.url + path, timeout=30)
    assert fired.headers["x-mecm-status"] == "OK", fired.text
    sign_in(page, "vic")
    page.goto("/w/1/inbox")
    row = page.get_by_role("row").filter(has_text="OGANGI hello")
    assert row.get_by_role("cell", name="welcome").is_visible()
    assert row.get_by_text("Thanks for writing to OGANGI! Reply STOP to opt out.").is_visible()
    shots(page, "inbox")


def test_try_a_message_then_pause_the_campaign_and_a_real_mo_gets_no_answer(
        page, server: Server, shots) -> None:  # noqa: ANN001
    sign_in(page, "ana")
    page.goto("/w/1/campaigns")
    page.get_by_label("Message").fill("OGANGI, what's new?")
    page.get_by_role("button", name="Try it").click()
    result = page.get_by_role("status")
    assert "Answered by welcome" in result.inner_text()
    assert result.get_by_text("Thanks for writing to OGANGI! Reply STOP to opt out.").is_visible()
    shots(page, "campaigns")
    page.get_by_role("row").filter(has_text="welcome").get_by_role("button", name="Pause").click()
    page.wait_for_url(re.compile(r"/w/1/campaigns$"))
    assert page.get_by_role("row").filter(has_text="welcome").get_by_text("paused").is_visible()
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125550000", b64("OGANGI while paused")],
                              tools=False)
    assert httpx.get(server.url + path, timeout=30).headers["x-mecm-status"] == "OK"
    page.goto("/w/1/inbox")
    row = page.get_by_role("row").filter(has_text="OGANGI while paused")
    assert row.get_by_role("cell", name="welcome").count() == 0
    page.goto("/w/1/campaigns")
    page.get_by_role("row").filter(has_text="welcome").get_by_role("button", name="Resume").click()
    page.wait_for_url(re.compile(r"/w/1/campaigns$"))
    assert page.get_by_role("row").filter(has_text="welcome").get_by_text("active").is_visible()


def test_create_a_campaign_in_the_form_try_it_and_a_real_mo_gets_its_reply_in_the_inbox(
        page, server: Server, shots) -> None:  # noqa: ANN001
    sign_in(page, "ana")
    page.goto("/w/1/campaigns")
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("coupons")
    page.get_by_label("Match").select_option("word")
    page.get_by_label("Keyword").fill("COUPON")
    page.get_by_label("Reply", exact=True).fill("Your coupon: SAVE10")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("ready to save")
    shots(page, "campaign-form")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(re.compile(r"/w/1/campaigns$"))
    page.get_by_label("Message").fill("coupon please")
    page.get_by_role("button", name="Try it").click()
    assert "Answered by coupons" in page.get_by_role("status").inner_text()
    c = server.creds
    path = server.signed_path("fireMessage", [str(c["instance_id"]), "584125557777", b64("Coupon please")],
                              tools=False)
    assert httpx.get(server.url + path, timeout=30).headers["x-mecm-status"] == "OK"
    page.goto("/w/1/inbox")
    row = page.get_by_role("row").filter(has_text="Coupon please")
    assert row.get_by_role("cell", name="coupons").is_visible()
    assert row.get_by_text("Your coupon: SAVE10").is_visible()


def all_final(server: Server) -> int | None:
    """How many messages the server has, once none is on its way any more (else None)."""
    waiting = server.count("messages", "status IN ('PENDING', 'SENDING', 'SENT_TO_CARRIER')")
    return None if waiting else server.count("messages")


def test_the_dashboard_shows_the_traffic_sent_and_follows_it_live(page, server: Server, shots) -> None:  # noqa: ANN001
    for i in range(4):
        assert send(server, server.creds, f"Dashboard {i}").headers["x-mecm-status"] == "OK"
    total = wait_until(lambda: all_final(server), timeout=60)
    delivered = server.count("messages", "status = 'DELIVERED_TO_DEVICE'")
    sign_in(page, "ana")
    page.goto("/w/1")
    hour = page.locator(".tile").filter(has_text="Last hour")
    assert hour.locator("dd.series-accepted").inner_text() == str(total)
    assert hour.locator("dd.series-delivered").inner_text() == str(delivered)
    chart = page.get_by_role("img", name=re.compile("Messages per minute"))
    assert f"accepted {total}, delivered {delivered}" in chart.get_attribute("aria-label")
    shots(page, "dashboard")
    for i in range(3):  # more traffic: the open page follows it without a reload
        assert send(server, server.creds, f"Dashboard later {i}").headers["x-mecm-status"] == "OK"
    expect(hour.locator("dd.series-accepted")).to_have_text(str(total + 3), timeout=60_000)


def test_a_10000_member_csv_with_a_bad_line_is_named_then_a_broadcast_reaches_100_on_screen(
        page, server: Server, shots, tmp_path) -> None:  # noqa: ANN001
    numbers = [f"58414{5600000 + i}" for i in range(10_000)]
    bad = numbers.copy()
    bad[4_999] = "call me maybe"  # line 5001: the header is line 1
    (tmp_path / "bad.csv").write_text("number,first_name\n" + "".join(f"{n},Ana\n" for n in bad))
    (tmp_path / "good.csv").write_text("number,first_name\n" + "".join(f"{n},Ana\n" for n in numbers))
    sign_in(page, "ana")
    page.goto("/w/1/lists")
    page.get_by_label("Name").fill("customers")
    page.get_by_role("button", name="Create list").click()
    page.wait_for_url(re.compile(r"/w/1/lists$"))
    page.get_by_label("CSV file for customers").set_input_files(str(tmp_path / "bad.csv"))
    page.get_by_role("row").filter(has_text="customers").get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview of the file")
    expect(preview).to_contain_text("line 5001")  # swapped in by htmx: the file stays chosen
    assert "10,000 lines: 9,999 numbers to import" in preview.inner_text()
    shots(page, "list-preview")
    page.get_by_role("row").filter(has_text="customers").get_by_role("button", name="Upload").click()
    assert "line 5001" in page.get_by_role("alert").inner_text()
    row = page.get_by_role("row").filter(has_text="customers")
    assert row.get_by_role("cell", name="0", exact=True).is_visible()  # nothing of the bad file
    page.get_by_label("CSV file for customers").set_input_files(str(tmp_path / "good.csv"))
    row.get_by_role("button", name="Upload").click()
    assert "Imported 10,000 numbers" in page.get_by_role("status").inner_text()
    shots(page, "lists")
    page.get_by_role("link", name="customers").click()
    expect(page.get_by_text("10,000 members")).to_be_visible()
    expect(page.get_by_text("page 1 of 100")).to_be_visible()
    page.goto("/w/1/lists")
    # a broadcast to a small list of its own: its progress is watched on screen to the end
    page.get_by_label("Name").fill("team")
    page.get_by_role("button", name="Create list").click()
    page.wait_for_url(re.compile(r"/w/1/lists$"))
    (tmp_path / "team.csv").write_text("number\n" + "".join(f"5841457{i:05d}\n" for i in range(50)))
    page.get_by_label("CSV file for team").set_input_files(str(tmp_path / "team.csv"))
    page.get_by_role("row").filter(has_text="team").get_by_role("button", name="Upload").click()
    assert "Imported 50 numbers" in page.get_by_role("status").inner_text()
    page.goto("/w/1/broadcasts")
    page.get_by_label("Name").fill("welcome team")
    page.get_by_label("To list").select_option(label="team (50)")
    page.get_by_label("Message").fill("Welcome to the team!")
    page.get_by_role("button", name="Send broadcast").click()
    page.wait_for_url(re.compile(r"/w/1/broadcasts$"))
    progress = page.get_by_role("row").filter(has_text="welcome team").locator(".pct")
    expect(progress).to_have_text("100 %", timeout=120_000)  # the page refreshes itself every 2 s
    assert page.get_by_role("row").filter(has_text="welcome team").get_by_text("done").is_visible()
    shots(page, "broadcasts")


def test_a_messages_page_settings_carriers_webhooks_accounts_and_two_factor_render(
        page, server: Server, shots) -> None:  # noqa: ANN001
    assert send(server, server.creds, "A message with a page of its own").headers["x-mecm-status"] == "OK"
    sign_in(page, "dora")
    page.goto("/w/1/messages")
    page.get_by_role("row").filter(has_text="A message with a page of its own").get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Message to {TO}")).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("Accepted (sms, 1 segment)")
    shots(page, "message")
    page.goto("/w/1/settings")
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    shots(page, "settings")
    page.goto("/w/1/carriers")
    expect(page.locator(".bind").first).to_have_text(re.compile("running|bound"), timeout=30_000)
    shots(page, "carriers")
    page.goto("/w/1/webhooks")
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    shots(page, "webhooks")
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", name="Accounts")).to_be_visible()
    assert page.get_by_role("row").filter(has_text="vic@example.com").is_visible()
    shots(page, "accounts")
    page.goto("/two-factor")
    expect(page.locator("svg.qr")).to_be_visible()


def test_an_owner_gives_a_role_on_the_people_page(page, shots) -> None:  # noqa: ANN001
    sign_in(page, "olga")
    page.goto("/w/1")
    page.get_by_role("link", name="People").click()
    page.get_by_label("E-mail address").fill("lou@example.com")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Give the role").click()
    page.wait_for_url(re.compile(r"/w/1/people$"))
    assert page.get_by_role("row").filter(has_text="lou@example.com").get_by_role("cell", name="editor").is_visible()
    shots(page, "people")


def test_wrong_passwords_until_the_lock_out(page) -> None:  # noqa: ANN001
    for _ in range(5):
        sign_in(page, "lou", "not the password at all")
        assert page.get_by_role("alert").inner_text() == "Wrong e-mail address or password."
    sign_in(page, "lou")  # the right password, too late
    assert "locked for 15 more minutes" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/sign-in")


def test_revoking_a_key_in_the_console_makes_the_api_refuse_it(page, server: Server, shots) -> None:  # noqa: ANN001
    key = server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]))
    assert send(server, key, "before").headers["x-mecm-status"] == "OK"
    sign_in(page, "ana")
    page.goto("/w/1/keys")
    row = page.get_by_role("row").filter(has_text=key["public_key"])
    shots(page, "keys")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(re.compile(r"/w/1/keys$"))
    assert page.get_by_role("row").filter(has_text=key["public_key"]).get_by_text("revoked").is_visible()
    assert asked == [f"Revoke the key {key['public_key']}? Every client using it is refused from its next request."]
    assert send(server, key, "after").headers["x-mecm-status"] == "BAD_SIGNATURE"
    page.goto("/w/1/audit")
    assert page.get_by_role("row").filter(has_text=f"key:{key['public_key']}").get_by_text("user:ana@example.com")\
        .is_visible()
    shots(page, "audit")


def test_a_revoke_the_user_cancels_in_the_dialog_sends_nothing(page, server: Server) -> None:  # noqa: ANN001
    key = server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]))
    sign_in(page, "ana")
    page.goto("/w/1/keys")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_role("row").filter(has_text=key["public_key"]).get_by_role("button", name="Revoke").click()
    assert len(asked) == 1  # the question came, and was answered no: the form is not sent
    page.reload()
    assert page.get_by_role("row").filter(has_text=key["public_key"]).get_by_text("active").is_visible()
    assert send(server, key, "still works").headers["x-mecm-status"] == "OK"


def test_a_form_with_a_tampered_csrf_token_is_refused(page, server: Server) -> None:  # noqa: ANN001
    key = server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]))
    sign_in(page, "ana")
    page.goto("/w/1/keys")
    row = page.get_by_role("row").filter(has_text=key["public_key"])
    row.locator("input[name=csrf_token]").evaluate("field => { field.value = 'forged' }")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    assert "did not come from this console" in page.get_by_role("alert").inner_text()
    assert send(server, key, "still works").headers["x-mecm-status"] == "OK"


def test_a_viewer_sees_no_edit_control_and_a_forged_post_is_refused(page, server: Server, shots) -> None:  # noqa: ANN001
    key = server.cli("admin", "key", "create", "--workspace", str(server.creds["instance_id"]))
    sign_in(page, "vic")
    page.goto("/w/1/keys")
    assert page.get_by_role("row").filter(has_text=key["public_key"]).is_visible()
    assert page.get_by_role("button", name="Revoke").count() == 0
    assert page.get_by_role("link", name="Audit log").count() == 0
    # the POST a Revoke button would send, with the viewer's own session and CSRF token
    token = page.locator("form[action='/sign-out'] input[name=csrf_token]").input_value()
    answer = page.request.post(f"/w/1/keys/{key['public_key']}/revoke", form={"csrf_token": token},
                               max_redirects=0)
    assert answer.status == 403
    assert send(server, key, "still works").headers["x-mecm-status"] == "OK"
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    shots(page, "keys-phone")
