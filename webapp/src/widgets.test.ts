// The widget renderer on pslab-remote's JSON (docs/reference/widgets.md), buttons pressed.
import { renderWidgets } from "./widgets";

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
      return { result: fn.startsWith("get_voltage") ? 1.23456 : "PSLab V6" };
    };
    const { targets } = renderWidgets(widgets as any, call);
    (targets.get("button-id") as HTMLButtonElement).click();
    (targets.get("button-id1") as HTMLButtonElement).click();
    await settle();
    expect(calls).toEqual(["get_voltage('CH1')", "get_version()"]);
    expect(targets.get("button-id-label")!.textContent).toBe("1.235");
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
});
