// Plots with uPlot: series of [x, y] pairs (the widget format), zoom, cursor and legend.
import uPlot from "uplot";
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

export class Plot {
  chart: uPlot;
  constructor(
    public host: HTMLElement,
    series: Series[],
    labels: string[] | PlotLabels = [],
    width = 640,
    height = 280,
  ) {
    this.labels = asLabels(labels);
    this.chart = new uPlot(this.options(series.length, this.labels, width, height), toColumns(series), host);
    this.markAxes();
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
    const next = labels === undefined ? this.labels : asLabels(labels);
    if (series.length !== this.chart.series.length - 1 || JSON.stringify(next) !== JSON.stringify(this.labels)) {
      const { width, height } = this.chart;
      this.labels = next;
      this.chart.destroy();
      this.chart = new uPlot(this.options(series.length, next, width, height), toColumns(series), this.host);
      this.markAxes();
    } else {
      this.chart.setData(toColumns(series));
    }
  }

  get seriesCount(): number {
    return this.chart.series.length - 1;
  }
}
