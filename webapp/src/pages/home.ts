// Home: the device and your outputs, a function-string box, my scripts and the examples.
import { api } from "../api";
import type { Script } from "../api";
import { deviceCard } from "../device";
import { changedMessage } from "../outputs";
import { Plot } from "../plot";
import type { PlotLabels } from "../plot";
import { go, h, page } from "../shell";
import { stack } from "../stacking";
import { displayNumber } from "../units";

export async function home(): Promise<void> {
  const fnBox = h("section", { class: "card", "aria-label": "Function" }, h("h2", {}, "Run a function"));
  const mine = h("section", { class: "card", "aria-label": "My scripts" }, h("h2", {}, "My scripts"));
  const examples = h("section", { class: "card", "aria-label": "Examples" }, h("h2", {}, "Examples"));

  const device = deviceCard(true);
  page(h("div", { class: "grid" }, device.root, fnBox, mine, examples));
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
      showResult(out, answer.result, answer.unit, answer.plot);
      const changed = changedMessage(answer.changed);
      if (changed) {
        out.append(h("p", { class: "muted", "data-testid": "function-changed" }, changed));
        await device.refresh(); // your outputs changed: show them
      }
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

function showResult(out: HTMLElement, result: unknown, unit?: string | null, labels?: PlotLabels): void {
  if (typeof result === "number") {
    out.replaceChildren(h("span", { class: "number" }, displayNumber(result, unit)));
  } else if (Array.isArray(result) && result.length >= 2 && result.every(Array.isArray)) {
    const host = h("div");
    out.replaceChildren(host);
    const stacking = "x" + "y".repeat(result.length - 1);
    new Plot(host, stack(result, stacking), labels ?? [], Math.min(600, out.clientWidth || 600), 240);
  } else if (unit && Array.isArray(result) && result.length > 0 && result.every((x) => typeof x === "number")) {
    // A list of one quantity (each channel's frequency): each number with its unit.
    out.replaceChildren(h("span", { class: "number" }, result.map((x) => displayNumber(x, unit)).join(", ")));
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

