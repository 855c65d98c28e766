// How a run's error reads: the line once; live batches applied like the result.
import { errorText, mergeOutput } from "./liverun";

describe("mergeOutput", () => {
  it("replaces the last widget by one of the same name (a print that grew), else appends", () => {
    const shown: any[] = [];
    mergeOutput(shown, [{ type: "text", name: "print", value: ["0"] }]);
    mergeOutput(shown, [{ type: "text", name: "print", value: ["0\n1"] }, { type: "label", name: "print1", class: "", value: "x" }]);
    mergeOutput(shown, [{ type: "text", name: "print2", value: ["2"] }]);
    expect(shown).toEqual([
      { type: "text", name: "print", value: ["0\n1"] },
      { type: "label", name: "print1", class: "", value: "x" },
      { type: "text", name: "print2", value: ["2"] },
    ]);
  });
});

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

// A stand-in for the browser's WebSocket (jsdom has none that reaches a server): it records
// what the page sends and lets the test play the server's messages.
class FakeSocket extends EventTarget {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: unknown[] = [];
  constructor(public url: string) {
    super();
    FakeSocket.last = this;
    setTimeout(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event("open"));
    });
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
    this.dispatchEvent(new Event("close"));
  }
  play(message: unknown): void {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
}

describe("LiveRuns", () => {
  beforeEach(() => vi.stubGlobal("WebSocket", FakeSocket));
  afterEach(() => vi.unstubAllGlobals());

  function recorder() {
    const seen: string[] = [];
    return {
      seen,
      handlers: {
        output: (w: unknown[], out: string, line: number | null) => seen.push(`output ${w.length} ${JSON.stringify(out)} ${line}`),
        waiting: (info: { by?: string }) => seen.push(`waiting ${info.by}`),
        result: (r: { status: string }) => seen.push(`result ${r.status}`),
        failed: (message: string, status: number) => seen.push(`failed ${status} ${message}`),
      },
    };
  }

  it("sends the run, passes output on, and ends with the result; cancel is sent", async () => {
    const { LiveRuns } = await import("./liverun");
    const runs = new LiveRuns();
    const { seen, handlers } = recorder();
    await runs.start({ code: "print(1)" }, handlers as never);
    const socket = FakeSocket.last!;
    expect(socket.url).toMatch(/^ws:\/\/.*\/v1\/runs\/live$/);
    expect(socket.sent).toEqual([{ type: "run", code: "print(1)" }]);
    expect(runs.running).toBe(true);
    socket.play({ type: "run.started", run: "r1" });
    socket.play({ type: "run.output", run: "r1", widgets: [{ type: "text" }], stdout: "1\n", line: 1 });
    socket.play({ type: "run.waiting", run: "r1", by: "another user" });
    runs.cancel();
    expect(socket.sent[1]).toEqual({ type: "cancel" });
    socket.play({ type: "run.result", run: "r1", result: { status: "cancelled" } });
    expect(runs.running).toBe(false);
    socket.close(); // after the result: nothing more is said
    expect(seen).toEqual(["output 1 \"1\\n\" 1", "waiting another user", "result cancelled"]);
  });

  it("a refused run and a lost connection end the run once", async () => {
    const { LiveRuns } = await import("./liverun");
    const runs = new LiveRuns();
    const first = recorder();
    await runs.start({ example_id: 3 }, first.handlers as never);
    const socket = FakeSocket.last!;
    socket.play({ type: "error", run: "r2", status: 401, error: "sign in to run your own code" });
    expect(first.seen).toEqual(["failed 401 sign in to run your own code"]);
    const second = recorder();
    await runs.start({ example_id: 3 }, second.handlers as never);
    expect(FakeSocket.last).toBe(socket); // one connection per page
    socket.close();
    expect(second.seen).toEqual(["failed 0 The connection to the lab was lost; the run's end is unknown."]);
  });

  it("a failed precheck (an ended session) opens no connection", async () => {
    const { LiveRuns } = await import("./liverun");
    FakeSocket.last = null;
    const runs = new LiveRuns(async () => {
      throw Object.assign(new Error("Missing Authorization Header"), { status: 401 });
    });
    const { seen, handlers } = recorder();
    await runs.start({ code: "1" }, handlers as never);
    expect(FakeSocket.last).toBeNull();
    expect(seen).toEqual(["failed 401 Missing Authorization Header"]);
  });
});
