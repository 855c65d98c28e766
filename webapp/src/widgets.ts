// The widget renderer: a run's widget list (docs/reference/widgets.md) as DOM.
import { api } from "./api";
import type { Widget } from "./api";
import { Plot } from "./plot";
import { formatNumber, stack } from "./stacking";
import type { Series } from "./stacking";

export interface Rendered {
  root: HTMLElement;
  targets: Map<string, HTMLElement>;
  plots: Map<string, Plot>;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text) node.textContent = text;
  return node;
}

/** Render ``widgets`` into a new element; buttons call the instrument when pressed. */
export function renderWidgets(widgets: Widget[], call = runFunction): Rendered {
  const root = el("div", "widgets");
  const targets = new Map<string, HTMLElement>();
  const plots = new Map<string, Plot>();
  for (const w of widgets) {
    let node: HTMLElement;
    if (w.type === "text") {
      node = el("pre", "widget-text", (w.value as string[]).join(" "));
    } else if (w.type === "span") {
      node = el("div", `widget-span ${w.class ?? ""}`, String(w.value));
    } else if (w.type === "label") {
      node = el("div", `widget-label ${w.class ?? ""}`, String(w.value));
    } else if (w.type === "button") {
      node = el("button", "widget-button", String(w.label));
      node.setAttribute("type", "button");
      node.addEventListener("click", () => pressButton(w, targets, plots, call, node as HTMLButtonElement));
    } else if (w.type === "plot") {
      node = el("div", "widget-plot");
      const host = el("div");
      node.appendChild(host);
      plots.set(w.name, new Plot(host, w.data as Series[]));
    } else {
      node = el("div", "widget-unknown", `unknown widget ${w.type}`);
    }
    node.dataset.name = w.name;
    targets.set(w.name, node);
    root.appendChild(node);
  }
  return { root, targets, plots };
}

export type Call = (fn: string, stacking?: string) => Promise<{ result: unknown; series?: Series[] }>;

export async function runFunction(fn: string, stacking?: string) {
  const body: Record<string, unknown> = { function: fn };
  if (stacking) body.stacking = stacking;
  return api<{ result: unknown; series?: Series[] }>("/v1/functions/run", "POST", body);
}

async function pressButton(
  w: Widget,
  targets: Map<string, HTMLElement>,
  plots: Map<string, Plot>,
  call: Call,
  button: HTMLButtonElement,
): Promise<void> {
  const success = w.action.success;
  const target = targets.get(success.target);
  button.disabled = true;
  try {
    if (success.type === "update-plot") {
      const answer = await call(w.action.endpoint, success.stacking ?? "xy");
      const series = answer.series ?? stack(answer.result, success.stacking ?? "xy");
      const plot = plots.get(success.target);
      if (plot) plot.update(series);
      else if (target) target.textContent = "no plot named " + success.target;
    } else {
      const answer = await call(w.action.endpoint);
      const text = success.type === "display_number" ? formatNumber(answer.result) : String(answer.result);
      if (target) target.textContent = text;
    }
  } catch (error) {
    if (target && success.type !== "update-plot") target.textContent = String((error as Error).message);
    else button.title = String((error as Error).message);
  } finally {
    button.disabled = false;
  }
}
