// The page shell shared by every page: the session, the top bar, navigation, DOM helpers.
import { api } from "./api";
import type { User } from "./api";
import { drafts } from "./drafts";

export const session: {
  me: User | null;
  boot: (to?: string) => Promise<void>;
  /** The link opened while signed out: where sign-in goes next. */
  returnTo: string | null;
} = {
  me: null,
  boot: async () => {},
  returnTo: null,
};

/** Still the account this tab signed in as? Another tab may have signed out and signed in
 * as someone else (the cookie is shared): then this tab starts again as that account (whose
 * drafts only are kept) instead of saving or running one student's work as another's. */
export async function sameAccount(): Promise<void> {
  if (!session.me) return;
  const now = await api<User>("/v1/users/me");
  if (now.id !== session.me.id) {
    location.reload();
    throw new Error("Another account signed in in another tab: this page starts again as that account.");
  }
}

// A tab coming back into view checks it too, before anything is typed into it.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") sameAccount().catch(() => undefined);
});

let viewTitle = "remotelab";

/** Name the view being drawn: the tab's title ("Home — remotelab") and, unless the page has
 * its own, the page's one <h1> (renamed when already drawn: a script saved under a title). */
export function view(title: string): void {
  viewTitle = title;
  document.title = `${title} — remotelab`;
  const drawn = document.querySelector("main > h1.view-title, main > h1.sr-only");
  if (drawn) drawn.textContent = title;
}

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
  const nav = h("nav", { class: "topbar", "aria-label": "Main" },
    h("a", { href: "#/home", class: "brand" }, "remotelab"));
  if (!session.me) nav.append(h("a", { href: "#/functions" }, "Functions"));
  if (session.me) {
    nav.append(
      h("a", { href: "#/home" }, "Home"),
      h("a", { href: "#/notebook/new" }, "New script"),
      h("a", { href: "#/scope" }, "Oscilloscope"),
      h("a", { href: "#/functions" }, "Functions"),
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
      session.returnTo = null;
      go("/");
    });
    nav.append(h("span", { class: "spacer" }), out);
  }
  return nav;
}

export function page(...content: Node[]): void {
  const main = h("main", {}, ...content);
  if (!main.querySelector("h1")) {
    // A page whose first heading already says the view's name shows it once (the <h1> is
    // then for screen readers and the outline only)
    const first = main.querySelector("h2");
    const same = first?.textContent?.trim() === viewTitle;
    // ...and the visible copy is not a second heading of the same name for them.
    if (same) first!.setAttribute("aria-hidden", "true");
    main.prepend(h("h1", { class: same ? "sr-only" : "view-title" }, viewTitle));
  }
  document.getElementById("app")!.replaceChildren(header(), main);
}

export function errorBox(): HTMLElement {
  return h("p", { class: "error", role: "alert" });
}

