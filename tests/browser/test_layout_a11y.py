"""Every page at a laptop's 1280x800 and a phone's 390x844: no sideways scroll, no console
errors, axe-core finds no serious or critical violation, a title and one <h1>; plots are
named images sized to their container. Screenshots of each go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    PASSWORD,
    SIZES,
    Tabs,
    axe_violations,
    describe_violations,
    shot,
    sideways_overflow,
    sign_in,
)
from tests.support.server import Server

pytestmark = pytest.mark.browser

# A script with a plot and a button that re-plots two captured series.
PLOT_SCRIPT = (
    "import numpy as np\n"
    "x = np.linspace(0, 1, 50)\n"
    "plt = plot(x, x, 2 * x)\n"
    "button('Capture', \"capture2(200, 2)\", 'update-plot', target=plt, stacking='xyy')\n"
    "print('done')\n"
)


@dataclass
class View:
    name: str
    path: str
    title: str
    signed_in: bool = True
    #: What to do once the page is open, before checking it (wait for it, press Run...).
    ready: Callable[[Page], Awaitable[None]] | None = None


async def heading(page: Page) -> None:
    await expect(page.locator("main h1")).to_be_visible()


async def editor(page: Page) -> None:
    await expect(page.locator(".cm-content")).to_be_visible()


async def run_script(page: Page) -> None:
    await expect(page.locator(".cm-content")).to_be_visible()
    await page.get_by_role("button", name="Run", exact=True).click()
    await expect(page.locator(".output [role=img]")).to_be_visible(timeout=15000)


async def example_output(page: Page) -> None:
    await page.get_by_role("button", name="Run", exact=True).click()
    await expect(page.get_by_test_id("output")).not_to_be_empty(timeout=15000)


async def home_plot(page: Page) -> None:
    await page.get_by_label("Function string").fill("capture1('CH1', 200, 2)")
    await page.get_by_role("button", name="Run", exact=True).click()
    await expect(page.get_by_test_id("function-result").locator("[role=img]")).to_be_visible(
        timeout=15000
    )


async def scope_running(page: Page) -> None:
    await page.locator("section.scope").get_by_role("button", name="Run").click()
    await expect(page.locator("section.scope [role=img]")).to_be_visible(timeout=15000)
    await page.wait_for_timeout(500)  # a few frames
    await page.get_by_role("button", name="Stop").click()


async def functions_listed(page: Page) -> None:
    await expect(page.get_by_test_id("function-count")).to_contain_text("functions")


async def users_listed(page: Page) -> None:
    await expect(page.get_by_role("row").filter(has_text="student@example.org")).to_be_visible()


SCRIPT_TITLE = "Two lines and a capture button"  # a script's view is named by its title


def views(script_id: int, example_id: int, example_title: str = "") -> list[View]:
    return [
        View("sign-in", "/#/", "Sign in", signed_in=False, ready=heading),
        View("sign-up", "/#/signup", "Create an account", signed_in=False, ready=heading),
        View("functions-signed-out", "/#/functions", "Function reference", False, functions_listed),
        View("reset-password", "/#/reset-password?token=x", "Choose a new password", False),
        View("home", "/#/home", "Home", ready=heading),
        View("home-plot", "/#/home", "Home", ready=home_plot),
        View("new-script", "/#/notebook/new", "New script", ready=editor),
        View("script", f"/#/notebook/{script_id}", SCRIPT_TITLE, ready=run_script),
        View("example", f"/#/example/{example_id}", example_title, ready=example_output),
        View("scope", "/#/scope", "Oscilloscope", ready=scope_running),
        View("functions", "/#/functions", "Function reference", ready=functions_listed),
        View("users", "/#/admin", "Users", ready=users_listed),
        View("not-found", "/#/nowhere", "Not found", ready=heading),
    ]


@pytest.fixture(scope="module")
def ids(lab: Server) -> tuple[int, int, str]:
    """A saved script of the admin's with a plot, and the first published example."""
    headers = lab.login("admin@example.org", PASSWORD)
    made = httpx.post(
        lab.url + "/v1/scripts",
        json={"title": SCRIPT_TITLE, "code": PLOT_SCRIPT},
        headers=headers,
        timeout=30,
    )
    made.raise_for_status()
    examples = httpx.get(lab.url + "/v1/examples?limit=1", headers=headers, timeout=30)
    examples.raise_for_status()
    first = examples.json()["items"][0]
    return made.json()["id"], first["id"], first["title"]


NAMES = [v.name for v in views(0, 0)]


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", NAMES)
async def test_page_fits_has_a_title_and_passes_axe(
    tabs: Tabs, ids: tuple[int, int, str], name: str, size: str
) -> None:
    view = {v.name: v for v in views(*ids)}[name]
    tab = await tabs.open(size)
    page = tab.page
    if view.signed_in:
        await sign_in(page, "admin@example.org")
    await page.goto(view.path)
    if view.ready:
        await view.ready(page)
    await expect(page).to_have_title(f"{view.title} — remotelab")
    await expect(page.locator("h1")).to_have_count(1)

    overflow = await sideways_overflow(page)
    await shot(page, f"{view.name}-{size}")
    assert overflow <= 0, f"{view.name} at {size} scrolls sideways by {overflow}px"
    # Every plot is an image named by its data, and no wider than the page.
    for plot in await page.locator(".plot").all():
        box = await plot.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= SIZES[size]["width"], f"{view.name}: plot overflows"
        label = await plot.locator("[role=img]").get_attribute("aria-label")
        assert label is not None
        assert re.match(r"Plot of \d+ series, \d+ points?", label), label
    violations = await axe_violations(page)
    assert not violations, describe_violations(violations)
    tab.assert_clean()


async def test_plots_follow_their_container_when_the_window_narrows(
    tabs: Tabs, ids: tuple[int, int, str]
) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await sign_in(page, "admin@example.org")
    await page.goto(f"/#/notebook/{ids[0]}")
    await run_script(page)
    canvas = page.locator(".output .plot canvas").first
    wide = (await canvas.bounding_box() or {}).get("width", 0)
    await page.set_viewport_size(SIZES["phone"])
    narrow = wide
    for _ in range(50):  # the ResizeObserver redraws on the next frame
        narrow = (await canvas.bounding_box() or {}).get("width", 0)
        if narrow < 390:
            break
        await page.wait_for_timeout(50)
    assert wide > 600
    assert 200 < narrow < 390
    assert await sideways_overflow(page) <= 0
    tab.assert_clean()


async def test_focus_is_clearly_visible(tabs: Tabs) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await page.goto("/#/")
    await page.get_by_label("Email").focus()
    await page.keyboard.press("Tab")  # the keyboard shows the ring (:focus-visible)
    style = await page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; })()"
    )
    assert style[0] == "solid"
    assert float(style[1].removesuffix("px")) >= 2
    assert style[2] == "rgb(29, 78, 216)"  # #1d4ed8: 6.7:1 against white


async def test_the_code_editor_has_a_name(tabs: Tabs) -> None:
    tab = await tabs.open("desktop")
    page = tab.page
    await sign_in(page, "admin@example.org")
    await page.goto("/#/notebook/new")
    await expect(page.get_by_role("textbox", name="Python code")).to_be_visible()
    tab.assert_clean()
