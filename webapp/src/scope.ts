// The live oscilloscope and multimeter over /v1/stream (docs/reference/streaming.md).
import { decodeFrame } from "./frames";
import type { Frame } from "./frames";
import { Plot } from "./plot";

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

function numberInput(id: string, value: number, step = "any"): HTMLInputElement {
  const input = document.createElement("input");
  Object.assign(input, { id, type: "number", value: String(value), step });
  return input;
}

export function openScope(): HTMLElement {
  const root = document.createElement("section");
  root.className = "card scope";
  root.setAttribute("aria-label", "Oscilloscope");
  const channels = select("scope-channels", ["1", "2", "4"], "1");
  const samples = numberInput("scope-samples", 1000, "1");
  const timegap = numberInput("scope-timegap", 2);
  const trigger = numberInput("scope-trigger", 0);
  const triggerChannel = select("scope-trigger-channel", ["CH1", "CH2", "CH3", "MIC"], "CH1");
  const range = select("scope-range", ["16", "8", "4", "3", "2", "1.5", "1", "0.5"], "16");
  const useTrigger = document.createElement("input");
  useTrigger.type = "checkbox";
  useTrigger.id = "scope-use-trigger";
  const toggle = button("Run");
  const csv = button("CSV");
  const png = button("PNG");
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
  root.append(heading, controls, host, stats, document.createTextNode("CH3 (multimeter): "), meter);

  let socket: WebSocket | null = null;
  let plot: Plot | null = null;
  let last: Frame | null = null;
  let frames = 0;
  let fps = 0;
  let windowStart = performance.now();

  function draw(frame: Frame): void {
    const xs = Array.from(frame.channels[0], (_, i) => frame.x0 + i * frame.dx);
    const series = frame.channels.map((c) => xs.map((x, i) => [x, c[i]] as [number, number]));
    if (!plot) plot = new Plot(host, series, frame.channels.map((_, i) => `CH${i + 1}`), Math.min(720, host.clientWidth || 720), 320);
    else plot.update(series);
  }

  function start(): void {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/v1/stream`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      const config: Record<string, unknown> = {
        channels: Number(channels.value), samples: Number(samples.value), timegap: Number(timegap.value),
      };
      if (useTrigger.checked) {
        config.trigger = Number(trigger.value);
        config.trigger_channel = triggerChannel.value;
      }
      if (range.value !== "16") config.range = Number(range.value);
      socket!.send(JSON.stringify({ type: "subscribe", id: "scope", instrument: "oscilloscope", config }));
      socket!.send(JSON.stringify({ type: "subscribe", id: "meter", instrument: "multimeter", config: { channel: "CH3", rate: 5 } }));
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        const message = JSON.parse(event.data);
        if (message.type === "error") stats.textContent = message.message;
        if (message.type === "status" && message.subscriptions?.scope) {
          const s = message.subscriptions.scope;
          stats.textContent = `${fps.toFixed(1)} frames/s, ${s.dropped} dropped`;
        }
        return;
      }
      const frame = decodeFrame(event.data as ArrayBuffer);
      if (frame.id === "meter") {
        meter.textContent = `${frame.channels[0][0].toFixed(3)} V`;
        return;
      }
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
    socket.onclose = () => {
      toggle.textContent = "Run";
      socket = null;
    };
    toggle.textContent = "Stop";
  }

  toggle.addEventListener("click", () => (socket ? socket.close() : start()));
  csv.addEventListener("click", () => {
    if (!last) return;
    const rows = ["time_us," + last.channels.map((_, i) => `ch${i + 1}_V`).join(",")];
    for (let i = 0; i < last.channels[0].length; i++) {
      rows.push([last.x0 + i * last.dx, ...last.channels.map((c) => c[i])].join(","));
    }
    download(new Blob([rows.join("\n")], { type: "text/csv" }), "capture.csv");
  });
  png.addEventListener("click", () => {
    const canvas = host.querySelector("canvas");
    canvas?.toBlob((blob) => blob && download(blob, "capture.png"));
  });
  window.addEventListener("hashchange", () => socket?.close(), { once: true });
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
