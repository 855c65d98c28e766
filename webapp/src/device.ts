// The device card: the instrument's state, the queue, a hold, and your outputs (your own
// instrument, docs/reference/contexts.md) with "Reset to bench". On the home page and beside
// the scope.
import { api } from "./api";
import { h } from "./shell";
import { holdText, outputLabel, outputLines, queueText, resetMessage } from "./outputs";

/** The device in one plain line: "Simulated PSLab — ready — no one waiting". */
export function deviceSummary(status: any): string {
  const name = status?.backend === "pslab" ? "PSLab" : "Simulated PSLab";
  const STATES: Record<string, string> = {
    connecting: "starting up",
    connected: "ready",
    faulted: "not working",
    closed: "switched off",
  };
  const state = status?.connected ? "ready" : (STATES[status?.state] ?? "not reachable");
  const q = status?.queue ?? {};
  const waiting = typeof q.length === "number" ? q.length : 0;
  const place = typeof q.your_position === "number" && q.your_position > 0 ? q.your_position : null;
  let queue = waiting === 0 ? "no one waiting" : waiting === 1 ? "1 call waiting" : `${waiting} calls waiting`;
  if (place) queue += `, yours is number ${place}`;
  else if (q.running === true && waiting === 0) queue = "busy with a call, no one waiting";
  return `${name} — ${state} — ${queue}`;
}

/** Your experiment and device in one line, from GET /v1/experiments and GET /v1/devices:
 * "Experiment: RC filter — your device: rc-1 — 2 devices, 1 free". Null when they say
 * nothing (lists missing or empty). */
export function experimentText(experiments: any, devices: any): string | null {
  const list: any[] = Array.isArray(experiments?.experiments) ? experiments.experiments : [];
  const mine = list.find((e) => e?.yours === true) ?? (list.length === 1 ? list[0] : null);
  const device = (Array.isArray(devices?.devices) ? devices.devices : []).find((d: any) => d?.yours === true);
  if (!mine && !device) return null;
  const parts: string[] = [];
  if (mine) parts.push(`Experiment: ${mine.name}`);
  parts.push(device ? `your device: ${device.name}` : "your device: chosen at your next call");
  if (mine && Array.isArray(mine.devices)) {
    const n = mine.devices.length;
    parts.push(`${n} ${n === 1 ? "device" : "devices"}, ${mine.free ?? 0} free`);
  }
  return parts.join(" — ");
}

export interface DeviceCard {
  root: HTMLElement;
  /** Fetch GET /v1/device again and redraw. */
  refresh(): Promise<void>;
}

/** `facts`: show backend, connection, firmware and queue (the home page); else only the
 * hold and your outputs (beside the scope). */
export function deviceCard(facts: boolean): DeviceCard {
  const title = facts ? "Device" : "Your outputs";
  const root = h("section", { class: "card device", "aria-labelledby": "device-title" },
    h("h2", { id: "device-title" }, title));
  const summary = h("p", { class: "device-summary", "data-testid": "device-summary" });
  const why = h("p", { class: "muted" }); // why the simulation serves, or what is wrong
  const factList = h("dl", { class: "facts" });
  const details = h("details", {}, h("summary", {}, "Technical details"), factList);
  const where = h("p", { class: "muted", "data-testid": "experiment" });
  where.hidden = true;
  const choice = h("select", { "aria-label": "Experiment", "data-testid": "experiment-choice" }) as HTMLSelectElement;
  const chooser = h("p", {}, h("label", {}, "Experiment ", choice)); // no .row: it would show when hidden
  chooser.hidden = true;
  const hold = h("p", { class: "hold", role: "status", "data-testid": "hold" });
  hold.hidden = true;
  const outputs = h("section", { class: "outputs", "aria-labelledby": "outputs-title" });
  const list = h("ul", { class: "output-list", "data-testid": "your-outputs" });
  const note = h("p", { class: "muted" });
  const reset = h("button", { type: "button", class: "secondary" }, "Reset to bench");
  const said = h("p", { class: "muted", role: "status", "data-testid": "reset-status" });
  if (facts) {
    outputs.append(h("h3", { id: "outputs-title" }, "Your outputs"));
    root.append(summary, why, where, chooser, details);
  } else {
    outputs.removeAttribute("aria-labelledby"); // the card is the region
  }
  outputs.append(
    h("p", { class: "muted" }, "The bench's outputs with the ones you set. Nobody else gets yours."),
    list, note, h("div", { class: "row wrap" }, reset), said,
  );
  root.append(hold, outputs);

  let bench: Record<string, unknown> = {};
  let differs: string[] = [];

  function showContext(context: any): void {
    differs = Array.isArray(context?.differs_from_bench) ? context.differs_from_bench : [];
    list.replaceChildren(
      ...outputLines(context?.outputs, differs, bench).map((line) =>
        h("li", { "data-testid": `output-${line.name}`, class: line.changed ? "changed" : "" },
          h("span", { class: "output-name" }, outputLabel(line.name)),
          h("span", { class: "output-value" }, line.text),
          line.changed ? h("span", { class: "badge changed" }, "changed by you") : "",
          line.bench !== null ? h("span", { class: "muted" }, `bench: ${line.bench}`) : "",
        )),
    );
    const expires = context?.expires_in;
    note.textContent = differs.length === 0
      ? "You use the bench's outputs."
      : typeof expires === "number"
        ? `Yours are kept for ${Math.max(1, Math.round(expires / 60))} min after your last call.`
        : "";
  }

  function show(status: any): void {
    if (facts) {
      summary.textContent = deviceSummary(status);
      why.textContent = status.fallback
        ? `The real PSLab is not connected (${status.fallback}): a simulated one answers meanwhile.`
        : status.connected ? "" : (status.fault ?? "");
      why.hidden = !why.textContent;
      factList.replaceChildren(
        h("dt", {}, "Backend"), h("dd", { "data-testid": "backend" }, status.backend + (status.fallback ? ` (${status.fallback})` : "")),
        h("dt", {}, "Connected"), h("dd", {}, status.connected ? "yes" : `no — ${status.fault ?? status.state}`),
        h("dt", {}, "Firmware"), h("dd", {}, status.firmware ?? "—"),
        h("dt", {}, "Queue"), h("dd", { "data-testid": "queue" }, queueText(status.queue)),
      );
    }
    const held = holdText(status.hold);
    hold.hidden = held === null;
    hold.textContent = held ?? "";
    if (status.bench && typeof status.bench === "object") bench = status.bench;
    showContext(status.context);
  }

  function showExperiments(experiments: any, devices: any): void {
    const text = experimentText(experiments, devices);
    where.hidden = text === null;
    where.textContent = text ?? "";
    const list: any[] = Array.isArray(experiments?.experiments) ? experiments.experiments : [];
    chooser.hidden = list.length < 2; // a choice only when there is one to make
    choice.replaceChildren(
      ...list.map((e) => {
        const option = h("option", { value: String(e.name) }, String(e.name)) as HTMLOptionElement;
        option.selected = e.yours === true;
        if (e.description) option.title = String(e.description);
        return option;
      }),
    );
  }

  async function refresh(): Promise<void> {
    const [status, experiments, devices] = await Promise.all([
      api("/v1/device"),
      facts ? api("/v1/experiments").catch(() => null) : null,
      facts ? api("/v1/devices").catch(() => null) : null,
    ]);
    show(status);
    if (facts) showExperiments(experiments, devices);
  }

  choice.addEventListener("change", async () => {
    said.className = "muted";
    said.textContent = "";
    try {
      await api("/v1/experiment", "PUT", { experiment: choice.value });
      await refresh();
    } catch (e) {
      said.className = "error";
      said.textContent = (e as Error).message;
    }
  });

  reset.addEventListener("click", async () => {
    const before = differs;
    reset.disabled = true;
    said.className = "muted";
    said.textContent = "Resetting…";
    try {
      showContext(await api("/v1/device/reset", "POST"));
      said.textContent = resetMessage(before);
    } catch (e) {
      said.className = "error";
      said.textContent = (e as Error).message;
    } finally {
      reset.disabled = false;
    }
  });

  return { root, refresh };
}
