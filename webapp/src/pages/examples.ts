// The published examples on a page of their own: for signed-out visitors when the lab
// allows it (REMOTELAB_PUBLIC_EXAMPLES; a teacher can share the link #/examples), and for
// everyone signed in.
import { ApiError, api } from "../api";
import type { Script } from "../api";
import { h, page, session } from "../shell";
import { levelLabel } from "./publish";

export async function examplesPage(): Promise<void> {
  const items = (await listExamples()).map((s) => h("li", {},
    h("a", { href: `#/example/${s.id}` }, s.title),
    s.level ? h("span", { class: "badge" }, levelLabel(s.level)) : "",
    h("p", { class: "muted" }, s.description, s.author ? ` — by ${s.author}` : "")));
  const intro = session.me
    ? "Open an example to run it, read its source, or copy it to your scripts."
    : "Open an example to run it and read its source. Sign in to copy it or write your own.";
  page(h("section", { class: "card", "aria-label": "Examples" },
    h("h2", {}, "Examples"), h("p", {}, intro),
    items.length ? h("ul", { class: "list" }, ...items) : h("p", { class: "muted" }, "No examples yet."),
    session.me ? "" : h("a", { href: "#/" }, "Sign in")));
}

async function listExamples(): Promise<Script[]> {
  if (session.me) return (await api("/v1/examples?limit=100")).items as Script[];
  // Signed out: a 401 (examples are not public here) sends the visitor to sign in.
  const response = await fetch("/v1/examples?limit=100", { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error ?? response.statusText, body.code);
  return body.items as Script[];
}
