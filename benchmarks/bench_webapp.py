"""The browser app: what the first page costs to load, and the live scope's frame rate.

Prints the gzipped size of the JavaScript and CSS the landing page loads (built webapp), and
the frames per second the oscilloscope page renders in headless Chromium (Debian's package)
for 1,000-sample frames from a real server on the emulator.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import subprocess
from pathlib import Path

from playwright.async_api import async_playwright

from benchmarks.support import lab_server, table
from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "webapp" / "dist"


def first_page_assets() -> list[tuple[str, int, int]]:
    html = (DIST / "index.html").read_text()
    out = []
    for ref in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html):
        data = (DIST / ref.lstrip("/")).read_bytes()
        out.append((ref, len(data), len(gzip.compress(data, 9))))
    return out


async def scope_fps(url: str, email: str, seconds: float = 10.0) -> list[float]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(base_url=url, viewport={"width": 1280, "height": 900})
        await page.goto("/")
        await page.get_by_label("Email").fill(email)
        await page.locator("#password").fill("benchmark password")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_test_id("backend").wait_for()
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
    assets = first_page_assets()
    total = sum(gz for _, _, gz in assets)
    rows: list[list[object]] = [
        [ref, f"{raw / 1024:.1f}", f"{gz / 1024:.1f}", ""] for ref, raw, gz in assets
    ]
    rows.append(["first page, JS + CSS", "", f"{total / 1024:.1f}", "<= 300 KB gzipped"])
    table("First page assets (KB)", ["file", "raw", "gzipped", "target"], rows)
    with lab_server() as server:
        server.account("viewer@example.org")
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
