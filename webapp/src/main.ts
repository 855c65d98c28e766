// remotelab in the browser: a small hash-routed app over the lab's HTTP API and stream.
// The first load carries only the shell, sign-in and home; the code editor (CodeMirror) and
// the plots (uPlot) are chunks loaded by the pages that need them (docs/decisions/0016).
import "./style.css";
import { ApiError, api, setUnauthorizedHandler } from "./api";
import type { User } from "./api";
import { admin } from "./pages/admin";
import { deviceCard } from "./device";
import { drafts } from "./drafts";
import { examplesPage } from "./pages/examples";
import { functionReference } from "./pages/functions";
import { home } from "./pages/home";
import { landing, resetPassword, signUp, verifyEmail } from "./pages/landing";
import { go, h, page, session, view } from "./shell";

/** Pages anyone may open; every other one asks to sign in first, then opens. */
const PUBLIC = new Set(["/reset-password", "/verify", "/signup", "/signin", "/functions"]);

/** While a page's code loads, the previous page goes (nothing stale stays clickable). */
function loading(): void {
  page(h("p", { class: "muted", role: "status" }, "Loading…"));
}

// Each route() call's number: a page whose code arrives after the user moved on is dropped.
let routing = 0;

/** The notebook's code (CodeMirror) loads only when a script or an example opens. */
async function openNotebook(current: number, id: string | null, example: boolean): Promise<void> {
  loading();
  const { notebook } = await import("./pages/notebook");
  if (current !== routing) return;
  return await notebook(id, example);
}

async function route(): Promise<void> {
  const current = ++routing;
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  try {
    if (path === "/reset-password") {
      view("Choose a new password");
      return resetPassword(new URLSearchParams(query).get("token") ?? "");
    }
    if (path === "/verify") {
      view("Confirm your email");
      return await verifyEmail(new URLSearchParams(query).get("token") ?? "");
    }
    if (path === "/functions") {
      view("Function reference");
      return await functionReference();
    }
    if (path === "/examples") {
      // Signed out too, when the lab allows it (else the 401 asks to sign in).
      view("Examples");
      return await examplesPage();
    }
    const match = path.match(/^\/(notebook|example)\/(\w+)$/);
    if (!session.me) {
      if (path === "/signup") {
        view("Create an account");
        return signUp();
      }
      if (match?.[1] === "example") {
        // A visitor may open an example when the lab allows it (else: sign in, then here).
        view("Example");
        return await openNotebook(current, match[2], true);
      }
      // Opened while signed out: sign in, then come back here.
      if (!PUBLIC.has(path) && path !== "/" && path !== "/home") session.returnTo = hash;
      view("Sign in");
      return landing();
    }
    if (path === "/" || path === "/home" || path === "/signin" || path === "/signup") {
      view("Home");
      return await home();
    }
    if (path === "/scope") {
      view("Oscilloscope");
      loading();
      const { openScope } = await import("./scope");
      if (current !== routing) return;
      const outputs = deviceCard(false); // captures run in your context: show it beside them
      page(openScope(), outputs.root);
      return await outputs.refresh();
    }
    if (path === "/admin") {
      view("Users");
      return await admin();
    }
    if (match) {
      view(match[1] === "example" ? "Example" : match[2] === "new" ? "New script" : "Script");
      return await openNotebook(current, match[2] === "new" ? null : match[2], match[1] === "example");
    }
    view("Not found");
    page(h("p", {}, "Nothing here. "), h("a", { href: "#/home" }, "Home"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      // Signed out (or the session ended) on a page that needs an account: sign in, come back.
      if (!session.me && !PUBLIC.has(path)) session.returnTo = hash;
      view("Sign in");
      return landing();
    }
    page(h("p", { class: "error", role: "alert" }, (e as Error).message));
  }
}

async function boot(to?: string): Promise<void> {
  session.me = await api<User>("/v1/users/me").catch(() => null);
  if (session.me) drafts.keepOnly(session.me.id); // no other account's unsaved edits stay
  if (session.me && session.returnTo) {
    to = session.returnTo; // the link opened while signed out
    session.returnTo = null;
  }
  if (to && location.hash !== `#${to}`) go(to); // the hashchange routes
  else await route();
}

setUnauthorizedHandler(() => {
  session.me = null;
  void route();
});
window.addEventListener("hashchange", () => void route());
// The links in mails are <server>/reset-password?token=... and <server>/verify?token=...
if (location.pathname === "/reset-password" || location.pathname === "/verify") {
  history.replaceState(null, "", `/#${location.pathname}${location.search}`);
}
session.boot = boot;
void boot();
