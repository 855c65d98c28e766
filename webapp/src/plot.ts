// Plots with uPlot: series of [x, y] pairs (the widget format), zoom, cursor and legend.
import uPlot from "uplot";
import type { Series } from "./stacking";

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
    labels: string[] = [],
    width = 640,
    height = 280,
  ) {
    this.chart = new uPlot(this.options(series.length, labels, width, height), toColumns(series), host);
  }

  private options(n: number, labels: string[], width: number, height: number): uPlot.Options {
    return {
      width,
      height,
      scales: { x: { time: false } },
      cursor: { drag: { x: true, y: true } },
      series: [
        { label: "x" },
        ...Array.from({ length: n }, (_, i) => ({
          label: labels[i] ?? `series ${i + 1}`,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
        })),
      ],
    };
  }

  update(series: Series[], labels: string[] = []): void {
    if (series.length !== this.chart.series.length - 1) {
      const { width, height } = this.chart;
      this.chart.destroy();
      this.chart = new uPlot(this.options(series.length, labels, width, height), toColumns(series), this.host);
    } else {
      this.chart.setData(toColumns(series));
    }
  }

  get seriesCount(): number {
    return this.chart.series.length - 1;
  }
}
