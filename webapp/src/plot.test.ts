// A plot's text alternative: its series, points and ranges in words.
import { describePlot } from "./plot";

test("describes each series' range", () => {
  const data = [[0, 0.5, 1], [0, 1, 2], [-1, null, 3]] as any;
  expect(describePlot(data, ["x", "CH1", "CH2"])).toBe(
    "Plot of 2 series, 3 points each, x from 0 to 1. CH1: from 0 to 2. CH2: from -1 to 3.",
  );
});

test("says when there is nothing to see", () => {
  expect(describePlot([[]] as any, [])).toBe("Empty plot.");
  expect(describePlot([[1, 2], [null, null]] as any, ["x"])).toBe(
    "Plot of 1 series, 2 points, x from 1 to 2. series 1: no values.",
  );
  expect(describePlot([[0.000123456], [1234567]] as any, ["t", "v"])).toBe(
    "Plot of 1 series, 1 point, t from 0.000123 to 0.000123. v: from 1230000 to 1230000.",
  );
});
