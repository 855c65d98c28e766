// The device card over a stubbed fetch: your outputs, Reset to bench, a hold.
import { deviceCard, deviceSummary, experimentText } from "./device";

const BENCH = {
  SI1: { shape: "sine", frequency: 1000, phase: null }, PV1: 0,
};

function status(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backend: "emulator", fallback: null, connected: true, state: "connected", fault: null,
    firmware: "3.0.0", queue: { length: 0, running: false, max: 64, your_position: null },
    context: {
      outputs: { ...BENCH, SI1: { shape: "sine", frequency: 2000, phase: null } },
      differs_from_bench: ["SI1"], fingerprint: "x", expires_in: 3600,
    },
    bench: BENCH,
    ...extra,
  };
}

function stubFetch(answers: Record<string, unknown>): string[] {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (path: string, init: RequestInit) => {
    calls.push(`${init.method} ${path}`);
    return new Response(JSON.stringify(answers[`${init.method} ${path}`]), { status: 200 });
  });
  return calls;
}

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

afterEach(() => vi.unstubAllGlobals());

describe("deviceSummary", () => {
  it("says what the device is, whether it works and who waits, in plain words", () => {
    expect(deviceSummary(status())).toBe("Simulated PSLab — ready — no one waiting");
    expect(deviceSummary(status({ backend: "pslab", queue: { length: 3, running: true, your_position: 2 } }))).toBe(
      "PSLab — ready — 3 calls waiting, yours is number 2",
    );
    expect(deviceSummary(status({ connected: false, state: "faulted", queue: { length: 1, running: false } }))).toBe(
      "Simulated PSLab — not working — 1 call waiting",
    );
    expect(deviceSummary(status({ queue: { length: 0, running: true } }))).toBe(
      "Simulated PSLab — ready — busy with a call, no one waiting",
    );
    expect(deviceSummary({})).toBe("Simulated PSLab — not reachable — no one waiting");
  });
});

describe("deviceCard", () => {
  it("lists your outputs, marks the changed ones, and resets to the bench", async () => {
    const calls = stubFetch({
      "GET /v1/device": status(),
      "POST /v1/device/reset": { outputs: BENCH, differs_from_bench: [], fingerprint: "y", expires_in: null },
    });
    const card = deviceCard(true);
    await card.refresh();
    const si1 = card.root.querySelector('[data-testid="output-SI1"]')!;
    expect(si1.textContent).toBe("SI1sine 2.00 kHzchanged by youbench: sine 1.00 kHz");
    expect(card.root.querySelector('[data-testid="queue"]')!.textContent).toBe("empty");
    expect(card.root.querySelector('[data-testid="device-summary"]')!.textContent).toBe(
      "Simulated PSLab — ready — no one waiting",
    );
    expect((card.root.querySelector('[data-testid="hold"]') as HTMLElement).hidden).toBe(true);

    const reset = Array.from(card.root.querySelectorAll("button")).find((b) => b.textContent === "Reset to bench")!;
    reset.click();
    await settle();
    await settle();
    expect(calls).toEqual([
      "GET /v1/device", "GET /v1/experiments", "GET /v1/devices", "POST /v1/device/reset",
    ]);
    expect(card.root.querySelector('[data-testid="reset-status"]')!.textContent).toBe("Back to the bench: SI1 reset.");
    expect(card.root.querySelector('[data-testid="output-SI1"]')!.textContent).toBe("SI1sine 1.00 kHz");
  });

  it("shows a hold by another user, and nothing for a malformed one", async () => {
    stubFetch({ "GET /v1/device": status({ hold: { by: "another user", seconds_left: 4.5, waiting: 1 } }) });
    const card = deviceCard(false);
    await card.refresh();
    const hold = card.root.querySelector('[data-testid="hold"]') as HTMLElement;
    expect(hold.hidden).toBe(false);
    expect(hold.textContent).toBe("The device is held by another user for 5 s");
    expect(card.root.querySelector('[data-testid="queue"]')).toBeNull(); // beside the scope

    stubFetch({ "GET /v1/device": status({ hold: "yes", context: null }) });
    await card.refresh();
    expect(hold.hidden).toBe(true);
    expect(card.root.querySelectorAll("li")).toHaveLength(0);
  });
});

describe("experiments", () => {
  const EXPERIMENTS = {
    experiments: [
      { name: "RC filter", description: "an RC low-pass", devices: ["rc-1", "rc-2"], free: 1, busy: 1, queue: 2, yours: true },
      { name: "divider", description: "", devices: ["div-1"], free: 1, busy: 0, queue: 0, yours: false },
    ],
  };
  const DEVICES = { devices: [{ name: "rc-1", yours: true }, { name: "div-1", yours: false }] };

  it("says your experiment and device in one line", () => {
    expect(experimentText(EXPERIMENTS, DEVICES)).toBe("Experiment: RC filter — your device: rc-1 — 2 devices, 1 free");
    expect(experimentText(EXPERIMENTS, { devices: [] })).toBe(
      "Experiment: RC filter — your device: chosen at your next call — 2 devices, 1 free",
    );
    expect(experimentText(null, null)).toBeNull();
    expect(experimentText({ experiments: "x" }, {})).toBeNull();
  });

  it("lets you choose another experiment on the home card", async () => {
    const calls = stubFetch({
      "GET /v1/device": status(),
      "GET /v1/experiments": EXPERIMENTS,
      "GET /v1/devices": DEVICES,
      "PUT /v1/experiment": EXPERIMENTS.experiments[1],
    });
    const card = deviceCard(true);
    await card.refresh();
    expect(card.root.querySelector('[data-testid="experiment"]')!.textContent).toBe(
      "Experiment: RC filter — your device: rc-1 — 2 devices, 1 free",
    );
    const choice = card.root.querySelector('[data-testid="experiment-choice"]') as HTMLSelectElement;
    expect((choice.parentElement!.parentElement as HTMLElement).hidden).toBe(false);
    expect(Array.from(choice.options).map((o) => o.value)).toEqual(["RC filter", "divider"]);
    expect(choice.value).toBe("RC filter");
    choice.value = "divider";
    choice.dispatchEvent(new Event("change"));
    for (let i = 0; i < 4; i++) await settle();
    expect(calls.slice(3)).toEqual([
      "PUT /v1/experiment", "GET /v1/device", "GET /v1/experiments", "GET /v1/devices",
    ]);
  });

  it("shows no choice beside the scope, nor with one experiment", async () => {
    const calls = stubFetch({ "GET /v1/device": status() });
    const card = deviceCard(false);
    await card.refresh();
    expect(calls).toEqual(["GET /v1/device"]);
    expect(card.root.querySelector('[data-testid="experiment"]')).toBeNull();

    stubFetch({
      "GET /v1/device": status(),
      "GET /v1/experiments": { experiments: [EXPERIMENTS.experiments[1]] },
      "GET /v1/devices": { devices: [{ name: "div-1", yours: true }] },
    });
    const home = deviceCard(true);
    await home.refresh();
    expect(home.root.querySelector('[data-testid="experiment"]')!.textContent).toBe(
      "Experiment: divider — your device: div-1 — 1 device, 1 free",
    );
    const choice = home.root.querySelector('[data-testid="experiment-choice"]') as HTMLSelectElement;
    expect((choice.parentElement!.parentElement as HTMLElement).hidden).toBe(true);
  });
});
