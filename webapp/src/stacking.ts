// Stacking: the same rules as remotelab/widgets/stacking.py, checked against the same
// table (remotelab/widgets/stacking_cases.json). Numbers on screen: units.ts.

export type Point = [number | null, number | null];
export type Series = Point[];

export class StackingError extends Error {
  constructor(
    public reason: string,
    message: string,
  ) {
    super(message);
  }
}

const X_THEN_YS = /^xy+$/;

export function seriesCount(stacking: string): number | null {
  return X_THEN_YS.test(stacking) ? stacking.length - 1 : null;
}

function kind(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return `a boolean (${value})`;
  if (typeof value === "number") return `a number (${value})`;
  if (typeof value === "string") return `a string (${JSON.stringify(value)})`;
  if (Array.isArray(value)) return "a list";
  return "an object";
}

function coordinate(value: unknown, where: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number") {
    throw new StackingError("not_a_number", `${where} is ${kind(value)}, not a number`);
  }
  return Number.isFinite(value) ? value : null;
}

export function stack(result: unknown, stacking: unknown): Series[] {
  if (typeof stacking !== "string") {
    throw new StackingError("bad_stacking", `stacking must be a string, not ${kind(stacking)}`);
  }
  const n = seriesCount(stacking);
  if (n === null) return alreadyStacked(result, stacking);
  if (!Array.isArray(result)) {
    throw new StackingError(
      "result_not_list",
      `stacking '${stacking}' needs a list of ${n + 1} arrays [x, y...], but the result is ${kind(result)}`,
    );
  }
  if (result.length < n + 1) {
    throw new StackingError(
      "too_few_arrays",
      `stacking '${stacking}' needs ${n + 1} arrays (x and ${n} y), but the result has ${result.length}`,
    );
  }
  const columns: (number | null)[][] = [];
  for (let i = 0; i <= n; i++) {
    const column = result[i];
    if (!Array.isArray(column)) {
      throw new StackingError(
        "array_not_list",
        `stacking '${stacking}': result[${i}] should be an array of numbers, but it is ${kind(column)}`,
      );
    }
    if (i > 0 && column.length !== columns[0].length) {
      throw new StackingError(
        "length_mismatch",
        `stacking '${stacking}': result[${i}] has ${column.length} values but x (result[0]) has ${columns[0].length}`,
      );
    }
    columns.push(column.map((v, j) => coordinate(v, `result[${i}][${j}]`)));
  }
  const xs = columns[0];
  return columns.slice(1).map((ys) => xs.map((x, j) => [x, ys[j]] as Point));
}

function alreadyStacked(result: unknown, stacking: string): Series[] {
  const why = `stacking '${stacking}' is not 'x' followed by 'y's, so the result must already be a list of series of [x, y] pairs`;
  if (!Array.isArray(result)) {
    throw new StackingError("result_not_list", `${why}, but it is ${kind(result)}`);
  }
  return result.map((series, s) => {
    if (!Array.isArray(series)) {
      throw new StackingError("series_not_list", `${why}; result[${s}] is ${kind(series)}, not a series`);
    }
    return series.map((point, p) => {
      if (!Array.isArray(point) || point.length !== 2) {
        throw new StackingError(
          "point_not_pair",
          `${why}; result[${s}][${p}] is ${kind(point)}, not an [x, y] pair`,
        );
      }
      return [
        coordinate(point[0], `result[${s}][${p}][0]`),
        coordinate(point[1], `result[${s}][${p}][1]`),
      ] as Point;
    });
  });
}
