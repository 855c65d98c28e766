// Runs followed live over /v1/runs/live (docs/reference/sandbox.md, ADR 0010): output as the
// script makes it, Stop (cancel), the result; and how a run's error reads.
import type { RunResult, Widget } from "./api";

export type RunSource = { code: string } | { example_id: number };

/** Apply one ``run.output`` batch to the widgets shown so far, in place: a widget named
 * like the last one shown replaces it (a print widget that grew: consecutive prints share
 * one), any other is appended. Batch after batch, this gives the result's widgets. */
export function mergeOutput(shown: Widget[], more: Widget[]): void {
  for (const widget of more) {
    if (shown.length && shown[shown.length - 1].name === widget.name) shown[shown.length - 1] = widget;
    else shown.push(widget);
  }
}

export interface RunHandlers {
  /** New widgets (see mergeOutput) and text since the last batch; ``line`` is where the
   * script is. */
  output(widgets: Widget[], stdout: string, line: number | null): void;
  /** The run waits for another user's hold. */
  waiting(info: { by?: string; seconds_left?: number }): void;
  result(result: RunResult): void;
  /** The run could not start or the connection failed (a sentence, and the HTTP status). */
  failed(message: string, status: number): void;
}

/** One websocket per page; one run at a time on it. */
export class LiveRuns {
  private socket: WebSocket | null = null;
  private handlers: RunHandlers | null = null;
  private opening: Promise<WebSocket> | null = null;

  /** ``precheck`` runs before a connection opens (e.g. that the session still holds: a
   * refused websocket tells the page nothing about why). */
  constructor(private precheck: () => Promise<void> = async () => {}) {}

  get running(): boolean {
    return this.handlers !== null;
  }

  async start(source: RunSource, handlers: RunHandlers): Promise<void> {
    this.handlers = handlers;
    try {
      const socket = await this.open();
      socket.send(JSON.stringify({ type: "run", ...source }));
    } catch (e) {
      const status = (e as { status?: number }).status ?? 0;
      const message = status ? (e as Error).message : "Could not reach the lab to run the script. Check your connection and try again.";
      this.finish()?.failed(message, status);
    }
  }

  /** Stop the run in progress: its result (status cancelled, output so far) follows. */
  cancel(): void {
    if (this.socket && this.handlers) this.socket.send(JSON.stringify({ type: "cancel" }));
  }

  close(): void {
    this.handlers = null;
    this.socket?.close();
    this.socket = null;
  }

  private finish(): RunHandlers | null {
    const handlers = this.handlers;
    this.handlers = null;
    return handlers;
  }

  private async open(): Promise<WebSocket> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return this.socket;
    if (this.opening) return this.opening;
    await this.precheck();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v1/runs/live`);
    this.opening = new Promise<WebSocket>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(socket), { once: true });
      socket.addEventListener("error", () => reject(new Error("websocket")), { once: true });
    }).finally(() => (this.opening = null));
    socket.addEventListener("message", (event) => this.receive(String(event.data)));
    socket.addEventListener("close", () => {
      if (this.socket === socket) this.socket = null;
      this.finish()?.failed("The connection to the lab was lost; the run's end is unknown.", 0);
    });
    this.socket = socket;
    return this.opening;
  }

  private receive(data: string): void {
    const message = JSON.parse(data);
    const handlers = this.handlers;
    if (!handlers) return;
    if (message.type === "run.output") handlers.output(message.widgets ?? [], message.stdout ?? "", message.line ?? null);
    else if (message.type === "run.waiting") handlers.waiting(message);
    else if (message.type === "run.result") this.finish()?.result(message.result);
    else if (message.type === "error") this.finish()?.failed(message.error, message.status);
  }
}

/** A run's error as one sentence: the line said once ("SyntaxError — Line 2: expected ':'"),
 * whether or not the message already names it (compile errors do). */
export function errorText(error: NonNullable<RunResult["error"]>, status?: string): string {
  const { type, message, line } = error;
  const named = line !== null && new RegExp(`^Line ${line}:`).test(message);
  const at = line !== null ? ` at line ${line}` : "";
  if (status === "cancelled") return `Stopped${at}.`;
  if (status === "timeout" || status === "killed") return `${type}: ${message} (stopped${at})`;
  if (line === null || named) return `${type}: ${message}`;
  return `${type} — Line ${line}: ${message}`;
}
