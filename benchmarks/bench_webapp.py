"""The browser app: what the first page costs to load, and the live scope's frame rate.

The first page load is measured from a real server's responses, as headless Chromium
(Debian's package) receives them: every JavaScript and CSS file fetched while the sign-in
page opens and while Home opens after signing in, with the bytes sent (compressed, as the
server chose for the browser's Accept-Encoding), against the 150 KB target. For comparison
it also prints what the same files weigh as gzip (browsers ask for brotli only from HTTPS or
localhost), and what opening a script loads afterwards (the editor's chunks). Then
the frames per second the oscilloscope page renders for 1,000-sample frames on the emulator.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
from playwright.async_api import Page, Response, async_playwright

from benchmarks.support import lab_server, table
from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "webapp" / "dist"


TARGET_KB = 150
LATER = "then a script"  # the editor's chunks, loaded when a notebook first opens
PASSWORD = "benchmark password"


def is_code(url: str) -> bool:
    path = url.split("?")[0]
    return path.endswith((".js", ".css"))


class Recorder:
    """Notes every JS and CSS response of a page into ``into`` (switch it between views):
    its encoding, bytes sent and bytes decoded."""

    def __init__(self, page: Page, into: dict[str, tuple[str, int, int]]) -> None:
        self.into = into
        self.pending: list[asyncio.Future[None]] = []
        page.on("response", lambda r: self.pending.append(asyncio.ensure_future(self.seen(r))))

    async def seen(self, response: Response) -> None:
        if not is_code(response.url) or response.status != 200:
            return
        into = self.into  # the view the response belongs to
        sizes = await response.request.sizes()
        encoding = (await response.all_headers()).get("content-encoding", "identity")
        body = await response.body()
        into[response.url] = (encoding, sizes["responseBodySize"], len(body))

    async def settle(self) -> None:
        await asyncio.gather(*self.pending)


async def first_page_load(url: str, email: str) -> dict[str, dict[str, tuple[str, int, int]]]:
    """The JS and CSS each first view fetches: {view: {url: (encoding, sent, decoded)}}."""
    views: dict[str, dict[str, tuple[str, int, int]]] = {"sign-in": {}, "home": {}, LATER: {}}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
        page = await context.new_page()
        recorder = Recorder(page, views["sign-in"])
        await page.goto("/", wait_until="networkidle")
        await recorder.settle()
        await page.get_by_label("Email").fill(email)
        await page.locator("#password").fill(PASSWORD)
        # Signed in, a fresh browser opens Home as its first page.
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_test_id("device-summary").wait_for()
        state = await context.storage_state()
        await context.close()
        context = await browser.new_context(
            base_url=url, viewport={"width": 1280, "height": 800}, storage_state=state
        )
        page = await context.new_page()
        recorder = Recorder(page, views["home"])
        await page.goto("/#/home", wait_until="networkidle")
        await page.get_by_test_id("device-summary").wait_for()
        await recorder.settle()
        recorder.into = views[LATER]
        await page.goto("/#/notebook/new")
        await page.locator(".cm-content").wait_for()
        await page.wait_for_load_state("networkidle")
        await recorder.settle()
        await browser.close()
    return views


def gzip_sizes(files: list[str]) -> int:
    """What the same files weigh as gzip (for a browser that does not ask for brotli: most
    do only from HTTPS or localhost)."""
    total = 0
    for file in files:
        r = httpx.get(file, headers={"Accept-Encoding": "gzip"}, timeout=30)
        r.raise_for_status()
        total += int(r.headers["Content-Length"])
    return total


async def scope_fps(url: str, email: str, seconds: float = 10.0) -> list[float]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(base_url=url, viewport={"width": 1280, "height": 900})
        await page.goto("/")
        await page.get_by_label("Email").fill(email)
        await page.locator("#password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_test_id("device-summary").wait_for()
        await page.goto("/#/scope")
        await page.locator("#scope-samples").fill("1000")
        await page.locator("#scope-timegap").fill("1")
        await page.get_by_role("button", name="Run").click()
        readings = []
        await asyncio.sleep(2)
        for _ in range(int(seconds)):
            await asyncio.sleep(1)
            value = await page.locator("section.scope").get_attribute("data-fps")
            readings.append(float(value or 0))
        await browser.close()
    return readings


def main() -> None:
    if not (DIST / "index.html").is_file():
        subprocess.run(["make", "webapp"], cwd=ROOT, check=True)
    with lab_server() as server:
        server.account("first@example.org", PASSWORD)
        views = asyncio.run(first_page_load(server.url, "first@example.org"))
        rows: list[list[object]] = []
        for view, files in views.items():
            sent = sum(b for _, b, _ in files.values())
            for file, (encoding, size, raw) in sorted(files.items()):
                name = file.split("/assets/")[-1]
                rows.append([view, name, encoding, f"{raw / 1024:.1f}", f"{size / 1024:.1f}", ""])
            rows.append(
                [
                    view,
                    "JS + CSS" if view == LATER else "first page load, JS + CSS",
                    "as sent",
                    f"{sum(r for _, _, r in files.values()) / 1024:.1f}",
                    f"{sent / 1024:.1f}",
                    f"<= {TARGET_KB} KB",
                ]
            )
            if view == LATER:
                rows[-1][-1] = "(not in the first load)"
            gz = gzip_sizes(list(files))
            rows.append([view, "same files as gzip", "gzip", "", f"{gz / 1024:.1f}", ""])
        table(
            "First page load from the server's responses in Chromium (KB)",
            ["view", "file", "encoding", "decoded", "sent", "target"],
            rows,
        )
        server.account("viewer@example.org", PASSWORD)
        readings = asyncio.run(scope_fps(server.url, "viewer@example.org"))
    table(
        "Live scope in headless Chromium, 1,000-sample frames (default 60 fps cap)",
        ["seconds measured", "lowest fps", "median fps", "target"],
        [
            [
                len(readings),
                f"{min(readings):.1f}",
                f"{sorted(readings)[len(readings) // 2]:.1f}",
                ">= 30",
            ]
        ],
    )


if __name__ == "__main__":
    main()
