// Home: the device and your outputs, a function-string box, my scripts and the examples.
import { api } from "../api";
import type { Script } from "../api";
import { deviceCard } from "../device";
import { drafts } from "../drafts";
import { changedMessage } from "../outputs";
import type { PlotLabels } from "../plot";
import { plainMessage } from "../messages";
import { go, h, page, session } from "../shell";
import { stack } from "../stacking";
import { displayNumber } from "../units";
import { TRY_KEY } from "./functions";
import { gettingStarted } from "./start";

/** Home; a call left by the function reference's "try it" is put in the function box and run. */
export async function home(): Promise<void> {
  let call = sessionStorage.getItem(TRY_KEY);
  sessionStorage.removeItem(TRY_KEY);
  const fnBox = h("section", { class: "card", "aria-label": "Function" }, h("h2", {}, "Run a function"));
  const mine = h("section", { class: "card", "aria-label": "My scripts" }, h("h2", {}, "My scripts"));
  const examples = h("section", { class: "card", "aria-label": "Examples" }, h("h2", {}, "Examples"));

  const device = deviceCard(true);
  // Until the function box is drawn, a clicked call waits for it.
  let tryCall = (text: string): void => void (call = text);
  page(h("div", { class: "grid" }, gettingStarted((text) => tryCall(text)), device.root, fnBox, mine, examples));
  await device.refresh();

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
      await showResult(out, answer.result, answer.unit, answer.plot);
      const changed = changedMessage(answer.changed);
      if (changed) {
        out.append(h("p", { class: "muted", "data-testid": "function-changed" }, changed));
        await device.refresh(); // your outputs changed: show them
      }
    } catch (e) {
      out.replaceChildren(h("span", { class: "error" }, plainMessage(e)));
    }
  });
  fnBox.append(form, list, doc, out);
  tryCall = (text) => {
    input.value = text;
    input.dispatchEvent(new Event("input"));
    form.requestSubmit();
    input.focus();
  };
  if (call) tryCall(call);

  const scripts = (await api("/v1/scripts?limit=100")).items as Script[];
  const newButton = h("button", { type: "button" }, "New script");
  newButton.addEventListener("click", () => go("/notebook/new"));
  const unsaved = new Set(session.me ? drafts.scripts(session.me.id) : []);
  const items = scripts.map((s) => scriptItem(s, unsaved.has(s.id)));
  const fresh = session.me ? drafts.get(session.me.id, "new") : null;
  if (fresh) { // a script begun and never saved: the draft's title, to be found again
    items.unshift(h("li", {}, h("a", { href: "#/notebook/new" }, `${fresh.title.trim() || "Untitled"} (never saved)`),
      h("span", { class: "badge unsaved" }, "unsaved edits")));
  }
  const hint = h("p", { class: "muted", "data-testid": "no-scripts" },
    "No scripts yet. Press “New script” to write one, or open an example below and copy it to your scripts.");
  mine.append(newButton, items.length ? h("ul", { class: "list" }, ...items) : hint);

  const published = (await api("/v1/examples?limit=100")).items as Script[];
  examples.append(h("ul", { class: "list" }, ...published.map((s) => exampleItem(s))));
}

async function showResult(out: HTMLElement, result: unknown, unit?: string | null, labels?: PlotLabels): Promise<void> {
  if (typeof result === "number") {
    out.replaceChildren(h("span", { class: "number" }, displayNumber(result, unit)));
  } else if (Array.isArray(result) && result.length >= 2 && result.every(Array.isArray)) {
    const host = h("div");
    out.replaceChildren(host);
    const stacking = "x" + "y".repeat(result.length - 1);
    const { Plot } = await import("../plot"); // uPlot: loaded by the first plot
    new Plot(host, stack(result, stacking), labels ?? [], Math.min(600, out.clientWidth || 600), 240);
  } else if (unit && Array.isArray(result) && result.length > 0 && result.every((x) => typeof x === "number")) {
    // A list of one quantity (each channel's frequency): each number with its unit.
    out.replaceChildren(h("span", { class: "number" }, result.map((x) => displayNumber(x, unit)).join(", ")));
  } else {
    out.replaceChildren(h("code", {}, JSON.stringify(result)));
  }
}

function scriptItem(s: Script, unsaved: boolean): HTMLElement {
  const open = h("a", { href: `#/notebook/${s.id}` }, s.title);
  const remove = h("button", { type: "button", class: "link danger", "aria-label": `Delete ${s.title}` }, "delete");
  remove.addEventListener("click", async () => {
    if (!confirm(`Delete “${s.title}”?`)) return;
    await api(`/v1/scripts/${s.id}`, "DELETE");
    void home();
  });
  return h("li", {}, open, s.published ? h("span", { class: "badge" }, "published") : "",
    unsaved ? h("span", { class: "badge unsaved" }, "unsaved edits") : "", remove);
}

function exampleItem(s: Script): HTMLElement {
  const copy = h("button", { type: "button", class: "link" }, "copy to my scripts");
  copy.addEventListener("click", async () => {
    const mine = await api<Script>(`/v1/examples/${s.id}/copy`, "POST");
    go(`/notebook/${mine.id}`);
  });
  return h("li", {}, h("a", { href: `#/example/${s.id}` }, s.title),
    s.level ? h("span", { class: "badge" }, s.level) : "", copy,
    h("p", { class: "muted" }, s.description, s.author ? ` — by ${s.author}` : ""));
}

