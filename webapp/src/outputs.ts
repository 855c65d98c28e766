// Your outputs in plain language (docs/reference/contexts.md): pure formatting of the
// `context`, `bench`, `queue` and `hold` fields of GET /v1/device. No DOM here.

export interface OutputLine {
  name: string;
  /** e.g. "sine 2.00 kHz", "1.50 V", "PWM 1.00 kHz, 25 %". */
  text: string;
  /** The user set it: it differs from the bench. */
  changed: boolean;
  /** The bench's value in the same words, when it differs. */
  bench: string | null;
}

/** The outputs in the order of the instrument's panel; unknown ones follow, by name. */
export const ORDER = [
  "SI1", "SI2", "PV1", "PV2", "PV3", "PCS", "SQ1", "SQ2", "SQ3", "SQ4", "CH1_RANGE", "CH2_RANGE",
];

const LABELS: Record<string, string> = { CH1_RANGE: "CH1 range", CH2_RANGE: "CH2 range" };

/** The label shown for an output ("CH1 range" for CH1_RANGE). */
export function outputLabel(name: string): string {
  return LABELS[name] ?? name;
}

function isNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** Three significant digits with a unit prefix: 2000 → "2.00 kHz", 500 → "500 Hz". */
export function formatFrequency(hz: number): string {
  const abs = Math.abs(hz);
  const [scale, unit] = abs >= 1e6 ? [1e6, "MHz"] : abs >= 1e3 ? [1e3, "kHz"] : [1, "Hz"];
  const v = hz / scale;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  // 999.6 Hz rounds to "1000 Hz": say "1.00 kHz".
  if (scale < 1e6 && Number(v.toFixed(digits)) >= 1000) return formatFrequency(Math.sign(hz) * 1000 * scale);
  return `${v.toFixed(digits)} ${unit}`;
}

function percent(fraction: number): string {
  const p = fraction * 100;
  return `${Number.isInteger(Math.round(p * 10) / 10) ? Math.round(p) : p.toFixed(1)} %`;
}

const SHAPES: Record<string, string> = { sine: "sine", tria: "triangle" };

/** One output's value in plain language; anything unexpected is shown as its JSON. */
export function describeOutput(name: string, value: unknown): string {
  const v = value as Record<string, unknown> | number | null;
  if (/^SI\d$/.test(name) && v && typeof v === "object") {
    if (v.shape === "off") return "off";
    if (typeof v.shape === "string" && isNumber(v.frequency)) {
      let text = `${SHAPES[v.shape] ?? v.shape} ${formatFrequency(v.frequency)}`;
      if (isNumber(v.phase)) text += `, ${Number(v.phase.toFixed(1))}° ahead of SI1`;
      return text;
    }
  }
  if (/^PV\d$/.test(name) && isNumber(v)) return `${v.toFixed(2)} V`;
  if (name === "PCS" && isNumber(v)) return `${(v * 1000).toFixed(2)} mA`;
  if (/^SQ\d$/.test(name) && v && typeof v === "object") {
    if (v.mode === "low") return "low (0 V)";
    if (v.mode === "high") return "high (5 V)";
    if (v.mode === "pwm" && isNumber(v.frequency) && isNumber(v.duty)) {
      let text = `PWM ${formatFrequency(v.frequency)}, ${percent(v.duty)}`;
      if (isNumber(v.phase) && v.phase !== 0) text += `, phase ${percent(v.phase)}`;
      return text;
    }
    if (v.mode === "clock" && isNumber(v.prescaler)) {
      return `clock ${formatFrequency(128e6 / 2 ** v.prescaler)}`;
    }
  }
  if (/^CH\d_RANGE$/.test(name) && isNumber(v)) return `±${v} V`;
  return JSON.stringify(value) ?? String(value);
}

/** Every output of `outputs`, described, with which ones the user changed from the bench. */
export function outputLines(
  outputs: Record<string, unknown> | null | undefined,
  differs: readonly string[] | null | undefined,
  bench: Record<string, unknown> | null | undefined,
): OutputLine[] {
  if (!outputs || typeof outputs !== "object") return [];
  const changed = new Set(Array.isArray(differs) ? differs : []);
  const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  const names = Object.keys(outputs).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((name) => ({
    name,
    text: describeOutput(name, outputs[name]),
    changed: changed.has(name),
    bench: changed.has(name) && bench && name in bench ? describeOutput(name, bench[name]) : null,
  }));
}

/** What a reset did, from the outputs that differed before it. */
export function resetMessage(before: readonly string[]): string {
  if (before.length === 0) return "Nothing to reset: your outputs already are the bench's.";
  return `Back to the bench: ${before.join(", ")} reset.`;
}

/** The line under a function's result: "Changed: SI1, PV1" (empty when nothing changed). */
export function changedMessage(changed: unknown): string {
  return Array.isArray(changed) && changed.length ? `Changed: ${changed.join(", ")}` : "";
}

/** The queue in words: "empty", "3 waiting, you are 2nd in line", "1 waiting, running". */
export function queueText(queue: unknown): string {
  if (!queue || typeof queue !== "object") return "—";
  const q = queue as { length?: unknown; running?: unknown; your_position?: unknown };
  const length = isNumber(q.length) ? q.length : 0;
  const parts = [length === 0 ? "empty" : `${length} waiting`];
  if (isNumber(q.your_position) && q.your_position > 0) parts.push(`you are number ${q.your_position}`);
  if (q.running === true) parts.push("a call is running");
  return parts.join(", ");
}

/** "The device is held by another user for 12 s", or null: no hold, one's own, or malformed. */
export function holdText(hold: unknown): string | null {
  if (!hold || typeof hold !== "object") return null;
  const h = hold as { held?: unknown; by?: unknown; seconds_left?: unknown };
  // GET /v1/device: `hold` is null, or {by: "you" | "another user", seconds_left, waiting}.
  if (h.held === false || h.by !== "another user") return null;
  const seconds = isNumber(h.seconds_left) ? Math.max(0, Math.ceil(h.seconds_left)) : null;
  return seconds === null ? "The device is held by another user" : `The device is held by another user for ${seconds} s`;
}
