// Your outputs in plain language: the formatting of GET /v1/device's context, queue and hold.
import {
  changedMessage, describeOutput, formatFrequency, holdText, outputLabel, outputLines, queueText,
  resetMessage,
} from "./outputs";

const BENCH = {
  SI1: { shape: "sine", frequency: 1000, phase: null },
  SI2: { shape: "off", frequency: 1000, phase: null },
  PV1: 0, PV2: 0, PV3: 0, PCS: 0,
  SQ1: { mode: "low" }, SQ2: { mode: "low" }, SQ3: { mode: "low" }, SQ4: { mode: "low" },
  CH1_RANGE: 16, CH2_RANGE: 16,
};

describe("formatFrequency", () => {
  it.each([
    [2000, "2.00 kHz"], [1000, "1.00 kHz"], [500, "500 Hz"], [50, "50.0 Hz"], [1.5, "1.50 Hz"],
    [12345, "12.3 kHz"], [250000, "250 kHz"], [128e6, "128 MHz"], [999.7, "1.00 kHz"],
  ])("%s Hz is %s", (hz, text) => {
    expect(formatFrequency(hz)).toBe(text);
  });
});

describe("describeOutput", () => {
  it.each([
    ["SI1", { shape: "sine", frequency: 2000, phase: null }, "sine 2.00 kHz"],
    ["SI2", { shape: "tria", frequency: 500, phase: null }, "triangle 500 Hz"],
    ["SI2", { shape: "sine", frequency: 1000, phase: 90 }, "sine 1.00 kHz, 90° ahead of SI1"],
    ["SI2", { shape: "off", frequency: 1000, phase: null }, "off"],
    ["PV1", 1.5, "1.50 V"],
    ["PV3", -2.25, "-2.25 V"],
    ["PCS", 0.0011, "1.10 mA"],
    ["SQ1", { mode: "pwm", frequency: 1000, duty: 0.25, phase: 0 }, "PWM 1.00 kHz, 25 %"],
    ["SQ2", { mode: "pwm", frequency: 1000, duty: 0.5, phase: 0.25 }, "PWM 1.00 kHz, 50 %, phase 25 %"],
    ["SQ3", { mode: "pwm", frequency: 2000, duty: 1 / 3, phase: 0 }, "PWM 2.00 kHz, 33.3 %"],
    ["SQ1", { mode: "low" }, "low (0 V)"],
    ["SQ4", { mode: "high" }, "high (5 V)"],
    ["SQ1", { mode: "clock", prescaler: 1 }, "clock 64.0 MHz"],
    ["CH1_RANGE", 16, "±16 V"],
    ["CH2_RANGE", 0.5, "±0.5 V"],
  ])("%s %j is %s", (name, value, text) => {
    expect(describeOutput(name, value)).toBe(text);
  });

  it("shows anything unexpected as its JSON, never throws", () => {
    expect(describeOutput("SI1", null)).toBe("null");
    expect(describeOutput("PV1", "1.5")).toBe('"1.5"');
    expect(describeOutput("SQ1", { mode: "pwm" })).toBe('{"mode":"pwm"}');
    expect(describeOutput("NEW", { a: 1 })).toBe('{"a":1}');
    expect(describeOutput("PV1", undefined)).toBe("undefined");
  });

  it("labels the ranges in words", () => {
    expect(outputLabel("CH1_RANGE")).toBe("CH1 range");
    expect(outputLabel("SI1")).toBe("SI1");
  });
});

describe("outputLines", () => {
  it("lists every output in the panel's order, marking those you changed with the bench's value", () => {
    const mine = { ...BENCH, SI1: { shape: "sine", frequency: 2000, phase: null }, PV1: 1.5 };
    const lines = outputLines(mine, ["SI1", "PV1"], BENCH);
    expect(lines.map((l) => l.name)).toEqual([
      "SI1", "SI2", "PV1", "PV2", "PV3", "PCS", "SQ1", "SQ2", "SQ3", "SQ4", "CH1_RANGE", "CH2_RANGE",
    ]);
    expect(lines[0]).toEqual({ name: "SI1", text: "sine 2.00 kHz", changed: true, bench: "sine 1.00 kHz" });
    expect(lines[2]).toEqual({ name: "PV1", text: "1.50 V", changed: true, bench: "0.00 V" });
    expect(lines.filter((l) => l.changed).map((l) => l.name)).toEqual(["SI1", "PV1"]);
    expect(lines[1]).toEqual({ name: "SI2", text: "off", changed: false, bench: null });
  });

  it("puts outputs it does not know last, and survives missing fields", () => {
    expect(outputLines({ ZZ: 1, PV1: 0, AA: 2 }, undefined, undefined).map((l) => l.name)).toEqual(["PV1", "AA", "ZZ"]);
    expect(outputLines(undefined, ["SI1"], BENCH)).toEqual([]);
    expect(outputLines({ PV1: 2 }, ["PV1"], null)[0]).toEqual({ name: "PV1", text: "2.00 V", changed: true, bench: null });
  });
});

describe("messages", () => {
  it("says what a reset did", () => {
    expect(resetMessage(["SI1", "PV1"])).toBe("Back to the bench: SI1, PV1 reset.");
    expect(resetMessage([])).toBe("Nothing to reset: your outputs already are the bench's.");
  });

  it("says what a function changed", () => {
    expect(changedMessage(["SI1"])).toBe("Changed: SI1");
    expect(changedMessage(["SI1", "SI2"])).toBe("Changed: SI1, SI2");
    expect(changedMessage([])).toBe("");
    expect(changedMessage(undefined)).toBe("");
  });

  it("describes the queue", () => {
    expect(queueText({ length: 0, running: false, max: 64, your_position: null })).toBe("empty");
    expect(queueText({ length: 3, running: true, max: 64, your_position: 2 })).toBe(
      "3 waiting, you are number 2, a call is running",
    );
    expect(queueText(undefined)).toBe("—");
  });

  it("shows a hold only when another user holds the device", () => {
    expect(holdText({ by: "another user", seconds_left: 12.2, waiting: 0 })).toBe(
      "The device is held by another user for 13 s",
    );
    expect(holdText({ by: "another user" })).toBe("The device is held by another user");
    expect(holdText({ by: "you", seconds_left: 5, waiting: 1 })).toBeNull();
    expect(holdText({ held: false })).toBeNull();
    expect(holdText(undefined)).toBeNull();
    expect(holdText("yes")).toBeNull();
  });
});
