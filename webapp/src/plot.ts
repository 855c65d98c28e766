// Plots with uPlot: series of [x, y] pairs (the widget format), zoom, cursor and legend.
// Sized to its container (and resized with it); the drawing is an image named by a summary
// of its series (count, points, ranges) for screen readers.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { Series } from "./stacking";
import { formatQuantity } from "./units";

/** Axis labels and a legend: a `plot` widget's optional keys, a capture's `plot` answer. */
export interface PlotLabels {
  x_label?: string;
  y_label?: string;
  labels?: string[];
}

/** Labels given as a list are the legend alone. */
function asLabels(labels: string[] | PlotLabels | undefined): PlotLabels {
  return Array.isArray(labels) ? { labels } : (labels ?? {});
}

/** The legend name of series `i` of `n`: given, else "y" (one series) or "y1", "y2"... */
export function seriesLabel(labels: PlotLabels, i: number, n: number): string {
  return labels.labels?.[i] ?? (n === 1 ? "y" : `y${i + 1}`);
}

/** The unit in an axis label's brackets: "Voltage (V)" → "V"; null without brackets. */
export function unitOf(label: string | undefined): string | null {
  const match = label?.match(/\(([^()]{1,12})\)\s*$/);
  return match ? match[1] : null;
}

/** The legend's value of a point: with the axis's unit when its label names one. */
function legendValue(label: string | undefined) {
  const unit = unitOf(label);
  return (_: uPlot, v: number | null) => (v == null ? "--" : unit === null ? String(Number(v.toPrecision(4))) : formatQuantity(v, unit));
}

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#db2777"];

/** uPlot wants one shared x array: series with other x values are merged on a union. */
export function toColumns(series: Series[]): uPlot.AlignedData {
  if (series.length === 0) return [[]];
  const same = series.every(
    (s) => s.length === series[0].length && s.every((p, i) => p[0] === series[0][i][0]),
  );
  if (same) {
    return [series[0].map((p) => p[0] ?? 0), ...series.map((s) => s.map((p) => p[1]))] as uPlot.AlignedData;
  }
  const xs = [...new Set(series.flatMap((s) => s.map((p) => p[0] ?? 0)))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byX = new Map(s.map((p) => [p[0] ?? 0, p[1]]));
    return xs.map((x) => byX.get(x) ?? null);
  });
  return [xs, ...columns] as uPlot.AlignedData;
}

function range(values: (number | null | undefined)[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : null;
}

const short = (v: number): string => String(Number(v.toPrecision(3)));

/** The plot in words: "Plot of 2 series, 50 points each, x from 0 to 1. series 1: from 0 to 1; ...". */
export function describePlot(data: uPlot.AlignedData, names: string[]): string {
  const n = data.length - 1;
  if (n <= 0 || data[0].length === 0) return "Empty plot.";
  const x = range(data[0] as number[]);
  const count = data[0].length;
  const points = `${count} point${count === 1 ? "" : "s"}${n > 1 ? " each" : ""}`;
  const xs = x ? `, ${names[0] ?? "x"} from ${short(x[0])} to ${short(x[1])}` : "";
  const parts = [`Plot of ${n} series, ${points}${xs}.`];
  for (let i = 1; i <= n; i++) {
    const r = range(data[i] as (number | null)[]);
    parts.push(`${names[i] ?? `series ${i}`}: ${r ? `from ${short(r[0])} to ${short(r[1])}` : "no values"}.`);
  }
  return parts.join(" ");
}

export class Plot {
  chart: uPlot;
  private height: number;
  private fallbackWidth: number;
  private resizer: ResizeObserver | null = null;
  constructor(
    public host: HTMLElement,
    series: Series[],
    labels: string[] | PlotLabels = [],
    width = 640, // used only while the container has no width (hidden)
    height = 280,
  ) {
    this.height = height;
    this.fallbackWidth = width;
    this.labels = asLabels(labels);
    host.classList.add("plot");
    const data = toColumns(series);
    this.chart = new uPlot(this.options(series.length, this.labels, this.width(), height), data, host);
    this.markAxes();
    this.describe(data);
    if (typeof ResizeObserver !== "undefined") {
      this.resizer = new ResizeObserver(() => this.fit());
      this.resizer.observe(host);
    }
  }

  /** The container's width: the plot never makes its page scroll sideways. */
  private width(): number {
    return Math.floor(this.host.clientWidth) || this.fallbackWidth;
  }

  private fit(): void {
    if (!this.host.isConnected) {
      this.resizer?.disconnect(); // the page moved on
      return;
    }
    const width = this.width();
    if (width !== this.chart.width) this.chart.setSize({ width, height: this.height });
  }

  /** Name the drawing (uPlot's canvas area) with the data in words. */
  private describe(data: uPlot.AlignedData): void {
    const text = describePlot(data, this.chart.series.map((s) => String(s.label ?? "")));
    const canvas = this.chart.root.querySelector(".u-wrap");
    if (canvas) {
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", text);
    }
  }

  /** uPlot draws axis labels on the canvas: say them on the host too (tests, tools). */
  private markAxes(): void {
    for (const [key, value] of [["xLabel", this.labels.x_label], ["yLabel", this.labels.y_label]] as const) {
      if (value) this.host.dataset[key] = value;
      else delete this.host.dataset[key];
    }
  }

  labels: PlotLabels;

  private options(n: number, labels: PlotLabels, width: number, height: number): uPlot.Options {
    return {
      width,
      height,
      scales: { x: { time: false } },
      cursor: { drag: { x: true, y: true } },
      axes: [{ label: labels.x_label }, { label: labels.y_label }],
      series: [
        { label: labels.x_label ?? "x", value: legendValue(labels.x_label) },
        ...Array.from({ length: n }, (_, i) => ({
          label: seriesLabel(labels, i, n),
          value: legendValue(labels.y_label),
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
        })),
      ],
    };
  }

  /** New data; with `labels`, new labels too (else the plot keeps its own). */
  update(series: Series[], labels?: string[] | PlotLabels): void {
    const data = toColumns(series);
    const next = labels === undefined ? this.labels : asLabels(labels);
    if (series.length !== this.chart.series.length - 1 || JSON.stringify(next) !== JSON.stringify(this.labels)) {
      this.labels = next;
      this.chart.destroy();
      this.chart = new uPlot(this.options(series.length, next, this.width(), this.height), data, this.host);
      this.markAxes();
    } else {
      this.chart.setData(data);
    }
    this.describe(data);
  }

  get seriesCount(): number {
    return this.chart.series.length - 1;
  }
}
