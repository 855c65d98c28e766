// Numbers for people: significant digits, an SI prefix and the unit (1.00 nF, 4.98 mV).
// Pure, no DOM. The same rules as remotelab/widgets/display.py, checked against the same
// table (remotelab/widgets/stacking_cases.json, "format_number_cases").

/** Prefixes from femto to tera, by power of ten. */
const PREFIXES: Record<number, string> = {
  [-15]: "f", [-12]: "p", [-9]: "n", [-6]: "µ", [-3]: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T",
};

/** Units an SI prefix may go in front of. Others (°C, %, degrees) keep the plain number. */
const PREFIXABLE = new Set(["", "V", "A", "Hz", "s", "F", "Ω", "W", "H", "S", "C", "J"]);

const PREFIX_POWERS: Record<string, number> = { p: -12, n: -9, µ: -6, u: -6, m: -3, k: 3, M: 6, G: 9 };

/** A unit that already carries a prefix ("µs", "kHz", "mV") as its base and power of ten. */
export function baseUnit(unit: string): [string, number] {
  if (unit.length > 1 && unit[0] in PREFIX_POWERS && PREFIXABLE.has(unit.slice(1)) && unit.slice(1) !== "") {
    return [unit.slice(1), PREFIX_POWERS[unit[0]]];
  }
  return [unit, 0];
}

/** `digits` significant digits of |x| as [digit string, exponent of the first digit];
 * ties round away from zero on the exact binary value (JavaScript's toExponential). */
function significant(x: number, digits: number): [string, number] {
  const [mantissa, exponent] = Math.abs(x).toExponential(digits - 1).split("e");
  return [mantissa.replace(".", ""), Number(exponent)];
}

/** Put a decimal point after `whole` digits of `ds`, padding with zeros if needed. */
function place(ds: string, whole: number): string {
  if (whole <= 0) return `0.${"0".repeat(-whole)}${ds}`;
  if (whole >= ds.length) return ds + "0".repeat(whole - ds.length);
  return `${ds.slice(0, whole)}.${ds.slice(whole)}`;
}

/**
 * `value` in `unit` with `digits` significant digits (3 by default) and an SI prefix:
 * `formatQuantity(1.004e-9, "F")` → "1.00 nF", `(-0.00498, "V")` → "-4.98 mV",
 * `(999.5, "")` → "1.00 k", `(1500, "µs")` → "1.50 ms". Zero is "0.00 V". A unit that takes no
 * prefix (°C, %) gets the plain number ("25.0 °C"). NaN is "NaN"; infinities "∞ V", "-∞ V".
 * Beyond the prefixes (below 1 f, from 1000 T up), the number is written with an exponent.
 */
export function formatQuantity(value: number, unit = "", digits = 3): string {
  return format(value, unit, digits, true);
}

/** `value` with `digits` significant digits and no prefix: 0.5 → "0.500", 999.5 → "1000";
 * below 1e-6 and from 1e9 up with an exponent ("1.00e-9"). */
export function formatPlain(value: number, digits = 3): string {
  return format(value, "", digits, false);
}

function format(value: number, unit: string, digits: number, prefixes: boolean): string {
  const [base, power] = baseUnit(unit);
  const suffix = (prefix: string) => (prefix + base ? ` ${prefix}${base}` : "");
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return `${value < 0 ? "-" : ""}∞${suffix("")}`;
  const x = value * 10 ** power;
  if (x === 0) return place("0".repeat(digits), 1) + suffix("");
  const sign = x < 0 ? "-" : "";
  const [ds, exponent] = significant(x, digits);
  if (!prefixes || !PREFIXABLE.has(base)) {
    if (exponent < -6 || exponent >= 9) return `${sign}${place(ds, 1)}e${exponent}${suffix("")}`;
    return sign + place(ds, exponent + 1) + suffix("");
  }
  const thousands = Math.floor(exponent / 3) * 3;
  if (!(thousands in PREFIXES)) return `${sign}${place(ds, 1)}e${exponent}${suffix("")}`;
  return sign + place(ds, exponent - thousands + 1) + suffix(PREFIXES[thousands]);
}

/**
 * What a number on screen shows (the function box, a `display_number` target, the meter):
 * a number with a unit as {@link formatQuantity}; without one, a whole number (a pulse
 * count) as it is and others as {@link formatPlain} ("500 m" would read as metres); a string (a failed call's error text) as it is; anything else as
 * its JSON text ("null", "true", "[1,2]").
 */
export function displayNumber(value: unknown, unit: string | null = ""): string {
  if (typeof value === "string") return value;
  if (typeof value !== "number") return JSON.stringify(value ?? null);
  if (unit) return formatQuantity(value, unit);
  return Number.isSafeInteger(value) ? String(value) : formatPlain(value);
}
