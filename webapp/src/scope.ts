// The live oscilloscope and multimeter over /v1/stream (docs/reference/streaming.md).
// A setting changed while it runs takes effect at once: the scope subscribes again with
// the new configuration on the same connection. Settings are kept per user.
import { decodeFrame } from "./frames";
import type { Frame } from "./frames";
import { Plot } from "./plot";
import {
  CHANNEL_COUNTS, RANGES, TRIGGER_CHANNELS, loadSettings, saveSettings, scopeConfig, traceNames,
} from "./scopesettings";
import type { ScopeSettings } from "./scopesettings";
import { session } from "./shell";
import { formatQuantity } from "./units";

function field(label: string, input: HTMLElement): HTMLElement {
  const wrap = document.createElement("label");
  wrap.append(label, input);
  return wrap;
}

function select(id: string, options: string[], value: string): HTMLSelectElement {
  const s = document.createElement("select");
  s.id = id;
  for (const o of options) s.append(new Option(o, o, o === value, o === value));
  return s;
}

function numberInput(id: string, value: string, step = "any"): HTMLInputElement {
  const input = document.createElement("input");
  Object.assign(input, { id, type: "number", value, step });
  return input;
}

/** How long typing may pause before a changed number is applied. */
const APPLY_AFTER_MS = 400;

export function openScope(): HTMLElement {
  const root = document.createElement("section");
  root.className = "card scope";
  root.setAttribute("aria-label", "Oscilloscope");
  const user = session.me?.id ?? "anonymous";
  const saved = loadSettings(localStorage, user);
  const channels = select("scope-channels", CHANNEL_COUNTS, saved.channels);
  const samples = numberInput("scope-samples", saved.samples, "1");
  const timegap = numberInput("scope-timegap", saved.timegap);
  const trigger = numberInput("scope-trigger", saved.trigger);
  const triggerChannel = select("scope-trigger-channel", TRIGGER_CHANNELS, saved.triggerChannel);
  const range = select("scope-range", RANGES, saved.range);
  const useTrigger = document.createElement("input");
  useTrigger.type = "checkbox";
  useTrigger.id = "scope-use-trigger";
  useTrigger.checked = saved.useTrigger;
  const toggle = button("Run");
  const csv = button("CSV");
  const png = button("PNG");
  const problem = document.createElement("p");
  problem.className = "scope-error";
  problem.setAttribute("role", "alert");
  problem.dataset.testid = "scope-error";
  problem.hidden = true;
  const waiting = document.createElement("p");
  waiting.className = "scope-waiting";
  waiting.setAttribute("role", "status");
  waiting.dataset.testid = "scope-waiting";
  waiting.hidden = true;
  const stats = document.createElement("p");
  stats.className = "muted";
  stats.dataset.testid = "scope-stats";
  const meter = document.createElement("p");
  meter.className = "number";
  meter.dataset.testid = "meter";
  const host = document.createElement("div");
  const heading = document.createElement("h2");
  heading.textContent = "Oscilloscope";
  const controls = document.createElement("div");
  controls.className = "row wrap";
  controls.append(
    field("Channels", channels), field("Samples", samples), field("Timegap (µs)", timegap),
    field("Range CH1 (±V)", range), field("Trigger (V)", trigger),
    field("Trigger on", triggerChannel), field("Trigger", useTrigger), toggle, csv, png,
  );
  root.append(heading, controls, problem, waiting, host, stats, document.createTextNode("CH3 (multimeter): "), meter);

  let socket: WebSocket | null = null;
  let plot: Plot | null = null;
  let last: Frame | null = null;
  let frames = 0;
  let fps = 0;
  let windowStart = performance.now();
  let generation = 0;
  let current = ""; // the id of the scope's live subscription ("" when none)
  let pending: ReturnType<typeof setTimeout> | undefined;

  function settings(): ScopeSettings {
    return {
      channels: channels.value, samples: samples.value, timegap: timegap.value, range: range.value,
      useTrigger: useTrigger.checked, trigger: trigger.value, triggerChannel: triggerChannel.value,
    };
  }

  function draw(frame: Frame): void {
    const xs = Array.from(frame.channels[0], (_, i) => frame.x0 + i * frame.dx);
    const series = frame.channels.map((c) => xs.map((x, i) => [x, c[i]] as [number, number]));
    const labels = { x_label: "Time (µs)", y_label: "Voltage (V)", labels: traceNames(frame.channels.length) };
    if (!plot) plot = new Plot(host, series, labels, Math.min(720, host.clientWidth || 720), 320);
    else plot.update(series, labels);
    root.dataset.channels = String(frame.channels.length);
    root.dataset.samples = String(frame.channels[0].length);
    root.dataset.dx = String(frame.dx);
  }

  /** Forget the trace on screen: it no longer shows what the settings ask for. */
  function clearTrace(): void {
    last = null;
    plot?.chart.destroy();
    plot = null;
    host.replaceChildren();
    for (const key of ["channels", "samples", "dx", "fps"]) delete root.dataset[key];
  }

  function showProblem(message: string): void {
    problem.textContent = message;
    problem.hidden = false;
  }

  /** The settings are wrong: say so, drop the stale trace, stop. */
  function fail(message: string): void {
    showProblem(`Cannot capture: ${message}`);
    waiting.hidden = true;
    stats.textContent = "";
    clearTrace();
    const ws = socket;
    socket = null; // its close event no longer concerns the scope
    ws?.close();
    toggle.textContent = "Run";
    current = "";
  }

  /** Subscribe with the settings as they are now, replacing the scope's subscription. */
  function subscribe(): void {
    const made = scopeConfig(settings());
    if ("error" in made) return fail(made.error);
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (current) socket.send(JSON.stringify({ type: "unsubscribe", id: current }));
    generation += 1;
    current = `scope-${generation}`;
    problem.hidden = true;
    waiting.hidden = true;
    socket.send(JSON.stringify({ type: "subscribe", id: current, instrument: "oscilloscope", config: made.config }));
  }

  function start(): void {
    const made = scopeConfig(settings());
    if ("error" in made) return fail(made.error);
    problem.hidden = true;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/v1/stream`);
    socket = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      subscribe();
      ws.send(JSON.stringify({ type: "subscribe", id: "meter", instrument: "multimeter", config: { channel: "CH3", rate: 5 } }));
    };
    ws.onmessage = (event) => {
      if (typeof event.data === "string") return onText(JSON.parse(event.data));
      const frame = decodeFrame(event.data as ArrayBuffer);
      if (frame.id === "meter") {
        meter.textContent = formatQuantity(frame.channels[0][0], "V");
        return;
      }
      if (frame.id !== current) return; // in flight before a setting changed
      last = frame;
      frames += 1;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        fps = (frames * 1000) / (now - windowStart);
        root.dataset.fps = fps.toFixed(1);
        frames = 0;
        windowStart = now;
      }
      requestAnimationFrame(() => last === frame && draw(frame));
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      toggle.textContent = "Run";
      socket = null;
      current = "";
      waiting.hidden = true;
    };
    toggle.textContent = "Stop";
  }

  function onText(message: any): void {
    if (message.type === "error") {
      if (message.id === "meter") meter.textContent = String(message.message);
      else if (message.id && message.id !== current) return; // an old subscription's
      // The device failing is not the settings' fault: the stream resumes with it.
      else if (message.code === "device_unavailable") showProblem(String(message.message));
      else fail(String(message.message));
    } else if (message.type === "status" && message.id === current) {
      if (message.code === "waiting_for_trigger") {
        waiting.textContent = `Waiting for trigger — ${message.message.replace(/^waiting for trigger: /, "")}`;
        waiting.hidden = false;
      } else if (message.code === "triggered") {
        waiting.hidden = true;
      } else if (message.code === "resumed") {
        problem.hidden = true;
      } else if (message.code === "held") {
        showProblem(String(message.message));
      }
    } else if (message.type === "status" && message.subscriptions?.[current]) {
      const s = message.subscriptions[current];
      stats.textContent = `${fps.toFixed(1)} frames/s, ${s.dropped} dropped`;
    }
  }

  function changed(): void {
    clearTimeout(pending);
    saveSettings(localStorage, user, settings());
    if (socket) return subscribe();
    // Stopped by a refused setting: the message is about values that have changed since.
    // Say at once what is still wrong here, or nothing until the next Run asks the server.
    const made = scopeConfig(settings());
    if ("error" in made) showProblem(`Cannot capture: ${made.error}`);
    else problem.hidden = true;
  }
  for (const control of [channels, range, triggerChannel, useTrigger]) control.addEventListener("change", changed);
  for (const input of [samples, timegap, trigger]) {
    input.addEventListener("input", () => {
      clearTimeout(pending);
      pending = setTimeout(changed, APPLY_AFTER_MS);
    });
    input.addEventListener("change", changed);
  }

  toggle.addEventListener("click", () => (socket ? socket.close() : start()));
  csv.addEventListener("click", () => {
    if (!last) return;
    const names = traceNames(last.channels.length);
    const rows = ["time_us," + names.map((n) => `${n}_V`).join(",")];
    for (let i = 0; i < last.channels[0].length; i++) {
      rows.push([last.x0 + i * last.dx, ...last.channels.map((c) => c[i])].join(","));
    }
    download(new Blob([rows.join("\n")], { type: "text/csv" }), "capture.csv");
  });
  png.addEventListener("click", () => {
    const canvas = host.querySelector("canvas");
    canvas?.toBlob((blob) => blob && download(blob, "capture.png"));
  });
  window.addEventListener("hashchange", () => {
    clearTimeout(pending);
    socket?.close();
  }, { once: true });
  return root;
}

function button(text: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  return b;
}

function download(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}
