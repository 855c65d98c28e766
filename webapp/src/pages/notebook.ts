// The notebook: editor, Run/Stop with live output, save, drafts of unsaved edits, the
// teacher's publish box; an example's page (Application/Source tabs, description, copy).
import { ApiError, api } from "../api";
import type { RunResult, Script, Widget } from "../api";
import { drafts, guardLeaving } from "../drafts";
import { createEditor } from "../editor";
import type { Editor } from "../editor";
import { LiveRuns, errorText, mergeOutput } from "../liverun";
import type { RunSource } from "../liverun";
import { changedMessage } from "../outputs";
import { go, h, page, sameAccount, session, view } from "../shell";
import { renderWidgets } from "../widgets";
import { levelLabel, publishBox } from "./publish";
import type { PublishBox } from "./publish";

const STARTER = "print('hello')\n";
let live: LiveRuns | null = null; // the open page's websocket: one page, one connection

/** The old page's run and leave warning end when another page opens. */
window.addEventListener("hashchange", () => {
  live?.close();
  live = null;
  guardLeaving(null);
});

export async function notebook(id: string | null, example = false): Promise<void> {
  live?.close();
  guardLeaving(null);
  if (example) return examplePage(Number(id));
  const me = session.me!;
  let script: Script | null = id ? await api<Script>(`/v1/scripts/${id}`) : null;
  let draftId: number | "new" = script ? script.id : "new";
  let saved = { title: script?.title ?? "Untitled", code: script?.code ?? STARTER };
  const draft = drafts.get(me.id, draftId);
  const start = draft ?? saved;

  const title = h("input", { id: "title", "aria-label": "Title", value: start.title, maxlength: "200" });
  const editorHost = h("div", { class: "editor", "aria-label": "Code" });
  const run = h("button", { type: "button" }, "Run");
  const stop = h("button", { type: "button", class: "stop", hidden: "" }, "Stop");
  const save = h("button", { type: "button", class: "secondary" }, "Save");
  const state = h("span", { class: "muted", "data-testid": "save-state" });
  const tools = h("div", { class: "row wrap toolbar" }, title, run, stop, save, state);
  const runner = runPanel(run, stop);
  const notice = h("p", { class: "notice", role: "status", hidden: "" });
  const editor: Editor = createEditor(editorHost, start.code, () => (live?.running ? undefined : run.click()));
  let publish: PublishBox | null = null;

  const dirty = () => editor.code() !== saved.code || title.value !== saved.title;
  const edited = () => {
    if (dirty()) drafts.set(me.id, draftId, { title: title.value, code: editor.code() });
    else drafts.clear(me.id, draftId);
    state.textContent = dirty() ? "unsaved edits" : script ? "saved" : "";
  };
  editor.onChange(edited);
  title.addEventListener("input", edited);
  guardLeaving(() => (dirty() ? "You have unsaved edits." : null));
  if (draft && (draft.code !== saved.code || draft.title !== saved.title)) {
    const discard = h("button", { type: "button", class: "link" }, "Discard them");
    notice.replaceChildren("Your unsaved edits are back (not saved yet). ", discard);
    notice.hidden = false;
    discard.addEventListener("click", () => {
      editor.view.dispatch({ changes: { from: 0, to: editor.view.state.doc.length, insert: saved.code } });
      title.value = saved.title;
      edited();
      notice.hidden = true;
    });
  }
  edited();

  /** Save title and code (and the publish box's fields, and ``extra``): one request. */
  const saveNow = async (extra: Record<string, unknown> = {}): Promise<Script> => {
    await sameAccount(); // never into another account signed in meanwhile in another tab
    const body = { title: title.value, code: editor.code(), ...(publish?.fields() ?? {}), ...extra };
    if (script) {
      script = await api<Script>(`/v1/scripts/${script.id}`, "PATCH", body);
    } else {
      script = await api<Script>("/v1/scripts", "POST", body);
      drafts.clear(me.id, "new");
      draftId = script.id;
      history.replaceState(null, "", `#/notebook/${script.id}`);
    }
    saved = { title: script.title, code: body.code };
    view(script.title);
    if (title.value !== script.title) title.value = script.title;
    notice.hidden = true;
    edited();
    showPublish();
    return script;
  };
  const showPublish = () => {
    if (publish || !script || me.role === "student") return;
    publish = publishBox(script, saveNow);
    document.querySelector("main")?.append(publish.root);
  };

  view(script ? script.title : "New script"); // the tab's title and the page's heading
  page(tools, notice, editorHost, runner.timer, runner.output);
  showPublish();
  run.addEventListener("click", () => runner.start({ code: editor.code() }, editor));
  save.addEventListener("click", async () => {
    try {
      await saveNow();
      runner.timer.textContent = "saved";
    } catch (e) {
      runner.timer.textContent = `Not saved: ${(e as Error).message}`;
    }
  });
  // Ctrl+S (Cmd+S on a Mac) anywhere on the page saves, as Save does, instead of the
  // browser's "save page". The listener leaves with the page (the first key after it).
  const saveKey = (event: KeyboardEvent): void => {
    if (!save.isConnected) {
      document.removeEventListener("keydown", saveKey);
      return;
    }
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "s") {
      event.preventDefault();
      if (!event.repeat) save.click();
    }
  };
  document.addEventListener("keydown", saveKey);
}

/** An example: Application (its output) and Source (read-only) tabs, its description,
 * level and author, a copy button. Signed-out visitors see it when the lab allows it. */
async function examplePage(id: number): Promise<void> {
  const script = await loadExample(id);
  const run = h("button", { type: "button" }, "Run");
  const stop = h("button", { type: "button", class: "stop", hidden: "" }, "Stop");
  const runner = runPanel(run, stop);
  const copy = session.me
    ? h("button", { type: "button", class: "secondary" }, "Copy to my scripts")
    : h("a", { href: "#/" }, "Sign in to copy it");
  const all = h("a", { href: "#/examples" }, "All examples");
  copy.addEventListener("click", async () => {
    if (!session.me) return;
    const mine = await api<Script>(`/v1/examples/${script.id}/copy`, "POST");
    go(`/notebook/${mine.id}`);
  });
  const by = [levelLabel(script.level), script.author ? `by ${script.author}` : script.builtin ? "built-in example" : ""];
  const about = h("div", { class: "example-about" },
    h("h2", { class: "example-title", "data-testid": "example-title" }, script.title),
    h("p", { "data-testid": "description" }, script.description || "No description."),
    h("p", { class: "muted", "data-testid": "example-meta" }, by.filter(Boolean).join(" · ")));
  const tools = h("div", { class: "row wrap toolbar" }, run, stop, copy, all);
  if (session.me && session.me.id === script.owner_id) {
    tools.append(h("a", { href: `#/notebook/${script.id}` }, "Edit (your script)"));
  }

  const editorHost = h("div", { class: "editor", "aria-label": "Code (read-only)" });
  const note = h("p", { class: "readonly-note", role: "status" }, "Read-only — copy to edit.");
  const source = h("div", { class: "source", hidden: "" }, note, editorHost);
  createEditor(editorHost, script.code, () => run.click(), true);
  // Typing does nothing in a read-only editor: say why, where the user looks.
  editorHost.addEventListener("keydown", (event) => {
    if (event.key.length === 1 || event.key === "Enter" || event.key === "Backspace" || event.key === "Delete") {
      note.textContent = "Read-only — copy this example to your scripts to edit it.";
      note.classList.add("flash");
    }
  });
  const application = h("div", {}, runner.timer, runner.output);
  const appTab = h("button", { type: "button", role: "tab", "aria-selected": "true" }, "Application");
  const srcTab = h("button", { type: "button", role: "tab", "aria-selected": "false" }, "Source");
  const select = (showSource: boolean) => {
    source.hidden = !showSource;
    application.hidden = showSource;
    appTab.ariaSelected = String(!showSource);
    srcTab.ariaSelected = String(showSource);
  };
  appTab.addEventListener("click", () => select(false));
  srcTab.addEventListener("click", () => select(true));
  view(script.title);
  page(about, tools, h("div", { class: "tabs", role: "tablist" }, appTab, srcTab), application, source);
  run.addEventListener("click", () => runner.start({ example_id: script.id }));
  // Not run on opening: a run acts on the device in the reader's own context (it may set
  // their outputs), so it starts when they ask for it.
  runner.output.replaceChildren(h("p", { class: "muted", "data-testid": "run-hint" },
    "Press Run to start this example. It runs on the lab's device as you: it may change your " +
    "outputs (Home shows them, with “Reset to bench”)."));
}

async function loadExample(id: number): Promise<Script> {
  if (session.me) return api<Script>(`/v1/examples/${id}`);
  // A signed-out visitor (the lab may allow it): a 401 sends them to sign in.
  const response = await fetch(`/v1/examples/${id}`, { credentials: "same-origin" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error ?? response.statusText, body.code);
  return body as Script;
}

interface RunPanel {
  timer: HTMLElement;
  output: HTMLElement;
  start(source: RunSource, editor?: Editor): void;
}

/** Run/Stop, the run timer and the output, for the page's one live connection. */
function runPanel(run: HTMLButtonElement, stop: HTMLButtonElement): RunPanel {
  // A signed-in page checks its session first: an ended one returns to sign in.
  live = new LiveRuns(sameAccount);
  const runs = live;
  const timer = h("p", { class: "muted run-status", "data-testid": "timer", "aria-live": "polite" });
  const output = h("div", { class: "output", "data-testid": "output" });
  stop.addEventListener("click", () => {
    stop.disabled = true;
    timer.textContent = "stopping…";
    runs.cancel();
  });

  const start = (source: RunSource, editor?: Editor): void => {
    if (runs.running) return;
    editor?.clearError();
    // The previous run's output goes at once: what shows is this run's.
    output.replaceChildren(h("p", { class: "muted" }, "Running…"));
    output.dataset.state = "running";
    const widgets: Widget[] = [];
    const started = performance.now();
    let where = "";
    let waiting = "";
    let queue = "";
    let drawn = true;
    const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
    // While the run goes, the instrument's queue (your place in it, when you have calls).
    const poll = session.me ? setInterval(async () => {
      const device = await api("/v1/device").catch(() => null);
      const place = device?.queue?.your_position;
      queue = device?.queue?.length ? ` — instrument queue ${device.queue.length}` + (place ? `, you are #${place}` : "") : "";
    }, 1000) : undefined;
    const tick = setInterval(() => {
      timer.textContent = `running ${seconds()} s${where}${waiting}${queue}`;
      if (!drawn) {
        drawn = true;
        output.replaceChildren(renderWidgets(widgets, visitorCall()).root);
      }
    }, 100);
    run.hidden = true;
    stop.hidden = false;
    stop.disabled = false;
    const done = () => {
      clearInterval(tick);
      clearInterval(poll);
      run.hidden = false;
      stop.hidden = true;
      output.dataset.state = "done";
    };
    void runs.start(source, {
      output(more, _stdout, line) {
        mergeOutput(widgets, more);
        drawn = false;
        where = line ? ` — line ${line}` : "";
        waiting = "";
      },
      waiting(info) {
        waiting = ` — waiting: the device is held by ${info.by ?? "another user"}`;
      },
      result(result: RunResult) {
        done();
        output.replaceChildren(renderWidgets(result.widgets, visitorCall()).root);
        if (result.error) {
          output.append(h("p", { class: "error", role: "alert" }, errorText(result.error, result.status)));
          if (result.error.line && result.status !== "cancelled") editor?.markError(result.error.line);
        }
        const changed = changedMessage(result.changed);
        timer.textContent = `${result.status} in ${result.stats.wall_ms.toFixed(0)} ms` + (changed ? ` — ${changed}` : "");
      },
      failed(message) {
        done();
        output.replaceChildren(h("p", { class: "error", role: "alert" }, message));
        timer.textContent = "";
      },
    });
  };
  return { timer, output, start };
}

/** Buttons of an example call function strings, which need an account. */
function visitorCall() {
  if (session.me) return undefined;
  return async (): Promise<never> => {
    throw new Error("Sign in to use the buttons.");
  };
}
