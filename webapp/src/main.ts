// remotelab in the browser: a small hash-routed app over the lab's HTTP API and stream.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ApiError, api, setUnauthorizedHandler } from "./api";
import type { User } from "./api";
import { admin } from "./pages/admin";
import { deviceCard } from "./device";
import { drafts } from "./drafts";
import { examplesPage } from "./pages/examples";
import { home } from "./pages/home";
import { landing, resetPassword, verifyEmail } from "./pages/landing";
import { notebook } from "./pages/notebook";
import { openScope } from "./scope";
import { go, h, page, session } from "./shell";

async function route(): Promise<void> {
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  try {
    if (path === "/reset-password") return resetPassword(new URLSearchParams(query).get("token") ?? "");
    if (path === "/verify") return await verifyEmail(new URLSearchParams(query).get("token") ?? "");
    const match = path.match(/^\/(notebook|example)\/(\w+)$/);
    // A signed-out visitor may open an example when the lab allows it (else: sign in).
    if (!session.me) {
      if (path === "/examples") return await examplesPage();
      return match?.[1] === "example" ? await notebook(match[2], true) : landing();
    }
    if (path === "/examples") return await examplesPage();
    if (path === "/" || path === "/home") return await home();
    if (path === "/scope") {
      const outputs = deviceCard(false); // captures run in your context: show it beside them
      page(openScope(), outputs.root);
      return await outputs.refresh();
    }
    if (path === "/admin") return await admin();
    if (match) return await notebook(match[2] === "new" ? null : match[2], match[1] === "example");
    page(h("p", {}, "Nothing here. "), h("a", { href: "#/home" }, "Home"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return landing();
    page(h("p", { class: "error" }, (e as Error).message));
  }
}

async function boot(to?: string): Promise<void> {
  session.me = await api<User>("/v1/users/me").catch(() => null);
  if (session.me) drafts.keepOnly(session.me.id); // no other account's unsaved edits stay
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

