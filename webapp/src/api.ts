// The lab's HTTP API, with the browser's session cookie (set by login). Errors come out in
// plain language (messages.ts); the server's own text stays in `serverMessage`.
import { plainText } from "./messages";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public code: string = "",
    public details: Record<string, unknown> = {},
    /** The server's `error` text, as it came (the message is its plain-language form). */
    public serverMessage: string = message,
  ) {
    super(message);
  }
}

/** Called when a request answers 401: the app returns to sign in, keeping the editor. */
export let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T = any>(path: string, method = "GET", body?: unknown): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The lab cannot be reached: check your connection and try again.", "network");
  }
  if (response.status === 204) return undefined as T;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/v1/auth/login")) onUnauthorized();
    const said = String(data.error ?? response.statusText);
    const details = data.details && typeof data.details === "object" ? data.details : {};
    throw new ApiError(response.status, plainText(response.status, said, details), data.code, details, said);
  }
  return data as T;
}

export interface User {
  id: number;
  email: string;
  name: string | null;
  role: "student" | "teacher" | "admin";
}

export interface Script {
  id: number;
  title: string;
  description: string;
  code: string;
  published: boolean;
  builtin: boolean;
  level: string | null;
  author: string | null;
  published_at: string | null;
  owner_id: number | null;
  updated_at: string;
}

export interface RunResult {
  status: "ok" | "error" | "timeout" | "killed" | "cancelled";
  widgets: Widget[];
  stdout: string;
  error: { type: string; message: string; line: number | null } | null;
  stats: { wall_ms: number; cpu_ms: number; device_calls: number; max_rss_kb: number };
  /** The outputs the run's instrument calls changed in your context. */
  changed?: string[];
}

export type Widget = { type: string; name: string; [key: string]: any };
