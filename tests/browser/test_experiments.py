"""The home page of a lab over NATS: which experiment and device you are on, and the choice of
another experiment (agents on two benches, a real front, Chromium at desktop and phone width)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.browser.conftest import PASSWORD, SHOTS, SIZES, require_browser, sign_in
from tests.cluster.test_experiments import benches
from tests.support.chromium import ARGS
from tests.support.chromium import EXECUTABLE as CHROMIUM
from tests.support.cluster import agent_process, lab
from tests.support.nats import NatsServer
from tests.support.served import new_user_token

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_a_student_sees_their_experiment_and_device_and_changes_experiment(
    nats_server: NatsServer, tmp_path: Path, size: str
) -> None:
    require_browser()
    env = benches(tmp_path / "benches")
    async with (
        agent_process(nats_server, "rc-1", tmp_path, extra=env["rc"]),
        agent_process(nats_server, "div-1", tmp_path, extra=env["divider"]),
        lab(tmp_path / "front", **nats_server.front_settings()) as front,
        async_playwright() as pw,
    ):
        await new_user_token(front.app, "ada@example.org", PASSWORD)
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = await browser.new_context(base_url=front.base, viewport=SIZES[size])
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, "ada@example.org")

        where = page.get_by_test_id("experiment")
        choice = page.get_by_test_id("experiment-choice")
        # Two experiments: a choice, with both listed.
        await expect(choice).to_be_visible()
        await expect(choice.locator("option")).to_have_text(["RC filter", "divider"])
        # Before any call the device is not chosen yet; a call places the student.
        await page.get_by_label("Function string").fill("get_voltage('CH3')")
        await page.get_by_role("button", name="Run", exact=True).click()
        await expect(page.get_by_test_id("function-result")).to_have_text(re.compile(r"V$"))
        await page.reload()
        await expect(where).to_have_text(
            re.compile(r"^Experiment: (RC filter|divider) — your device: (rc-1|div-1) — 1 device")
        )
        first = await choice.input_value()
        other = "divider" if first == "RC filter" else "RC filter"
        device = "div-1" if other == "divider" else "rc-1"

        await choice.select_option(other)
        await expect(where).to_contain_text(f"Experiment: {other} — ")
        await page.get_by_label("Function string").fill("set_pv1(1.5)")
        await page.get_by_role("button", name="Run", exact=True).click()
        await expect(page.get_by_test_id("function-result")).to_be_visible()
        await page.reload()
        await expect(where).to_have_text(
            re.compile(rf"^Experiment: {other} — your device: {device} — 1 device, [01] free$")
        )
        await expect(choice).to_have_value(other)
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / f"experiments-{size}.png"), full_page=True)
        await browser.close()
        assert not errors, errors
