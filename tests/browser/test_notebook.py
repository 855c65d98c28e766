"""The notebook and the teachers' side in headless Chromium against a real `remotelab serve`:
drafts that never leak between accounts and survive navigation, Run/Stop with live output,
publishing with a description, and examples for signed-out visitors
(REMOTELAB_PUBLIC_EXAMPLES on for this module's server).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Dialog, Page, Route, async_playwright, expect

from tests.browser.conftest import require_browser
from tests.browser.test_app import INSTANCE, SHOTS, create_user, log_out, sign_in
from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM
from tests.support.server import running

pytestmark = pytest.mark.browser

BUSY_LOOP = "print('started')\nn = 0\nwhile True:\n    n += 1\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    instance = tmp_path_factory.mktemp("notebook") / "inst"
    settings = {"public_examples": "true", "sandbox_wall_seconds": "6"}
    with running(instance, **settings) as lab:
        INSTANCE[lab.url] = instance
        yield lab.url


class Tabs:
    """Browser contexts (each its own cookies and storage) whose console errors are kept."""

    def __init__(self, browser: Browser, server: str) -> None:
        self.browser, self.server = browser, server
        self.errors: list[str] = []

    async def open(self, width: int = 1280, height: int = 800) -> Page:
        context = await self.browser.new_context(
            base_url=self.server, viewport={"width": width, "height": height}
        )
        tab = await context.new_page()
        tab.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: self.errors.append(str(e)))
        return tab


@pytest.fixture
async def tabs(server: str) -> AsyncIterator[Tabs]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        opened = Tabs(browser, server)
        yield opened
        await browser.close()
    assert not [e for e in opened.errors if "401" not in e], opened.errors


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def type_code(page: Page, code: str) -> None:
    editor = page.locator(".cm-content")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await editor.fill(code)


def accept_dialogs(page: Page, seen: list[str] | None = None) -> None:
    async def on_dialog(dialog: Dialog) -> None:
        if seen is not None:
            seen.append(f"{dialog.type}: {dialog.message}")
        await dialog.accept()

    page.on("dialog", on_dialog)


async def drafts_in_storage(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        "Object.fromEntries(Object.keys(sessionStorage)"
        ".filter(k => k.startsWith('remotelab:draft:')).map(k => [k, sessionStorage[k]]))"
    )
    return result


async def test_two_accounts_on_one_browser_never_see_each_others_drafts(
    tabs: Tabs, server: str
) -> None:
    create_user(server, "amy.d@example.org", "student")
    create_user(server, "ben.d@example.org", "student")
    page = await tabs.open()
    asked: list[str] = []
    accept_dialogs(page, asked)

    # Amy writes without saving, in a new script and in a saved one.
    await sign_in(page, "amy.d@example.org")
    await page.get_by_role("link", name="New script").click()
    await page.locator("#title").fill("Amy's secret")
    await type_code(page, "print('secret of Amy')\n")
    await expect(page.get_by_test_id("save-state")).to_have_text("unsaved edits")
    assert any("secret of Amy" in v for v in (await drafts_in_storage(page)).values())

    # She signs out: asked first, and her unsaved edits go with her.
    await log_out(page, "amy.d@example.org")
    assert asked == ["confirm: Sign out and discard unsaved edits in 1 script?"]
    assert await drafts_in_storage(page) == {}

    # Ben, on the same browser, starts a new script: the starter, not Amy's code.
    await sign_in(page, "ben.d@example.org")
    await page.get_by_role("link", name="New script").click()
    await expect(page.locator(".cm-content")).to_have_text("print('hello')")
    await expect(page.locator("#title")).to_have_value("Untitled")
    await type_code(page, "print('Ben was here')\n")

    # Ben's session ends without a sign-out (cookie gone); Amy signs in on the same tab:
    # Ben's draft is dropped, not shown.
    await page.evaluate("fetch('/v1/auth/logout', {method: 'POST'})")
    await page.wait_for_timeout(300)
    await page.get_by_role("link", name="Home", exact=True).click()  # answers 401: sign in
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_label("Email").fill("amy.d@example.org")
    await page.locator("#password").fill("long enough password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("backend")).to_have_text("emulator")
    amy = await page.evaluate("fetch('/v1/users/me').then(r => r.json())")
    left = await drafts_in_storage(page)
    assert all(k.startswith(f"remotelab:draft:{amy['id']}:") for k in left), left
    assert not any("Ben was here" in v for v in left.values())
    await page.get_by_role("link", name="New script").click()
    await expect(page.locator(".cm-content")).to_have_text("print('hello')")
    await shot(page, "20-notebook-new-script-1280")
    await log_out(page, "amy.d@example.org")


async def test_a_stale_tab_never_saves_into_the_account_signed_in_since(
    tabs: Tabs, server: str
) -> None:
    """Two tabs share the cookie: Dana's first tab, left open after her second tab signed out
    and Ezra signed in there, must not save Dana's draft as Ezra's script."""
    create_user(server, "dana@example.org", "student")
    create_user(server, "ezra@example.org", "student")
    first = await tabs.open()
    accept_dialogs(first)
    await sign_in(first, "dana@example.org")
    await first.get_by_role("link", name="New script").click()
    await first.locator("#title").fill("Dana's draft")
    await type_code(first, "print('Dana')\n")

    second = await first.context.new_page()
    accept_dialogs(second)
    await second.goto("/")
    await log_out(second, "dana@example.org")
    await sign_in(second, "ezra@example.org")

    await first.get_by_role("button", name="Save").click()
    # The stale tab starts again as Ezra, with none of Dana's drafts.
    await expect(first.get_by_role("button", name="Log out (ezra@example.org)")).to_be_visible()
    assert not any("Dana" in v for v in (await drafts_in_storage(first)).values())
    scripts = await second.evaluate("fetch('/v1/scripts').then(r => r.json())")
    assert [s["title"] for s in scripts["items"]] == []


async def test_an_edited_script_survives_a_navigation(tabs: Tabs, server: str) -> None:
    create_user(server, "cleo@example.org", "student")
    page = await tabs.open()
    accept_dialogs(page)
    await sign_in(page, "cleo@example.org")
    mine = page.get_by_role("region", name="My scripts")
    await expect(mine.get_by_test_id("no-scripts")).to_contain_text("No scripts yet")

    await page.get_by_role("link", name="New script").click()
    await page.locator("#title").fill("Kept")
    await type_code(page, "print('version 1')\n")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_test_id("timer")).to_have_text("saved")
    await expect(page.get_by_test_id("save-state")).to_have_text("saved")
    assert re.search(r"#/notebook/\d+$", page.url)
    # Saved, the page is named by its title (the tab and the heading), no longer "New script".
    await expect(page).to_have_title("Kept — remotelab")
    await expect(page.locator("main > h1")).to_have_text("Kept")
    saved_url = page.url

    # An edit, then Home: the edit is kept and the list says so.
    await type_code(page, "print('version 2')\n")
    await expect(page.get_by_test_id("save-state")).to_have_text("unsaved edits")
    await page.get_by_role("link", name="Home", exact=True).click()
    item = mine.get_by_role("listitem").filter(has_text="Kept")
    await expect(item).to_contain_text("unsaved edits")
    await shot(page, "21-home-unsaved-edits-1280")

    # "New script" does not open those edits.
    await page.get_by_role("link", name="New script").click()
    await expect(page.locator(".cm-content")).to_have_text("print('hello')")

    # Back to the script: the edits are there, said to be unsaved.
    await page.goto(saved_url)
    await expect(page.locator(".cm-content")).to_have_text("print('version 2')")
    restored = page.get_by_role("status").filter(has_text="unsaved edits are back")
    await expect(restored).to_be_visible()
    # Discarding returns to the saved version.
    await page.get_by_role("button", name="Discard them").click()
    await expect(page.locator(".cm-content")).to_have_text("print('version 1')")
    await expect(page.get_by_test_id("save-state")).to_have_text("saved")

    # A reload keeps an edit too (same tab), and closing the tab with it warns.
    await type_code(page, "print('version 3')\n")
    await page.reload()
    await expect(page.locator(".cm-content")).to_have_text("print('version 3')")
    await page.locator(".cm-content").click()
    await page.keyboard.type("# more")
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.type))
    await page.close(run_before_unload=True)
    deadline = time.monotonic() + 5
    while not dialogs and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert "beforeunload" in dialogs


async def test_ctrl_s_and_cmd_s_save_the_script(tabs: Tabs, server: str) -> None:
    create_user(server, "sami@example.org", "student")
    page = await tabs.open()
    accept_dialogs(page)
    await sign_in(page, "sami@example.org")
    await page.get_by_role("link", name="New script").click()
    await page.locator("#title").fill("Keys")

    async def saved_code() -> str:
        script_id = page.url.rsplit("/", 1)[-1]
        script: dict[str, Any] = await page.evaluate(
            f"fetch('/v1/scripts/{script_id}').then(r => r.json())"
        )
        assert script["title"] == "Keys"
        return str(script["code"])

    # Ctrl+S in the editor saves as the Save button does (not the browser's save page).
    await type_code(page, "print('by ctrl s')\n")
    await expect(page.get_by_test_id("save-state")).to_have_text("unsaved edits")
    await page.keyboard.press("Control+S")
    await expect(page.get_by_test_id("save-state")).to_have_text("saved")
    await expect(page.get_by_test_id("timer")).to_have_text("saved")
    assert re.search(r"#/notebook/\d+$", page.url)
    assert await saved_code() == "print('by ctrl s')\n"
    # The editor keeps its text: no "s" was typed.
    await expect(page.locator(".cm-content")).to_have_text("print('by ctrl s')")

    # Cmd+S (a Mac's) from the title field saves the title and the code.
    await type_code(page, "print('by cmd s')\n")
    await page.locator("#title").fill("Keys")
    await page.locator("#title").press("Meta+S")
    await expect(page.get_by_test_id("save-state")).to_have_text("saved")
    assert await saved_code() == "print('by cmd s')\n"
    await expect(page.locator("#title")).to_have_value("Keys")


async def test_stop_ends_a_busy_loop_and_keeps_its_output(tabs: Tabs, server: str) -> None:
    create_user(server, "dora@example.org", "student")
    page = await tabs.open()
    accept_dialogs(page)
    await sign_in(page, "dora@example.org")
    await page.get_by_role("link", name="New script").click()
    await type_code(page, BUSY_LOOP)
    await page.get_by_role("button", name="Run").click()

    # The output comes while the script runs; the timer counts.
    output = page.get_by_test_id("output")
    await expect(output).to_contain_text("started", timeout=10000)
    # A second in, it still runs (a busy loop), its output on the page.
    await expect(page.get_by_test_id("timer")).to_contain_text(re.compile(r"running [1-4]\.\d s"))
    await expect(output).to_contain_text("started")
    await expect(page.get_by_role("button", name="Run")).to_be_hidden()
    await shot(page, "22-notebook-running-1280")
    stop = page.get_by_role("button", name="Stop")
    started = time.monotonic()
    await stop.click()
    await expect(page.get_by_test_id("timer")).to_contain_text("cancelled in", timeout=5000)
    assert time.monotonic() - started < 5
    await expect(output).to_contain_text("started")
    await expect(output.get_by_role("alert")).to_have_text(re.compile(r"^Stopped at line [34]\.$"))
    await expect(page.get_by_role("button", name="Run")).to_be_visible()
    await shot(page, "23-notebook-stopped-1280")

    # A new run clears the previous output.
    await type_code(page, "import time\ntime.sleep(1)\nprint('second run')\n")
    await page.get_by_role("button", name="Run").click()
    await expect(output).not_to_contain_text("started")
    await expect(output).to_contain_text("second run", timeout=10000)
    await expect(page.get_by_test_id("timer")).to_contain_text("ok in")

    # A syntax error names its line once.
    await type_code(page, "x = 1\nif x\n    pass\n")
    await page.get_by_role("button", name="Run").click()
    alert = output.get_by_role("alert")
    await expect(alert).to_contain_text("SyntaxError", timeout=10000)
    text = await alert.inner_text()
    assert len(re.findall(r"line 2", text, re.IGNORECASE)) == 1, text
    await expect(page.locator(".cm-error-line")).to_have_count(1)

    # A run that times out (6 s here) keeps its output and names the line it was on.
    await type_code(page, "print('tick')\nwhile True:\n    pass\n")
    await page.get_by_role("button", name="Run").click()
    await expect(output).to_contain_text("tick", timeout=10000)
    await expect(page.get_by_test_id("timer")).to_contain_text("timeout in", timeout=15000)
    await expect(output).to_contain_text("tick")
    await expect(output.get_by_role("alert")).to_have_text(
        re.compile(
            r"^Timeout: the script ran longer than the time limit of 6 s "
            r"\(stopped at line [23]\)$"
        )
    )
    await expect(page.locator(".cm-error-line")).to_have_count(1)

    # On a phone the toolbar wraps: Stop stays on screen.
    await page.set_viewport_size({"width": 390, "height": 844})
    await type_code(page, BUSY_LOOP)
    await page.get_by_role("button", name="Run").click()
    await expect(output).to_contain_text("started", timeout=10000)
    box = await stop.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    await shot(page, "24-notebook-running-390")
    await stop.click()
    await expect(page.get_by_test_id("timer")).to_contain_text("cancelled in", timeout=5000)


async def test_a_published_example_shows_its_description_to_a_student(
    tabs: Tabs, server: str
) -> None:
    create_user(server, "rivera@example.org", "teacher")
    create_user(server, "eli@example.org", "student")
    teacher = await tabs.open()
    accept_dialogs(teacher)
    await sign_in(teacher, "rivera@example.org")
    await teacher.get_by_role("link", name="New script").click()
    await teacher.locator("#title").fill("Resistor on RES")
    await type_code(teacher, "print('draft')\n")
    publish = teacher.get_by_role("region", name="Publish")
    await expect(publish).to_have_count(0)  # not before the first save
    await teacher.get_by_role("button", name="Save").click()
    await expect(publish).to_be_visible()  # right after it, no reload

    # Unsaved edits, then publish: the example has them. The fields' own saves are slowed
    # down: publishing still waits for them, so its message is the one left.
    async def slow_field_saves(route: Route) -> None:
        request = route.request
        if request.method == "PATCH" and "published" not in (request.post_data or ""):
            await asyncio.sleep(0.5)
        await route.continue_()

    await teacher.route("**/v1/scripts/*", slow_field_saves)
    await type_code(teacher, "print('R = %.0f ohm' % get_resistance())\n")
    await publish.get_by_label("Description").fill("Measure the resistor wired to RES.")
    await publish.get_by_label("Level").select_option("beginner")
    await publish.get_by_label("Author (shown to students)").fill("Ms. Rivera")
    await publish.get_by_label("Published as an example").check()
    published = "Published: students now see “Resistor on RES” among the examples."
    await expect(teacher.get_by_test_id("publish-status")).to_have_text(published)
    await expect(teacher.get_by_test_id("save-state")).to_have_text("saved")
    await teacher.wait_for_timeout(2000)  # longer than the slowed field saves together
    await expect(teacher.get_by_test_id("publish-status")).to_have_text(published)
    await teacher.unroute("**/v1/scripts/*")
    await shot(teacher, "25-teacher-published-1280")

    # The student: the list and the example's page show the description.
    student = await tabs.open(390, 844)
    await sign_in(student, "eli@example.org")
    examples = student.get_by_role("region", name="Examples")
    await expect(examples).to_contain_text("Measure the resistor wired to RES.")
    await examples.get_by_role("link", name="Resistor on RES").click()
    await expect(student.get_by_test_id("description")).to_have_text(
        "Measure the resistor wired to RES."
    )
    await expect(student.get_by_test_id("example-meta")).to_have_text("Beginner · by Ms. Rivera")
    # Opening it runs nothing (a run may set the student's outputs): Run does.
    await expect(student.get_by_test_id("run-hint")).to_be_visible()
    await student.get_by_role("button", name="Run", exact=True).click()
    await expect(student.get_by_test_id("output")).to_contain_text("R = 100", timeout=10000)
    await shot(student, "26-example-description-390")
    overflow = await student.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the example page scrolls sideways by {overflow}px"

    # The source is read-only and says so when typed into.
    await student.get_by_role("tab", name="Source").click()
    await expect(student.get_by_text("Read-only — copy to edit.")).to_be_visible()
    await student.locator(".cm-content").click()
    await student.keyboard.type("x")
    await expect(student.locator(".cm-content")).not_to_contain_text("x)")
    await expect(student.get_by_role("status").filter(has_text="Read-only")).to_have_text(
        "Read-only — copy this example to your scripts to edit it."
    )

    # Copy from the example's page: the copy is titled "(copy)".
    await student.get_by_role("button", name="Copy to my scripts").click()
    await expect(student.locator("#title")).to_have_value("Resistor on RES (copy)")
    await expect(student.locator(".cm-content")).to_contain_text("get_resistance()")

    # Unpublishing is confirmed too.
    await publish.get_by_label("Published as an example").uncheck()
    await expect(teacher.get_by_test_id("publish-status")).to_have_text(
        "No longer published: students no longer see “Resistor on RES”."
    )


async def test_a_signed_out_visitor_runs_a_public_example(tabs: Tabs, server: str) -> None:
    create_user(server, "fay@example.org", "teacher")
    teacher = await tabs.open()
    await sign_in(teacher, "fay@example.org")
    made = await teacher.evaluate(
        """fetch('/v1/examples', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({title: 'Counting', description: 'Counts to three.',
                                  code: "for i in range(3):\\n    print('count', i)\\n"})})
           .then(r => r.json())"""
    )
    visitor = await tabs.open(390, 844)
    await visitor.goto("/#/examples")  # the link a teacher shares
    listed = visitor.get_by_role("region", name="Examples")
    await expect(listed).to_contain_text("Counts to three.")
    await listed.get_by_role("link", name="Counting").click()
    assert visitor.url.endswith(f"#/example/{made['id']}")
    await expect(visitor.get_by_test_id("description")).to_have_text("Counts to three.")
    await visitor.get_by_role("button", name="Run", exact=True).click()
    await expect(visitor.get_by_test_id("output")).to_contain_text("count 2", timeout=10000)
    await expect(visitor.get_by_role("link", name="Sign in to copy it")).to_be_visible()
    await shot(visitor, "27-visitor-example-390")
    # Anything else still asks to sign in.
    await visitor.goto("/#/notebook/new")
    await expect(visitor.get_by_role("heading", name="Sign in")).to_be_visible()
