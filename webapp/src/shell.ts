// The page shell shared by every page: the session, the top bar, navigation, DOM helpers.
import { api } from "./api";
import type { User } from "./api";
import { drafts } from "./drafts";

export const session: { me: User | null; boot: (to?: string) => Promise<void> } = {
  me: null,
  boot: async () => {},
};

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

export function go(route: string): void {
  location.hash = route;
}

export function header(): HTMLElement {
  const nav = h("nav", { class: "topbar" }, h("a", { href: "#/home", class: "brand" }, "remotelab"));
  if (session.me) {
    nav.append(
      h("a", { href: "#/home" }, "Home"),
      h("a", { href: "#/notebook/new" }, "New script"),
      h("a", { href: "#/scope" }, "Oscilloscope"),
    );
    if (session.me.role === "admin") nav.append(h("a", { href: "#/admin" }, "Users"));
    const out = h("button", { type: "button", class: "link" }, `Log out (${session.me.email})`);
    out.addEventListener("click", async () => {
      // Signing out drops this account's unsaved edits (the next person must not see them).
      const unsaved = drafts.scripts(session.me!.id).length;
      if (unsaved && !confirm(`Sign out and discard unsaved edits in ${unsaved} script${unsaved > 1 ? "s" : ""}?`)) return;
      drafts.clearAll();
      await api("/v1/auth/logout", "POST").catch(() => undefined);
      session.me = null;
      go("/");
    });
    nav.append(h("span", { class: "spacer" }), out);
  }
  return nav;
}

export function page(...content: Node[]): void {
  document.getElementById("app")!.replaceChildren(header(), h("main", {}, ...content));
}

export function errorBox(): HTMLElement {
  return h("p", { class: "error", role: "alert" });
}

