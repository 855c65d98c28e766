// The oscilloscope's settings: defaults, checks, the subscription config they make, and
// keeping them per user in the browser (localStorage, keyed by account id). No DOM here.

export interface ScopeSettings {
  channels: string; // "1", "2" or "4"
  samples: string;
  timegap: string; // µs
  range: string; // ±V for CH1
  useTrigger: boolean;
  trigger: string; // V
  triggerChannel: string;
}

export const DEFAULTS: ScopeSettings = {
  channels: "1", samples: "1000", timegap: "2", range: "16",
  useTrigger: false, trigger: "0", triggerChannel: "CH1",
};

export const CHANNEL_COUNTS = ["1", "2", "4"];
export const RANGES = ["16", "8", "4", "3", "2", "1.5", "1", "0.5"];
export const TRIGGER_CHANNELS = ["CH1", "CH2", "CH3", "MIC"];

/** The inputs a capture of `count` channels samples, in order: its legend. */
export function traceNames(count: number): string[] {
  return ["CH1", "CH2", "CH3", "MIC"].slice(0, count);
}

function storageKey(userId: number | string): string {
  return `remotelab:scope:${userId}`;
}

/** The user's saved settings, each field checked, defaults for anything missing or odd. */
export function loadSettings(storage: Storage, userId: number | string): ScopeSettings {
  let saved: unknown = null;
  try {
    saved = JSON.parse(storage.getItem(storageKey(userId)) ?? "null");
  } catch {
    saved = null;
  }
  const out: ScopeSettings = { ...DEFAULTS };
  if (!saved || typeof saved !== "object") return out;
  const s = saved as Record<string, unknown>;
  for (const key of ["samples", "timegap", "trigger"] as const) {
    if (typeof s[key] === "string" && (s[key] as string).length <= 32) out[key] = s[key] as string;
  }
  if (CHANNEL_COUNTS.includes(s.channels as string)) out.channels = s.channels as string;
  if (RANGES.includes(s.range as string)) out.range = s.range as string;
  if (TRIGGER_CHANNELS.includes(s.triggerChannel as string)) out.triggerChannel = s.triggerChannel as string;
  if (typeof s.useTrigger === "boolean") out.useTrigger = s.useTrigger;
  return out;
}

export function saveSettings(storage: Storage, userId: number | string, settings: ScopeSettings): void {
  try {
    storage.setItem(storageKey(userId), JSON.stringify(settings));
  } catch {
    // A full or disabled storage only costs the settings next time.
  }
}

/** The `config` of an oscilloscope subscription (docs/reference/streaming.md), or the
 * problem with the settings in words. The server checks ranges; this catches what cannot
 * be sent at all (an empty or non-numeric field). */
export function scopeConfig(s: ScopeSettings): { config: Record<string, unknown> } | { error: string } {
  const number = (text: string, what: string): number | string => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) return `${what} must be a number, not “${text}”`;
    return value;
  };
  const samples = number(s.samples, "Samples");
  if (typeof samples === "string") return { error: samples };
  if (!Number.isInteger(samples)) return { error: `Samples must be a whole number, not ${s.samples}` };
  const timegap = number(s.timegap, "Timegap");
  if (typeof timegap === "string") return { error: timegap };
  const config: Record<string, unknown> = { channels: Number(s.channels), samples, timegap };
  if (s.useTrigger) {
    const trigger = number(s.trigger, "Trigger level");
    if (typeof trigger === "string") return { error: trigger };
    config.trigger = trigger;
    config.trigger_channel = s.triggerChannel;
  }
  if (s.range !== "16") config.range = Number(s.range);
  return { config };
}
