// The notebook: editor, run and save, the rendered output, examples' Application/Source tabs.
import { api } from "../api";
import type { RunResult, Script } from "../api";
import { createEditor } from "../editor";
import type { Editor } from "../editor";
import { changedMessage } from "../outputs";
import { h, page, session } from "../shell";
import { renderWidgets } from "../widgets";

export const DRAFT = "remotelab:draft";

export async function notebook(id: string | null, example = false): Promise<void> {
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
  if (script && !example && session.me && session.me.role !== "student") {
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
      const changed = changedMessage(result.changed); // the outputs the script set, if any
      timer.textContent = `${result.status} in ${result.stats.wall_ms.toFixed(0)} ms` + (changed ? ` — ${changed}` : "");
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

