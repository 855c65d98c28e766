// The number formatter: significant digits, SI prefixes, units, and the edges.
import cases from "../../remotelab/widgets/stacking_cases.json";
import { baseUnit, displayNumber, formatQuantity } from "./units";

describe("formatQuantity", () => {
  it.each([
    [1.004e-9, "F", "1.00 nF"],
    [-0.00498, "V", "-4.98 mV"],
    [0.0049805, "V", "4.98 mV"],
    [3.3, "V", "3.30 V"],
    [10000, "Ω", "10.0 kΩ"],
    [2000, "Hz", "2.00 kHz"],
    [123456789, "Hz", "123 MHz"],
    [0.000001, "A", "1.00 µA"],
    [4.7e-12, "F", "4.70 pF"],
  ])("%s %s → %s", (value, unit, text) => {
    expect(formatQuantity(value, unit)).toBe(text);
  });

  it("writes zero with the digits asked for, and no sign for -0", () => {
    expect(formatQuantity(0, "V")).toBe("0.00 V");
    expect(formatQuantity(-0, "V")).toBe("0.00 V");
    expect(formatQuantity(0, "")).toBe("0.00");
    expect(formatQuantity(0, "V", 4)).toBe("0.000 V");
  });

  it("keeps the sign of negatives, prefix and all", () => {
    expect(formatQuantity(-1.5e-6, "s")).toBe("-1.50 µs");
    expect(formatQuantity(-12.345, "V")).toBe("-12.3 V");
    expect(formatQuantity(-999.5, "")).toBe("-1.00 k");
  });

  it("says NaN and ∞ instead of throwing", () => {
    expect(formatQuantity(NaN, "V")).toBe("NaN");
    expect(formatQuantity(Infinity, "V")).toBe("∞ V");
    expect(formatQuantity(-Infinity, "Hz")).toBe("-∞ Hz");
    expect(formatQuantity(Infinity)).toBe("∞");
  });

  it("moves to the next prefix when rounding reaches 1000", () => {
    expect(formatQuantity(999.5, "")).toBe("1.00 k");
    expect(formatQuantity(999.4, "")).toBe("999");
    expect(formatQuantity(999.51e-9, "F")).toBe("1.00 µF");
    expect(formatQuantity(0.9995, "V")).toBe("1.00 V");
    expect(formatQuantity(9.995, "V")).toBe("9.99 V"); // 9.995 is 9.99499... in binary
    expect(formatQuantity(99.95, "V")).toBe("100 V"); // 99.95 is 99.9500000000000028...
  });

  it("uses an exponent beyond the prefixes, very small or very large", () => {
    expect(formatQuantity(1e-18, "F")).toBe("1.00e-18 F");
    expect(formatQuantity(2.5e15, "Hz")).toBe("2.50e15 Hz");
    expect(formatQuantity(1e300, "")).toBe("1.00e300");
    expect(formatQuantity(5e-324, "V")).toBe("4.94e-324 V");
    expect(formatQuantity(1e-15, "F")).toBe("1.00 fF");
    expect(formatQuantity(999e12, "Hz")).toBe("999 THz");
  });

  it("reads a unit that already has a prefix as its base unit", () => {
    expect(baseUnit("µs")).toEqual(["s", -6]);
    expect(baseUnit("kHz")).toEqual(["Hz", 3]);
    expect(baseUnit("V")).toEqual(["V", 0]);
    expect(baseUnit("m")).toEqual(["m", 0]);
    expect(formatQuantity(1500, "µs")).toBe("1.50 ms");
    expect(formatQuantity(0.5, "µs")).toBe("500 ns");
    expect(formatQuantity(2, "kHz")).toBe("2.00 kHz");
  });

  it("gives units without prefixes (°C, %, degrees) the plain number", () => {
    expect(formatQuantity(30.04, "°C")).toBe("30.0 °C");
    expect(formatQuantity(0.0012, "°C")).toBe("0.00120 °C");
    expect(formatQuantity(25, "%")).toBe("25.0 %");
    expect(formatQuantity(1234, "degrees")).toBe("1230 degrees");
    expect(formatQuantity(1e-9, "%")).toBe("1.00e-9 %");
  });

  it("takes other numbers of significant digits", () => {
    expect(formatQuantity(1.004e-9, "F", 4)).toBe("1.004 nF");
    expect(formatQuantity(4.98e-3, "V", 1)).toBe("5 mV");
  });
});

describe("displayNumber", () => {
  it("formats numbers with their unit, leaves text and whole counts alone", () => {
    expect(displayNumber(1.004e-9, "F")).toBe("1.00 nF");
    expect(displayNumber(12345, null)).toBe("12345");
    expect(displayNumber(12345, "Hz")).toBe("12.3 kHz");
    expect(displayNumber(0.5, null)).toBe("0.500");
    expect(displayNumber(999.5, "")).toBe("1000");
    expect(displayNumber(-0.00001234, null)).toBe("-0.0000123");
    expect(displayNumber(1.5e-9, null)).toBe("1.50e-9");
    expect(displayNumber(NaN, null)).toBe("NaN");
    expect(displayNumber("device not found")).toBe("device not found");
    expect(displayNumber(null)).toBe("null");
    expect(displayNumber(true)).toBe("true");
    expect(displayNumber([1, 2])).toBe("[1,2]");
  });
});

describe("display_number, with the Python reference's table", () => {
  for (const c of (cases as any).format_number_cases) {
    it(`${JSON.stringify(c.value)} ${c.unit ?? ""} shows ${c.expected}`, () => {
      expect(displayNumber(c.value, c.unit ?? null)).toBe(c.expected);
    });
  }
});
