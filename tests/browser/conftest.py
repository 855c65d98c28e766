"""What the layout, accessibility and first-steps suites share: a real `remotelab serve` with
the built webapp, Debian's Chromium, axe-core, and screenshots per page and screen size."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM
from tests.support.server import Server, create_user, running

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
AXE = ROOT / "webapp" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "long enough password"
# A laptop and a phone (an iPhone 12-15's CSS pixels).
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def require_browser() -> None:
    """Fail (never skip) when what the browser suites need is missing."""
    if not (ROOT / "webapp" / "dist" / "index.html").is_file():
        pytest.fail("the webapp is not built: run `make webapp`", pytrace=False)
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            "Chromium is missing: run `bash scripts/ensure-system-packages.sh chromium`",
            pytrace=False,
        )
    if not AXE.is_file():
        pytest.fail("axe-core is missing: run `make webapp` (npm ci)", pytrace=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server, with an admin (who also sees the teachers' tools) and a student."""
    require_browser()
    instance = tmp_path_factory.mktemp("lab") / "inst"
    create_user(instance, "admin@example.org", PASSWORD, "admin")
    create_user(instance, "student@example.org", PASSWORD, "student")
    with running(instance) as server:
        yield server


@dataclass
class Watched:
    """A tab and what went wrong in it: console errors and uncaught exceptions."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        # The one expected: the app asks who is signed in (GET /v1/users/me), and a browser
        # that is not signed in yet is answered 401, which Chromium logs.
        probe = re.compile(r"status of 401 .*/v1/users/me$")
        assert not [e for e in self.errors if not probe.search(e)], self.errors


@dataclass
class Tabs:
    browser: Browser
    url: str
    contexts: list[BrowserContext] = field(default_factory=list)

    async def open(self, size: str = "desktop") -> Watched:
        context = await self.browser.new_context(base_url=self.url, viewport=SIZES[size])
        self.contexts.append(context)
        page = await context.new_page()
        watched = Watched(page)
        page.on(
            "console",
            lambda m: (
                watched.errors.append(f"{m.text} {m.location.get('url', '')}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: watched.errors.append(str(e)))
        return watched


@pytest.fixture
async def tabs(lab: Server) -> AsyncIterator[Tabs]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield Tabs(browser, lab.url)
        await browser.close()


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/#/signin")
    await page.get_by_label("Email").fill(email)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("device-summary")).to_be_visible()


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"][:5]],
            }
            for v in violations
        ],
        indent=1,
    )


async def sideways_overflow(page: Page) -> int:
    """How far the page scrolls sideways, in CSS pixels (0: it does not)."""
    return int(await page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


async def shot(page: Page, name: str) -> None:
    safe = re.sub(r"[^\w.-]+", "-", name)
    await page.screenshot(path=str(SHOTS / f"{safe}.png"), full_page=True)
