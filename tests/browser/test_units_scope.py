"""Numbers with units, labelled plots and the live oscilloscope, in headless Chromium
against a real `remotelab serve` (the server and page fixtures of test_app)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser import test_app
from tests.browser.test_app import log_out, shot

pytestmark = pytest.mark.browser
# The fixtures of test_app: a real server (one for this module) and a page that fails the test
# on any console error.
server = test_app.server
page = test_app.page


async def sign_up(page: Page, email: str) -> None:
    await page.goto("/#/signup")
    await page.get_by_label("Email").fill(email)
    await page.locator("#password").fill("long enough password")
    await page.locator("#password-confirm").fill("long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_test_id("device-summary")).to_contain_text("Simulated PSLab")


async def run_function(page: Page, function: str) -> None:
    await page.get_by_label("Function string").fill(function)
    await page.get_by_role("button", name="Run", exact=True).click()


def legend(page: Page, within: str) -> object:
    return page.locator(f"{within} .u-legend .u-series th")


async def expect_axes(host: Locator) -> None:
    """uPlot draws axis labels on its canvas; the plot's host carries them as attributes."""
    await expect(host).to_have_attribute("data-x-label", "Time (µs)")
    await expect(host).to_have_attribute("data-y-label", "Voltage (V)")


async def test_numbers_carry_units_and_captures_their_labels(page: Page) -> None:
    await sign_up(page, "units@example.org")
    result = page.get_by_test_id("function-result").locator(".number")
    # The bench's 1 nF on CAP: the API answers 1.004e-9 (F).
    await run_function(page, "get_capacitance()")
    await expect(result).to_have_text("1.00 nF", timeout=5000)
    # RES reads about 10 kΩ, with noise either side: three significant digits either way.
    await run_function(page, "get_resistance()")
    await expect(result).to_have_text(re.compile(r"^(9\.\d\d|1\d\.\d) kΩ$"))
    await run_function(page, "set_pv1(0.005)")
    await expect(result).to_have_text(re.compile(r"^\d\.\d\d mV$"))
    await run_function(page, "waveform_generate(['SI1', 'SI2'], [1500, 250])")  # a list, in Hz
    await expect(result).to_have_text(re.compile(r"^1\.50 kHz, 250 Hz$"))
    await run_function(page, "get_temperature()")
    await expect(result).to_have_text(re.compile(r"^\d\d\.\d °C$"))

    # A two-channel capture: the legend names the channels, the axes time and voltage.
    await run_function(page, "capture2(200, 10)")
    names = legend(page, "[data-testid=function-result]")
    await expect(names).to_have_text(["Time (µs)", "CH1", "CH2"], timeout=5000)
    await expect_axes(page.locator("[data-testid=function-result] [data-x-label]"))
    await shot(page, "units-function-box")

    # The multimeter example: its display_number buttons show units too.
    await page.get_by_role("link", name="Multimeter panel").click()
    await page.get_by_role("button", name="Run", exact=True).click()
    await page.get_by_role("button", name="Capacitance on CAP").click()
    capacitance = page.locator("[data-name=button-id5-label]")
    await expect(capacitance).to_have_text("1.00 nF", timeout=5000)
    await page.get_by_role("button", name="Resistance on SEN").click()
    await expect(page.locator("[data-name=button-id4-label]")).to_have_text(
        re.compile(r"^\d\d\.\d kΩ$"), timeout=5000
    )
    await page.get_by_role("button", name="Voltage : CH3").click()
    await expect(page.locator("[data-name=button-id2-label]")).to_have_text(
        re.compile(r"^-?\d+(\.\d+)? m?V$"), timeout=5000
    )
    await shot(page, "units-multimeter")


async def test_plot_widgets_take_labels_from_the_script_and_from_a_capture(page: Page) -> None:
    await sign_up(page, "plots@example.org")
    await page.get_by_role("link", name="New script").click()
    code = (
        "t = [0, 1, 2]\n"
        "plot(t, [0, 1, 0], [1, 0, 1], name='mine', labels=['CH1', 'CH2'],"
        " x_label='Time (µs)', y_label='Voltage (V)')\n"
        "bare = plot(t, [0, 1, 2], [2, 1, 0], name='bare')\n"
        "button('Capture', \"capture2(100, 10)\", 'update-plot', target=bare, stacking='xyy')\n"
    )
    editor = page.locator(".cm-content")
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await editor.fill(code)
    await page.keyboard.press("Control+Enter")
    await expect(legend(page, "[data-name=mine]")).to_have_text(
        ["Time (µs)", "CH1", "CH2"], timeout=10000
    )
    await expect_axes(page.locator("[data-name=mine] [data-x-label]"))
    # Without labels: plain names, never "series 1".
    await expect(legend(page, "[data-name=bare]")).to_have_text(["x", "y1", "y2"])
    await page.get_by_role("button", name="Capture").click()
    await expect(legend(page, "[data-name=bare]")).to_have_text(
        ["Time (µs)", "CH1", "CH2"], timeout=5000
    )


async def open_scope(page: Page) -> None:
    await page.get_by_role("link", name="Oscilloscope", exact=True).click()
    await expect(page.get_by_role("heading", name="Oscilloscope")).to_be_visible()


async def test_the_scope_follows_settings_live_and_says_what_is_wrong(page: Page) -> None:
    await sign_up(page, "scope@example.org")
    await open_scope(page)
    scope = page.locator("section.scope")
    run = page.get_by_role("button", name="Run", exact=True)
    await run.click()
    await expect(scope).to_have_attribute("data-channels", "1", timeout=10000)
    await expect(scope).to_have_attribute("data-samples", "1000")
    await expect(legend(page, "section.scope")).to_have_text(["Time (µs)", "CH1"])
    await expect_axes(scope.locator("[data-x-label]"))
    await expect(page.get_by_test_id("meter")).to_have_text(re.compile(r"\d [µm]?V$"), timeout=5000)

    # Changes apply while it runs: no Stop, no Run.
    await page.locator("#scope-channels").select_option("2")
    await expect(scope).to_have_attribute("data-channels", "2", timeout=5000)
    await expect(legend(page, "section.scope")).to_have_text(["Time (µs)", "CH1", "CH2"])
    await page.locator("#scope-samples").fill("500")
    await expect(scope).to_have_attribute("data-samples", "500", timeout=5000)
    await page.locator("#scope-timegap").fill("4")
    await expect(scope).to_have_attribute("data-dx", "4", timeout=5000)
    await expect(page.get_by_role("button", name="Stop")).to_be_visible()

    # A level the ±3.3 V sine never reaches: the scope says it waits for the trigger.
    await page.locator("#scope-trigger").fill("10")
    await page.locator("#scope-use-trigger").check()
    waiting = page.get_by_test_id("scope-waiting")
    await expect(waiting).to_be_visible(timeout=5000)
    await expect(waiting).to_contain_text("Waiting for trigger")
    await expect(waiting).to_contain_text("CH1 never crosses 10 V")
    await shot(page, "scope-waiting-for-trigger")
    await page.locator("#scope-trigger").fill("0")
    await expect(waiting).to_be_hidden(timeout=5000)

    # An invalid setting: a visible error, the stale trace gone, the scope stopped.
    await page.locator("#scope-samples").fill("0")
    error = page.get_by_test_id("scope-error")
    await expect(error).to_be_visible(timeout=5000)
    await expect(error).to_contain_text("samples")
    await expect(error).to_contain_text("between 1 and 10000")
    await expect(error).to_have_css("color", "rgb(153, 27, 27)")
    await expect(scope.locator("canvas")).to_have_count(0)
    await expect(run).to_be_visible()
    await shot(page, "scope-invalid-setting")
    # Fixed, the stale message goes at once (before Run); it runs again; a field that is
    # not a number is caught before sending.
    await page.locator("#scope-samples").fill("300")
    await expect(error).to_be_hidden()
    await run.click()
    await expect(error).to_be_hidden()
    await expect(scope).to_have_attribute("data-samples", "300", timeout=10000)
    await page.locator("#scope-timegap").fill("")
    await expect(error).to_have_text("Cannot capture: Timegap must be a number, not “”")
    await expect(scope.locator("canvas")).to_have_count(0)


async def test_scope_settings_survive_leaving_and_stay_with_their_account(page: Page) -> None:
    await sign_up(page, "keeper@example.org")
    await open_scope(page)
    await page.locator("#scope-channels").select_option("2")
    await page.locator("#scope-timegap").fill("5")
    await page.locator("#scope-range").select_option("4")
    await page.locator("#scope-use-trigger").check()
    await page.get_by_role("link", name="Home", exact=True).click()
    await expect(page.get_by_test_id("backend")).to_have_text("emulator")
    await open_scope(page)
    await expect(page.locator("#scope-channels")).to_have_value("2")
    await expect(page.locator("#scope-timegap")).to_have_value("5")
    await expect(page.locator("#scope-range")).to_have_value("4")
    await expect(page.locator("#scope-use-trigger")).to_be_checked()
    await page.reload()
    await expect(page.locator("#scope-timegap")).to_have_value("5")

    # Another account on the same browser starts from the defaults.
    await log_out(page, "keeper@example.org")
    await sign_up(page, "other@example.org")
    await open_scope(page)
    await expect(page.locator("#scope-channels")).to_have_value("1")
    await expect(page.locator("#scope-timegap")).to_have_value("2")
    await expect(page.locator("#scope-use-trigger")).not_to_be_checked()
