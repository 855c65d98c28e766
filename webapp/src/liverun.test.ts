// How a run's error reads: the line once.
import { errorText } from "./liverun";

describe("errorText", () => {
  it("names a compile error's line once", () => {
    const text = errorText({ type: "SyntaxError", message: "Line 2: expected ':'", line: 2 });
    expect(text).toBe("SyntaxError: Line 2: expected ':'");
    expect(text.match(/line 2/gi)).toHaveLength(1);
  });

  it("adds the line of a run-time error", () => {
    expect(errorText({ type: "ZeroDivisionError", message: "division by zero", line: 3 })).toBe(
      "ZeroDivisionError — Line 3: division by zero",
    );
  });

  it("leaves an error without a line alone", () => {
    expect(errorText({ type: "LimitExceeded", message: "too much output", line: null })).toBe(
      "LimitExceeded: too much output",
    );
  });

  it("says where a stopped run was", () => {
    const stopped = { type: "Cancelled", message: "the run was stopped by its owner", line: 2 };
    expect(errorText(stopped, "cancelled")).toBe("Stopped at line 2.");
    const late = { type: "Timeout", message: "the script ran longer than the time limit of 5 s", line: 3 };
    expect(errorText(late, "timeout")).toBe(
      "Timeout: the script ran longer than the time limit of 5 s (stopped at line 3)",
    );
  });
});
