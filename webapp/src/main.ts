// remotelab in the browser: a small hash-routed app over the lab's HTTP API and stream.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { ApiError, api, setUnauthorizedHandler } from "./api";
import type { RunResult, Script, User } from "./api";
import { createEditor } from "./editor";
import type { Editor } from "./editor";
import { Plot } from "./plot";
import { openScope } from "./scope";
import { formatNumber, stack } from "./stacking";
import { renderWidgets } from "./widgets";

const app = document.getElementById("app")!;
let me: User | null = null;
const DRAFT = "remotelab:draft";

function h<K extends keyof HTMLElementTagNameMap>(
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

function go(route: string): void {
  location.hash = route;
}

function header(): HTMLElement {
  const nav = h("nav", { class: "topbar" }, h("a", { href: "#/home", class: "brand" }, "remotelab"));
  if (me) {
    nav.append(
      h("a", { href: "#/home" }, "Home"),
      h("a", { href: "#/notebook/new" }, "New script"),
      h("a", { href: "#/scope" }, "Oscilloscope"),
    );
    if (me.role === "admin") nav.append(h("a", { href: "#/admin" }, "Users"));
    const out = h("button", { type: "button", class: "link" }, `Log out (${me.email})`);
    out.addEventListener("click", async () => {
      await api("/v1/auth/logout", "POST").catch(() => undefined);
      me = null;
      go("/");
    });
    nav.append(h("span", { class: "spacer" }), out);
  }
  return nav;
}

function page(...content: Node[]): void {
  app.replaceChildren(header(), h("main", {}, ...content));
}

function errorBox(): HTMLElement {
  return h("p", { class: "error", role: "alert" });
}

// ------------------------------------------------------------------ landing and sign in

function passwordField(id: string, label: string): [HTMLElement, HTMLInputElement] {
  const input = h("input", { id, type: "password", autocomplete: "current-password", required: "" });
  const toggle = h("button", { type: "button", class: "link", "aria-controls": id }, "show");
  toggle.addEventListener("click", () => {
    const hidden = input.type === "password";
    input.type = hidden ? "text" : "password";
    toggle.textContent = hidden ? "hide" : "show";
  });
  return [h("label", { for: id }, label, h("span", { class: "row" }, input, toggle)), input];
}

function landing(): void {
  const email = h("input", { id: "email", type: "email", autocomplete: "email", required: "" });
  const [pwLabel, password] = passwordField("password", "Password");
  const error = errorBox();
  const signIn = h("button", { type: "submit" }, "Sign in");
  const signUp = h("button", { type: "button", class: "secondary" }, "Create account");
  const forgot = h("button", { type: "button", class: "link" }, "Forgotten password?");
  const form = h(
    "form",
    { class: "card narrow", "aria-label": "Sign in" },
    h("h2", {}, "Sign in"),
    h("label", { for: "email" }, "Email", email),
    pwLabel,
    error,
    h("div", { class: "row" }, signIn, signUp, forgot),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("/v1/auth/login", "POST", { email: email.value, password: password.value });
      await boot("/home");
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  signUp.addEventListener("click", async () => {
    error.textContent = "";
    try {
      await api("/v1/users", "POST", { email: email.value, password: password.value });
      await api("/v1/auth/login", "POST", { email: email.value, password: password.value });
      await boot("/home");
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  forgot.addEventListener("click", async () => {
    error.textContent = "";
    try {
      const answer = await api("/v1/auth/reset-password", "POST", { data: { email: email.value } });
      error.textContent = answer.message;
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  page(
    h(
      "section",
      { class: "hero" },
      h("h1", {}, "A PSLab you can reach from anywhere"),
      h(
        "p",
        {},
        "Run instrument calls, write Python scripts that build small apps with buttons and " +
          "plots, and watch live captures — on a real Pocket Science Lab or its emulator.",
      ),
    ),
    form,
  );
}

function resetPassword(token: string): void {
  const [label, password] = passwordField("new-password", "New password");
  const error = errorBox();
  const form = h("form", { class: "card narrow" }, h("h2", {}, "Choose a new password"), label, error,
    h("button", { type: "submit" }, "Set password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("/v1/auth/reset-password", "PATCH", { data: { token, password: password.value } });
      error.textContent = "Password changed: sign in with it.";
      setTimeout(() => go("/"), 800);
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  });
  page(form);
}

// ------------------------------------------------------------------ home

async function home(): Promise<void> {
  const device = h("section", { class: "card", "aria-label": "Device" }, h("h2", {}, "Device"));
  const fnBox = h("section", { class: "card", "aria-label": "Function" }, h("h2", {}, "Run a function"));
  const mine = h("section", { class: "card", "aria-label": "My scripts" }, h("h2", {}, "My scripts"));
  const examples = h("section", { class: "card", "aria-label": "Examples" }, h("h2", {}, "Examples"));
  page(h("div", { class: "grid" }, device, fnBox, mine, examples));

  const status = await api("/v1/device");
  device.append(
    h("dl", {},
      h("dt", {}, "Backend"), h("dd", { "data-testid": "backend" }, status.backend + (status.fallback ? ` (${status.fallback})` : "")),
      h("dt", {}, "Connected"), h("dd", {}, status.connected ? "yes" : `no — ${status.fault ?? status.state}`),
      h("dt", {}, "Firmware"), h("dd", {}, status.firmware ?? "—"),
      h("dt", {}, "Queue"), h("dd", {}, String(status.queue.length))),
  );

  const functions = (await api("/v1/functions")).functions as any[];
  const list = h("datalist", { id: "function-names" }, ...functions.map((f) => h("option", { value: f.example ?? `${f.name}(` }, f.signature ?? f.name)));
  const input = h("input", { id: "function", list: "function-names", placeholder: "get_voltage('CH1')", "aria-label": "Function string", autocomplete: "off" });
  const doc = h("p", { class: "muted" });
  const out = h("div", { class: "result", "data-testid": "function-result", "aria-live": "polite" });
  const run = h("button", { type: "submit" }, "Run");
  const form = h("form", { class: "row" }, input, run);
  input.addEventListener("input", () => {
    const name = input.value.split("(")[0].trim();
    const f = functions.find((x) => x.name === name);
    doc.textContent = f ? `${f.signature ?? f.name} — ${f.doc}` : "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren("…");
    try {
      const answer = await api("/v1/functions/run", "POST", { function: input.value });
      showResult(out, answer.result);
    } catch (e) {
      out.replaceChildren(h("span", { class: "error" }, (e as Error).message));
    }
  });
  fnBox.append(form, list, doc, out);

  const scripts = (await api("/v1/scripts?limit=100")).items as Script[];
  const newButton = h("button", { type: "button" }, "New script");
  newButton.addEventListener("click", () => go("/notebook/new"));
  mine.append(newButton, h("ul", { class: "list" }, ...scripts.map((s) => scriptItem(s))));

  const published = (await api("/v1/examples?limit=100")).items as Script[];
  examples.append(h("ul", { class: "list" }, ...published.map((s) => exampleItem(s))));
}

function showResult(out: HTMLElement, result: unknown): void {
  if (typeof result === "number") {
    out.replaceChildren(h("span", { class: "number" }, formatNumber(result)));
  } else if (Array.isArray(result) && result.length >= 2 && result.every(Array.isArray)) {
    const host = h("div");
    out.replaceChildren(host);
    const stacking = "x" + "y".repeat(result.length - 1);
    new Plot(host, stack(result, stacking), [], Math.min(600, out.clientWidth || 600), 240);
  } else {
    out.replaceChildren(h("code", {}, JSON.stringify(result)));
  }
}

function scriptItem(s: Script): HTMLElement {
  const open = h("a", { href: `#/notebook/${s.id}` }, s.title);
  const remove = h("button", { type: "button", class: "link danger", "aria-label": `Delete ${s.title}` }, "delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete “${s.title}”?`)) return;
    await api(`/v1/scripts/${s.id}`, "DELETE");
    void home();
  });
  return h("li", {}, open, s.published ? h("span", { class: "badge" }, "published") : "", remove);
}

function exampleItem(s: Script): HTMLElement {
  const copy = h("button", { type: "button", class: "link" }, "copy to my scripts");
  copy.addEventListener("click", async () => {
    const mine = await api<Script>(`/v1/examples/${s.id}/copy`, "POST");
    go(`/notebook/${mine.id}`);
  });
  return h("li", {}, h("a", { href: `#/example/${s.id}` }, s.title),
    s.level ? h("span", { class: "badge" }, s.level) : "", copy,
    h("p", { class: "muted" }, s.description));
}

// ------------------------------------------------------------------ notebook

async function notebook(id: string | null, example = false): Promise<void> {
  let script: Script | null = null;
  if (id) script = await api<Script>(example ? `/v1/examples/${id}` : `/v1/scripts/${id}`);
  const title = h("input", { id: "title", "aria-label": "Title", value: script?.title ?? "Untitled" });
  const editorHost = h("div", { class: "editor", "aria-label": "Code" });
  const output = h("div", { class: "output", "aria-live": "polite", "data-testid": "output" });
  const run = h("button", { type: "button" }, "Run");
  const save = h("button", { type: "button", class: "secondary" }, "Save");
  const timer = h("span", { class: "muted", "data-testid": "timer" });
  const tools = h("div", { class: "row" }, title, run, save, timer);
  const draft = sessionStorage.getItem(DRAFT);
  const editor: Editor = createEditor(
    editorHost,
    (!script && draft) || script?.code || "print('hello')\n",
    () => run.click(),
    example, // an example's source is read-only: copy it to change it
  );
  editor.onChange((code) => sessionStorage.setItem(DRAFT, code));
  if (example) {
    save.remove();
    title.setAttribute("readonly", "");
    const appTab = h("button", { type: "button", role: "tab", "aria-selected": "true" }, "Application");
    const srcTab = h("button", { type: "button", role: "tab", "aria-selected": "false" }, "Source");
    const tabs = h("div", { class: "tabs", role: "tablist" }, appTab, srcTab);
    appTab.addEventListener("click", () => { editorHost.hidden = true; output.hidden = false; appTab.ariaSelected = "true"; srcTab.ariaSelected = "false"; });
    srcTab.addEventListener("click", () => { editorHost.hidden = false; output.hidden = true; appTab.ariaSelected = "false"; srcTab.ariaSelected = "true"; });
    editorHost.hidden = true;
    page(tools, tabs, editorHost, output);
  } else {
    page(tools, editorHost, output);
  }
  if (script && !example && me && me.role !== "student") {
    const publish = h("label", { class: "row" }, h("input", { type: "checkbox", id: "publish" }), "Published as an example");
    const box = publish.querySelector("input")!;
    box.checked = script.published;
    box.addEventListener("change", async () => {
      script = await api<Script>(`/v1/scripts/${script!.id}`, "PATCH", { published: box.checked });
    });
    tools.append(publish);
  }

  run.addEventListener("click", async () => {
    editor.clearError();
    const started = performance.now();
    let queue = "";
    const tick = setInterval(() => (timer.textContent = `running ${((performance.now() - started) / 1000).toFixed(1)} s${queue}`), 100);
    // While the run waits, show the instrument's queue (your place in it, when you have calls).
    const poll = setInterval(async () => {
      const device = await api("/v1/device").catch(() => null);
      if (device) {
        const place = device.queue.your_position;
        queue = ` — instrument queue ${device.queue.length}` + (place ? `, you are #${place}` : "");
      }
    }, 500);
    run.disabled = true;
    try {
      const path = example ? `/v1/examples/${id}/run` : "/v1/run";
      const result = await api<RunResult>(path, "POST", example ? undefined : { code: editor.code() });
      output.replaceChildren(...renderRun(result));
      if (result.error?.line) editor.markError(result.error.line);
      timer.textContent = `${result.status} in ${result.stats.wall_ms.toFixed(0)} ms`;
    } catch (e) {
      output.replaceChildren(h("p", { class: "error" }, (e as Error).message));
      timer.textContent = "";
    } finally {
      clearInterval(tick);
      clearInterval(poll);
      run.disabled = false;
    }
  });
  save.addEventListener("click", async () => {
    const body = { title: title.value, code: editor.code() };
    try {
      if (script && !example) script = await api<Script>(`/v1/scripts/${script.id}`, "PATCH", body);
      else {
        script = await api<Script>("/v1/scripts", "POST", body);
        history.replaceState(null, "", `#/notebook/${script.id}`);
      }
      sessionStorage.removeItem(DRAFT);
      timer.textContent = "saved";
    } catch (e) {
      timer.textContent = (e as Error).message;
    }
  });
  if (example) run.click();
}

function renderRun(result: RunResult): Node[] {
  const nodes: Node[] = [renderWidgets(result.widgets).root];
  if (result.error) {
    const where = result.error.line ? ` (line ${result.error.line})` : "";
    nodes.push(h("p", { class: "error", role: "alert" }, `${result.error.type}: ${result.error.message}${where}`));
  }
  return nodes;
}

// ------------------------------------------------------------------ admin

async function admin(): Promise<void> {
  const users = (await api("/v1/admin/users?limit=100")).items as User[];
  const rows = users.map((u) => {
    const toggle = h("button", { type: "button", class: "link" }, u.role === "teacher" ? "remove teacher" : "make teacher");
    toggle.addEventListener("click", async () => {
      await api(`/v1/admin/users/${u.id}/role`, "PUT", { role: u.role === "teacher" ? "student" : "teacher" });
      void admin();
    });
    return h("tr", {}, h("td", {}, u.email), h("td", {}, u.role), h("td", {}, u.role === "admin" ? "" : toggle));
  });
  page(h("section", { class: "card" }, h("h2", {}, "Users"),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, "Email"), h("th", {}, "Role"), h("th", {}, ""))), h("tbody", {}, ...rows))));
}

// ------------------------------------------------------------------ routing

async function route(): Promise<void> {
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  try {
    if (path === "/reset-password") return resetPassword(new URLSearchParams(query).get("token") ?? "");
    if (!me) return landing();
    if (path === "/" || path === "/home") return await home();
    if (path === "/scope") return page(openScope());
    if (path === "/admin") return await admin();
    const match = path.match(/^\/(notebook|example)\/(\w+)$/);
    if (match) return await notebook(match[2] === "new" ? null : match[2], match[1] === "example");
    page(h("p", {}, "Nothing here. "), h("a", { href: "#/home" }, "Home"));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return landing();
    page(h("p", { class: "error" }, (e as Error).message));
  }
}

async function boot(to?: string): Promise<void> {
  me = await api<User>("/v1/users/me").catch(() => null);
  if (to && location.hash !== `#${to}`) go(to); // the hashchange routes
  else await route();
}

setUnauthorizedHandler(() => {
  me = null;
  void route();
});
window.addEventListener("hashchange", () => void route());
// The reset link in the outbox is <server>/reset-password?token=...
if (location.pathname === "/reset-password") {
  history.replaceState(null, "", `/#/reset-password${location.search}`);
}
void boot();
