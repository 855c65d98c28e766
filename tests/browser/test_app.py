"""The browser app in headless Chromium (Debian's package) against a real `remotelab serve`.

Screenshots of every page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.browser.conftest import require_browser
from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM
from tests.support.server import running

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
pytestmark = pytest.mark.browser


INSTANCE: dict[str, Path] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    instance = tmp_path_factory.mktemp("browser") / "inst"
    with running(instance) as lab:
        INSTANCE[lab.url] = instance
        yield lab.url


@pytest.fixture
async def page(server: str) -> AsyncIterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(
            base_url=server, viewport={"width": 1280, "height": 900}
        )
        tab = await context.new_page()
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        yield tab
        await browser.close()
    assert not [e for e in errors if "401" not in e], errors


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_student_flow(page: Page) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await shot(page, "01-landing")
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Email").fill("ada@example.org")
    await page.locator("#password").fill("analytical engine")
    await page.get_by_role("button", name="show password").click()
    await expect(page.locator("#password")).to_have_attribute("type", "text")
    await page.locator("#password-confirm").fill("analytical engine")
    await page.get_by_role("button", name="Create account").click()

    # Home: the device, and a function string run from the box.
    await expect(page.get_by_test_id("backend")).to_have_text("emulator")
    # One experiment (the embedded server's bench), so no choice to make.
    await expect(page.get_by_test_id("experiment")).to_have_text(
        "Experiment: default — your device: local — 1 device, 1 free"
    )
    await expect(page.get_by_test_id("experiment-choice")).to_be_hidden()
    await page.get_by_label("Function string").fill("set_pv1(2.5)")
    await page.get_by_role("button", name="Run", exact=True).click()
    await page.get_by_label("Function string").fill("get_voltage('CH3')")
    await page.get_by_role("button", name="Run", exact=True).click()
    # PV1 is wired to CH3; a little noise; 3 significant digits and the unit.
    result = page.get_by_test_id("function-result")
    await expect(result).to_have_text(re.compile(r"^2\.(4|5)\d V$"), timeout=5000)
    await shot(page, "02-home")

    # A script with a button and an xyy plot; the button re-plots two series.
    await page.get_by_role("link", name="New script").click()
    code = (
        "import numpy as np\n"
        "set_sine1(1000)\n"
        "set_sine2(1000)\n"
        "x = np.linspace(0, 1, 50)\n"
        "plt = plot(x, x, 2 * x)\n"
        "button('Capture', \"capture2(200, 2)\", 'update-plot', target=plt, stacking='xyy')\n"
    )
    await page.locator("#title").fill("two sines")
    editor = page.locator(".cm-content")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await editor.fill(code)
    await page.keyboard.press("Control+Enter")  # runs from the editor
    await expect(page.get_by_test_id("timer")).to_contain_text("ok", timeout=10000)
    # SI1 already plays the bench's 1 kHz sine; SI2 was off.
    await expect(page.get_by_test_id("timer")).to_contain_text("Changed: SI2")
    legend = page.locator(".widget-plot .u-legend .u-series")
    await expect(legend).to_have_count(3)  # x and two series
    await page.get_by_role("button", name="Capture").click()
    await page.wait_for_timeout(500)
    await expect(legend).to_have_count(3)
    await shot(page, "03-notebook")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("timer")).to_have_text("saved")

    # A compile error highlights its line.
    await editor.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type("\ny = 1 +")  # (brackets would be closed by the editor)
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".cm-error-line")).to_have_count(1, timeout=10000)

    # Back home: the script is listed.
    await page.get_by_role("link", name="Home", exact=True).click()
    await expect(page.get_by_role("link", name="two sines")).to_be_visible()

    # The live scope shows frames.
    await page.get_by_role("link", name="Oscilloscope", exact=True).click()
    await page.get_by_role("button", name="Run").click()
    scope = page.locator("section.scope")
    await expect(scope).to_have_attribute("data-fps", re.compile(r"\d"), timeout=10000)
    fps = float(await scope.get_attribute("data-fps") or 0)
    assert fps >= 10
    await expect(page.get_by_test_id("meter")).to_contain_text("V", timeout=5000)
    await shot(page, "04-scope")
    await page.get_by_role("button", name="Stop").click()

    # A tablet: the pages reflow, nothing scrolls sideways.
    await page.set_viewport_size({"width": 820, "height": 1180})
    for route, name in (("/#/home", "08-tablet-home"), ("/#/scope", "09-tablet-scope")):
        await page.goto(route)
        await page.wait_for_timeout(500)
        overflow = await page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{route} scrolls sideways by {overflow}px"
        await shot(page, name)
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Log out: the unsaved edit (the compile error) is discarded, after a question.
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.get_by_role("button", name="Log out (ada@example.org)").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def create_user(server: str, email: str, role: str) -> None:
    """An account made by an operator with `remotelab create-user` on the server's instance."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "remotelab.cli",
            "create-user",
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
            "--instance",
            str(INSTANCE[server]),
        ],
        input="long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "REMOTELAB_BCRYPT_ROUNDS": "4"},
    )
    assert done.returncode == 0, done.stderr


async def mailed_link(server: str, kind: str, to: str) -> str:
    """The link of the newest mail of ``kind`` to ``to`` in the outbox (mail leaves off the
    request path: wait a little for it)."""
    outbox = INSTANCE[server] / "outbox.txt"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = outbox.read_text().splitlines() if outbox.exists() else []
        for entry in map(json.loads, reversed(lines)):
            if entry["kind"] == kind and entry["to"] == to:
                return str(entry["link"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} mail to {to} in {outbox}")


async def sign_in(page: Page, email: str, password: str = "long enough password") -> None:
    await page.goto("/")
    await page.get_by_label("Email").fill(email)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("backend")).to_have_text("emulator")


async def log_out(page: Page, email: str) -> None:
    await page.get_by_role("button", name=f"Log out ({email})").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_examples_and_publishing(page: Page, server: str) -> None:
    create_user(server, "teacher@example.org", "teacher")
    create_user(server, "student@example.org", "student")

    # A teacher writes a script and publishes it.
    await sign_in(page, "teacher@example.org")
    await page.get_by_role("link", name="New script").click()
    await page.locator("#title").fill("Ohm's law today")
    editor = page.locator(".cm-content")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await editor.fill("print('R = %.0f ohm' % get_resistance())\n")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("timer")).to_have_text("saved")
    await page.get_by_role("link", name="Home", exact=True).click()
    await page.get_by_role("link", name="Ohm's law today").click()  # the publish switch
    await page.get_by_label("Published as an example").check()
    await page.wait_for_timeout(300)
    await shot(page, "05-teacher-publishes")
    await log_out(page, "teacher@example.org")

    # A student sees it among the examples, runs it (Application tab), views the source,
    # and copies it into their own scripts.
    await sign_in(page, "student@example.org")
    await page.get_by_role("link", name="Ohm's law today").click()
    await expect(page.get_by_test_id("run-hint")).to_contain_text("Press Run")
    await page.get_by_role("button", name="Run", exact=True).click()
    await expect(page.get_by_test_id("output")).to_contain_text("R = 100", timeout=10000)
    await expect(page.get_by_role("tab", name="Application")).to_have_attribute(
        "aria-selected", "true"
    )
    await page.get_by_role("tab", name="Source").click()
    await expect(page.locator(".cm-content")).to_contain_text("get_resistance()")
    await shot(page, "06-example-source")
    await page.get_by_role("link", name="Home", exact=True).click()
    item = page.get_by_role("listitem").filter(has_text="Ohm's law today")
    await item.get_by_role("button", name="copy to my scripts").click()
    await expect(page.locator("#title")).to_have_value("Ohm's law today (copy)")
    await page.get_by_role("link", name="Home", exact=True).click()
    mine = page.get_by_role("region", name="My scripts")
    await expect(mine.get_by_role("link", name="Ohm's law today (copy)")).to_be_visible()
    await log_out(page, "student@example.org")


async def test_admin_roles_reset_password_and_an_expired_session(page: Page, server: str) -> None:
    create_user(server, "root@example.org", "admin")
    create_user(server, "pupil@example.org", "student")

    # An admin makes a student a teacher.
    await sign_in(page, "root@example.org")
    await page.get_by_role("link", name="Users").click()
    row = page.get_by_role("row").filter(has_text="pupil@example.org")
    await row.get_by_role("button", name="make teacher").click()
    await expect(page.get_by_role("row").filter(has_text="pupil@example.org")).to_contain_text(
        "teacher"
    )
    await shot(page, "07-admin")
    await log_out(page, "root@example.org")

    # A forgotten password: the link from the outbox sets a new one.
    await page.get_by_label("Email").fill("pupil@example.org")
    await page.get_by_role("button", name="Forgotten password?").click()
    sent = page.get_by_test_id("form-message")
    await expect(sent).to_contain_text("a reset link is on its way")
    await expect(sent).to_have_class("success")  # good news, not a red error
    link = await mailed_link(server, "reset_password", "pupil@example.org")
    await page.goto(link)
    await page.locator("#new-password").fill("a brand new password")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await sign_in(page, "pupil@example.org", "a brand new password")

    # The session ends while editing: sign in again and the unsaved code is still there.
    await page.get_by_role("link", name="New script").click()
    editor = page.locator(".cm-content")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await editor.fill("print('unsaved work')\n")
    await page.evaluate("fetch('/v1/auth/logout', {method: 'POST'})")
    await page.wait_for_timeout(300)
    await page.get_by_role("button", name="Run").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill("pupil@example.org")
    await page.locator("#password").fill("a brand new password")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="New script").click()
    await expect(page.locator(".cm-content")).to_contain_text("unsaved work")


async def test_the_link_of_the_sign_up_mail_confirms_the_email(page: Page, server: str) -> None:
    await page.goto("/#/signup")
    await page.get_by_label("Email").fill("grace@example.org")
    await page.locator("#password").fill("long enough password")
    await page.locator("#password-confirm").fill("long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_test_id("device-summary")).to_be_visible()
    await log_out(page, "grace@example.org")

    link = await mailed_link(server, "verify_email", "grace@example.org")
    assert link.startswith(server + "/verify?token=")
    await page.goto(link)
    await expect(page.get_by_role("status")).to_have_text(
        "Your email address is confirmed. Thank you!"
    )
    await shot(page, "09-email-confirmed")
    await page.get_by_role("link", name="Sign in").click()
    await sign_in(page, "grace@example.org")
    me = await page.evaluate("fetch('/v1/users/me').then(r => r.json())")
    assert me["is_verified"] is True
    await log_out(page, "grace@example.org")


async def no_sideways_scroll(page: Page, what: str) -> None:
    overflow = await page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{what} scrolls sideways by {overflow}px"


async def test_your_outputs_and_reset_to_bench_with_two_students_at_once(server: str) -> None:
    """Amy (a laptop, 1280x800) sets SI1 and resets it; Ben (a phone, 390x844, another
    browser context) sees the bench's SI1 throughout."""
    create_user(server, "amy@example.org", "student")
    create_user(server, "ben@example.org", "student")
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tabs = []
        for size in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
            context = await browser.new_context(base_url=server, viewport=size)
            tab = await context.new_page()
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tabs.append(tab)
        amy, ben = tabs
        await sign_in(amy, "amy@example.org")
        await sign_in(ben, "ben@example.org")

        async def ben_sees_the_bench() -> None:
            await ben.reload()
            si1 = ben.get_by_test_id("output-SI1")
            await expect(si1).to_contain_text("sine 1.00 kHz")
            await expect(si1).not_to_contain_text("changed by you")
            device = await ben.evaluate("fetch('/v1/device').then(r => r.json())")
            assert device["context"]["differs_from_bench"] == []
            assert device["context"]["outputs"]["SI1"]["frequency"] == 1000

        mine = amy.get_by_role("region", name="Device")
        await expect(mine.get_by_role("heading", name="Your outputs")).to_be_visible()
        si1 = amy.get_by_test_id("output-SI1")
        await expect(si1).to_have_text(re.compile(r"^SI1\s*sine 1\.00 kHz$"))
        await ben_sees_the_bench()

        # Amy sets SI1 from the function box: the answer says so, her outputs show it.
        await amy.get_by_label("Function string").fill("set_sine1(2000)")
        await amy.get_by_role("button", name="Run", exact=True).click()
        await expect(amy.get_by_test_id("function-changed")).to_have_text("Changed: SI1")
        await expect(si1).to_contain_text("sine 2.00 kHz")
        await expect(si1).to_contain_text("changed by you")
        await expect(si1).to_contain_text("bench: sine 1.00 kHz")
        await expect(amy.get_by_test_id("output-PV1")).not_to_contain_text("changed by you")
        await shot(amy, "10-your-outputs-changed-1280")
        await no_sideways_scroll(amy, "home at 1280")

        # Ben, meanwhile, on his phone: the bench, on the home page and beside the scope.
        await ben_sees_the_bench()
        await no_sideways_scroll(ben, "home at 390")
        await shot(ben, "11-your-outputs-bench-390")
        await ben.goto("/#/scope")
        await expect(ben.get_by_role("heading", name="Your outputs")).to_be_visible()
        await expect(ben.get_by_test_id("output-SI1")).to_contain_text("sine 1.00 kHz")
        await ben.get_by_role("button", name="Run").click()
        await expect(ben.locator("section.scope")).to_have_attribute(
            "data-fps", re.compile(r"\d"), timeout=10000
        )
        await no_sideways_scroll(ben, "scope at 390")
        await shot(ben, "12-scope-your-outputs-390")
        await ben.get_by_role("button", name="Stop").click()
        await ben.goto("/#/home")

        # Amy's outputs beside her scope, then back to the bench.
        await amy.goto("/#/scope")
        await expect(amy.get_by_test_id("output-SI1")).to_contain_text("changed by you")
        await shot(amy, "13-scope-your-outputs-1280")
        await amy.goto("/#/home")
        await expect(si1).to_contain_text("changed by you")
        await amy.get_by_role("button", name="Reset to bench").click()
        await expect(amy.get_by_test_id("reset-status")).to_have_text(
            "Back to the bench: SI1 reset."
        )
        await expect(si1).to_have_text(re.compile(r"^SI1\s*sine 1\.00 kHz$"))
        await shot(amy, "14-your-outputs-reset-1280")
        await amy.reload()
        await expect(amy.get_by_test_id("output-SI1")).to_have_text(
            re.compile(r"^SI1\s*sine 1\.00 kHz$")
        )
        await ben_sees_the_bench()

        # A hold (when the server reports one) is said; Ben's own hold and none are not.
        hold = {"by": "another user", "seconds_left": 12.2, "waiting": 0}

        async def with_hold(route: Any) -> None:
            response = await route.fetch()
            body = await response.json()
            await route.fulfill(response=response, json={**body, "hold": hold})

        await ben.route("**/v1/device", with_hold)
        await ben.reload()
        await expect(ben.get_by_test_id("hold")).to_have_text(
            "The device is held by another user for 13 s"
        )
        await expect(ben.get_by_test_id("queue")).to_have_text("empty")
        await shot(ben, "15-device-held-390")
        hold = {"by": "you", "seconds_left": 5, "waiting": 1}
        await ben.reload()
        await expect(ben.get_by_test_id("output-SI1")).to_be_visible()
        await expect(ben.get_by_test_id("hold")).to_be_hidden()
        await browser.close()
    assert not [e for e in errors if "401" not in e], errors
