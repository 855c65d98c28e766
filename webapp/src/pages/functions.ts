// The function reference: every instrument function of GET /v1/functions, grouped by
// instrument, searchable, with its doc, parameters and units. Open to everyone.
import { api } from "../api";
import { h, page, session } from "../shell";

interface Param {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  choices: unknown[] | null;
  /** Old (pslab-remote) names accepted for some choices: old name -> choice. */
  aliases: Record<string, string> | null;
  minimum: number | null;
  maximum: number | null;
  unit: string | null;
  doc: string;
}

export interface FunctionInfo {
  name: string;
  signature: string;
  doc: string;
  category: string;
  legacy: boolean;
  example: string;
  params: Param[];
  returns: { type: string; unit: string | null; doc: string };
}

/** Where "try it" leaves its call for Home. Only this tab's pages can set it: a link from
 * elsewhere cannot make a signed-in user run a call. */
export const TRY_KEY = "remotelab:try";

function tryLink(call: string): HTMLElement {
  const link = h("a", { href: "#/home", class: "try" }, "try it");
  link.addEventListener("click", () => sessionStorage.setItem(TRY_KEY, call));
  return link;
}

function paramText(p: Param): string {
  const parts = [p.type + (p.unit ? `, in ${p.unit}` : "")];
  if (p.choices?.length) parts.push(`one of ${p.choices.map((c) => JSON.stringify(c)).join(", ")}`);
  // The old names are allowed too (an example may use one, as pslab-remote's scripts do).
  const old = Object.entries(p.aliases ?? {});
  if (old.length) parts.push(`old names: ${old.map(([name, now]) => `${JSON.stringify(name)} for ${JSON.stringify(now)}`).join(", ")}`);
  if (p.minimum !== null && p.maximum !== null) parts.push(`${p.minimum} to ${p.maximum}`);
  else if (p.minimum !== null) parts.push(`at least ${p.minimum}`);
  else if (p.maximum !== null) parts.push(`at most ${p.maximum}`);
  parts.push(p.required ? "required" : `default ${JSON.stringify(p.default)}`);
  return parts.join("; ");
}

function entry(f: FunctionInfo): HTMLElement {
  const id = `fn-${f.name}`;
  const returns = f.returns.type === "None" ? "nothing" : `${f.returns.type}${f.returns.unit ? ` in ${f.returns.unit}` : ""}`;
  const example = h("code", {}, f.example);
  const item = h("article", { class: "fn", id, "data-name": f.name, "aria-labelledby": `${id}-title` },
    h("h3", { id: `${id}-title` }, h("code", {}, f.signature), f.legacy ? h("span", { class: "badge" }, "legacy") : ""),
    h("p", {}, f.doc),
  );
  if (f.params.length) {
    item.append(h("ul", { class: "params" }, ...f.params.map((p) =>
      h("li", {}, h("code", {}, p.name), ` — ${p.doc} `, h("span", { class: "muted" }, `(${paramText(p)})`)))));
  }
  item.append(h("p", { class: "muted" }, `Returns ${returns}${f.returns.doc ? `: ${f.returns.doc}` : ""}`));
  const tryIt = session.me ? tryLink(f.example) : "";
  item.append(h("p", { class: "row wrap" }, "Example: ", example, tryIt));
  return item;
}

export async function functionReference(): Promise<void> {
  const functions = (await api("/v1/functions")).functions as FunctionInfo[];
  const search = h("input", { id: "function-search", type: "search", placeholder: "voltage, capture, sine…", autocomplete: "off" });
  const count = h("p", { class: "muted", role: "status", "data-testid": "function-count" });
  const groups = new Map<string, FunctionInfo[]>();
  for (const f of functions) groups.set(f.category, [...(groups.get(f.category) ?? []), f]);
  const sections = [...groups.entries()].map(([category, list]) => {
    const heading = category.charAt(0).toUpperCase() + category.slice(1);
    const id = `group-${category.replace(/\W+/g, "-")}`;
    return h("section", { class: "card fn-group", "aria-labelledby": id },
      h("h2", { id }, heading), ...list.map(entry));
  });
  const filter = (): void => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const section of sections) {
      let any = false;
      for (const item of section.querySelectorAll<HTMLElement>("article.fn")) {
        const text = item.textContent!.toLowerCase();
        item.hidden = !words.every((w) => text.includes(w));
        if (!item.hidden) shown += 1;
        any ||= !item.hidden;
      }
      section.hidden = !any;
    }
    count.textContent = shown === functions.length
      ? `${functions.length} functions`
      : `${shown} of ${functions.length} functions match`;
  };
  search.addEventListener("input", filter);
  filter();
  page(
    h("h1", {}, "Function reference"),
    h("p", {}, "What the instrument can do. Type a call in the function box on ",
      h("a", { href: "#/home" }, "Home"), ", or use these functions in a script."),
    h("label", { for: "function-search", class: "search" }, "Search functions", search),
    count,
    ...sections,
  );
}
