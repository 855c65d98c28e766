// The widget renderer on pslab-remote's JSON (docs/reference/widgets.md), buttons pressed.
import { seriesLabel, unitOf } from "./plot";
import { plotLabels, renderWidgets } from "./widgets";

const widgets = [
  { type: "text", name: "print", value: ["v=", "1.5"] },
  { type: "span", name: "print1", class: "row well", value: "Multimeter" },
  { type: "label", name: "print2", class: "hint", value: "press a button" },
  {
    type: "button", name: "button-id", label: "Voltage : CH1", fetched_value: "",
    action: { type: "POST", endpoint: "get_voltage('CH1')",
      success: { datapoint: "result", type: "display_number", target: "button-id-label" } },
  },
  { type: "label", name: "button-id-label", class: "", value: "" },
  {
    type: "button", name: "button-id1", label: "Version", fetched_value: "",
    action: { type: "POST", endpoint: "get_version()",
      success: { datapoint: "result", type: "display", target: "button-id1-label" } },
  },
  { type: "label", name: "button-id1-label", class: "", value: "" },
];

function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe("renderWidgets", () => {
  it("renders each widget in order with its name", () => {
    const { root, targets } = renderWidgets(widgets as any);
    expect(Array.from(root.children).map((n) => (n as HTMLElement).dataset.name)).toEqual(
      widgets.map((w) => w.name),
    );
    expect(targets.get("print")!.textContent).toBe("v= 1.5");
    expect(targets.get("print1")!.className).toContain("row well");
    expect(targets.get("print2")!.textContent).toBe("press a button");
    expect(targets.get("button-id")!.tagName).toBe("BUTTON");
  });

  it("routes a button's result to its target: display_number and display", async () => {
    const calls: string[] = [];
    const call = async (fn: string) => {
      calls.push(fn);
      return fn.startsWith("get_voltage") ? { result: 1.23456, unit: "V" } : { result: "PSLab V6", unit: null };
    };
    const { targets } = renderWidgets(widgets as any, call);
    (targets.get("button-id") as HTMLButtonElement).click();
    (targets.get("button-id1") as HTMLButtonElement).click();
    await settle();
    expect(calls).toEqual(["get_voltage('CH1')", "get_version()"]);
    expect(targets.get("button-id-label")!.textContent).toBe("1.23 V");
    expect(targets.get("button-id1-label")!.textContent).toBe("PSLab V6");
  });

  it("shows an error's text in a display_number target instead of throwing", async () => {
    const call = async () => {
      throw new Error("the instrument stopped answering");
    };
    const { targets } = renderWidgets(widgets as any, call);
    (targets.get("button-id") as HTMLButtonElement).click();
    await settle();
    expect(targets.get("button-id-label")!.textContent).toBe("the instrument stopped answering");
  });

  it("shows a display_number result with its unit and an SI prefix", async () => {
    const call = async () => ({ result: 1.004e-9, unit: "F" });
    const { targets } = renderWidgets(widgets as any, call);
    (targets.get("button-id") as HTMLButtonElement).click();
    await settle();
    expect(targets.get("button-id-label")!.textContent).toBe("1.00 nF");
  });

  it("takes a plot's labels from its optional keys, and names series without them", () => {
    const mine = { type: "plot", name: "mine", x_label: "Time (s)", y_label: "Charge (V)", labels: ["CAP"], data: [] };
    expect(plotLabels(mine)).toEqual({ x_label: "Time (s)", y_label: "Charge (V)", labels: ["CAP"] });
    expect(plotLabels({ type: "plot", name: "bare", data: [] })).toEqual({});
    expect([0, 1].map((i) => seriesLabel({}, i, 2))).toEqual(["y1", "y2"]);
    expect(seriesLabel({}, 0, 1)).toBe("y");
    expect(seriesLabel({ labels: ["CH1", "CH2"] }, 1, 2)).toBe("CH2");
    expect(unitOf("Voltage (V)")).toBe("V");
    expect(unitOf("Time (µs)")).toBe("µs");
    expect(unitOf("Frequency (kHz)")).toBe("kHz");
    expect(unitOf("Frequency: 10^x Hz")).toBeNull();
    expect(unitOf("Amplitude")).toBeNull();
    expect(unitOf(undefined)).toBeNull();
  });
});
