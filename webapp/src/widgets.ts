// The widget renderer: a run's widget list (docs/reference/widgets.md) as DOM.
import { api } from "./api";
import type { Widget } from "./api";
import { Plot } from "./plot";
import type { PlotLabels } from "./plot";
import { stack } from "./stacking";
import type { Series } from "./stacking";
import { displayNumber } from "./units";

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

/** A plot widget's optional labels (docs/reference/widgets.md); pslab-remote's have none. */
export function plotLabels(w: Widget): PlotLabels {
  const labels: PlotLabels = {};
  if (typeof w.x_label === "string") labels.x_label = w.x_label;
  if (typeof w.y_label === "string") labels.y_label = w.y_label;
  if (Array.isArray(w.labels)) labels.labels = w.labels.map(String);
  return labels;
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
      plots.set(w.name, new Plot(host, w.data as Series[], plotLabels(w)));
    } else {
      node = el("div", "widget-unknown", `unknown widget ${w.type}`);
    }
    node.dataset.name = w.name;
    targets.set(w.name, node);
    root.appendChild(node);
  }
  return { root, targets, plots };
}

/** What POST /v1/functions/run answers: the result, its unit, a capture's plot labels. */
export interface CallAnswer {
  result: unknown;
  series?: Series[];
  unit?: string | null;
  plot?: PlotLabels;
}

export type Call = (fn: string, stacking?: string) => Promise<CallAnswer>;

export async function runFunction(fn: string, stacking?: string): Promise<CallAnswer> {
  const body: Record<string, unknown> = { function: fn };
  if (stacking) body.stacking = stacking;
  return api<CallAnswer>("/v1/functions/run", "POST", body);
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
      // A capture names its axes and channels; a plot the script labelled keeps its labels.
      const own = plot && (plot.labels.x_label || plot.labels.y_label || plot.labels.labels);
      if (plot) plot.update(series, own ? undefined : answer.plot);
      else if (target) target.textContent = "no plot named " + success.target;
    } else {
      const answer = await call(w.action.endpoint);
      const text = success.type === "display_number" ? displayNumber(answer.result, answer.unit) : String(answer.result);
      if (target) target.textContent = text;
    }
  } catch (error) {
    if (target && success.type !== "update-plot") target.textContent = String((error as Error).message);
    else button.title = String((error as Error).message);
  } finally {
    button.disabled = false;
  }
}
