"""A new user's first minutes: what to do first, the function reference, the device in plain
words, signing up with a confirmed password, errors in plain language, a reset link shown as
good news, a link opened while signed out that opens after sign-in; and the app's files
arrive compressed with their caching headers."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import PASSWORD, Tabs, sign_in

pytestmark = pytest.mark.browser


async def test_the_first_call_runs_from_the_getting_started_card(tabs: Tabs) -> None:
    tab = await tabs.open("phone")
    page = tab.page
    await sign_in(page, "student@example.org")
    card = page.get_by_role("region", name="Getting started")
    await expect(card).to_be_visible()
    await card.get_by_role("button", name="get_voltage('CH1')").click()
    await expect(page.get_by_label("Function string")).to_have_value("get_voltage('CH1')")
    # CH1 reads SI1's sine: a number, whatever its phase.
    await expect(page.get_by_test_id("function-result")).to_have_text(
        re.compile(r"-?\d"), timeout=10000
    )
    await expect(page.get_by_test_id("function-result").locator(".error")).to_have_count(0)
    await expect(page.get_by_test_id("device-summary")).to_have_text(
        "Simulated PSLab — ready — no one waiting"
    )
    tab.assert_clean()


async def test_the_function_reference_is_grouped_searchable_and_tries_a_call(
    tabs: Tabs,
) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await sign_in(page, "student@example.org")
    await (
        page.get_by_role("region", name="Getting started")
        .get_by_role("link", name="function reference")
        .click()
    )
    await expect(page).to_have_title("Function reference — remotelab")
    count = page.get_by_test_id("function-count")
    await expect(count).to_have_text(re.compile(r"^\d+ functions$"))
    total = int((await count.inner_text()).split()[0])
    for group in ("Oscilloscope", "Multimeter", "Waveform generator", "Power supply"):
        await expect(page.get_by_role("heading", name=group, exact=True)).to_be_visible()
    # get_voltage: its doc, its parameter with the choices, what it returns and in which unit.
    entry = page.locator("article.fn[data-name='get_voltage']")
    await expect(entry).to_contain_text("channel")
    await expect(entry).to_contain_text('"CH1"')
    await expect(entry).to_contain_text("Returns float in V")
    # An example may use an old name (pslab-remote's AN8): the allowed values list it too.
    average = page.locator("article.fn[data-name='get_average_voltage']")
    await expect(average).to_contain_text("Example: get_average_voltage('AN8', 5)")
    await expect(average).to_contain_text('old names: "AN8" for "VOL", "SEN" for "RES"')

    await page.get_by_label("Search functions").fill("set triangle")
    await expect(count).to_have_text(re.compile(rf"^\d+ of {total} functions match$"))
    await expect(page.locator("article.fn[data-name='set_w1']")).to_be_visible()
    await expect(entry).to_be_hidden()
    await expect(page.get_by_role("heading", name="Oscilloscope", exact=True)).to_be_hidden()

    await page.locator("article.fn[data-name='set_w1']").get_by_role("link", name="try it").click()
    await expect(page).to_have_title("Home — remotelab")
    await expect(page.get_by_label("Function string")).to_have_value("set_w1(500, 'tria')")
    await expect(page.get_by_test_id("function-changed")).to_have_text("Changed: SI1")
    await expect(page.get_by_test_id("output-SI1")).to_contain_text("triangle 500 Hz")
    tab.assert_clean()


async def test_the_reference_is_open_to_visitors(tabs: Tabs) -> None:
    tab = await tabs.open("phone")
    page = tab.page
    await page.goto("/")
    await page.get_by_role("link", name="Functions").click()
    await expect(page.locator("article.fn[data-name='get_voltage']")).to_be_visible()
    await expect(page.get_by_role("link", name="try it")).to_have_count(0)  # sign in first
    tab.assert_clean()


async def test_sign_up_is_its_own_form_and_wants_the_password_twice(tabs: Tabs) -> None:
    tab = await tabs.open("phone")
    page = tab.page
    await page.goto("/")
    await expect(page.get_by_role("button", name="Create account")).to_have_count(0)
    await page.get_by_role("link", name="Create an account").click()
    await expect(page).to_have_title("Create an account — remotelab")
    await page.get_by_label("Email").fill("newcomer@example.org")
    await page.locator("#password").fill("a good long password")
    await page.locator("#password-confirm").fill("a good long passw0rd")
    await page.get_by_role("button", name="Create account").click()
    message = page.get_by_test_id("form-message")
    await expect(message).to_have_text(
        "The two passwords differ: type the same password in both fields."
    )
    await expect(message).to_have_class("error")
    await expect(page.locator("#password-confirm")).to_be_focused()

    await page.locator("#password-confirm").fill("a good long password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_test_id("device-summary")).to_be_visible()
    await expect(page).to_have_title("Home — remotelab")
    tab.assert_clean()


@pytest.mark.parametrize(
    ("email", "password", "said"),
    [
        ("ab", "a good long password", "Email must be at least 3 characters."),
        ("short@example.org", "short", "Password must be at least 8 characters."),
    ],
)
async def test_validation_errors_are_plain_language(
    tabs: Tabs, email: str, password: str, said: str
) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await page.goto("/#/signup")
    await page.get_by_label("Email").fill(email)
    await page.locator("#password").fill(password)
    await page.locator("#password-confirm").fill(password)
    await page.get_by_role("button", name="Create account").click()
    message = page.get_by_test_id("form-message")
    await expect(message).to_have_text(said)
    await expect(message).not_to_contain_text("String should")
    await expect(message).not_to_contain_text("invalid request")
    # The API's 400 is logged by Chromium: that one is expected, nothing else.
    tab.errors[:] = [e for e in tab.errors if not re.search(r"status of 400 .*/v1/users$", e)]
    tab.assert_clean()


async def test_wrong_credentials_are_said_plainly(tabs: Tabs) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await page.goto("/")
    await page.get_by_label("Email").fill("student@example.org")
    await page.locator("#password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")


async def test_a_sent_reset_link_is_good_news(tabs: Tabs) -> None:
    tab = await tabs.open("phone")
    page = tab.page
    await page.goto("/")
    await page.get_by_role("button", name="Forgotten password?").click()
    message = page.get_by_test_id("form-message")
    await expect(message).to_have_text("Type your email above first: the reset link goes there.")
    await expect(message).to_have_class("error")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.get_by_label("Email").fill("student@example.org")
    await page.get_by_role("button", name="Forgotten password?").click()
    await expect(message).to_contain_text("If student@example.org has an account here, a reset")
    await expect(message).to_have_class("success")
    await expect(message).to_have_attribute("role", "status")
    color = await message.evaluate("e => getComputedStyle(e).color")
    assert color == "rgb(22, 101, 52)"  # green, not the error's red
    tab.assert_clean()


async def test_a_link_opened_while_signed_out_opens_after_sign_in(tabs: Tabs) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await page.goto("/#/scope")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill("student@example.org")
    await page.locator("#password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_title("Oscilloscope — remotelab")
    await expect(page).to_have_url(re.compile(r"#/scope$"))
    await expect(page.locator("section.scope")).to_be_visible()
    tab.assert_clean()


async def test_a_link_opened_while_signed_out_opens_after_sign_up(tabs: Tabs) -> None:
    tab = await tabs.open("phone")
    page = tab.page
    await page.goto("/#/notebook/new")
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Email").fill("linked@example.org")
    await page.locator("#password").fill(PASSWORD)
    await page.locator("#password-confirm").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_title("New script — remotelab")
    await expect(page.locator(".cm-content")).to_be_visible()
    tab.assert_clean()


async def test_the_app_arrives_compressed_with_caching_headers(tabs: Tabs) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    seen: dict[str, dict[str, str]] = {}
    page.on("response", lambda r: seen.__setitem__(r.url, r.headers))
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assets = {url: h for url, h in seen.items() if "/assets/" in url}
    assert any(url.endswith(".js") for url in assets)
    assert any(url.endswith(".css") for url in assets)
    for url, headers in assets.items():
        assert headers.get("content-encoding") in ("br", "gzip"), url
        assert headers["cache-control"] == "public, max-age=31536000, immutable", url
    index = seen[page.url.split("#")[0]]
    assert index["cache-control"] == "no-cache"
    assert index.get("content-encoding") in ("br", "gzip")
    # The editor's code is not part of the first load.
    assert not [url for url in assets if "notebook" in url]
    tab.assert_clean()
