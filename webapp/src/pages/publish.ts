// The teacher's publish box under a saved script: description, level, author, and the
// switch that publishes — saving the editor's text in the same request, so unsaved edits
// are never left out — with a confirmation.
import { api } from "../api";
import type { Script } from "../api";
import { h, sameAccount, session } from "../shell";

export const LEVELS = ["beginner", "intermediate", "advanced"];

export interface PublishBox {
  root: HTMLElement;
  /** The example fields as the form has them, for a save. */
  fields(): { description: string; level: string; author?: string };
}

/** ``save(extra)`` saves the editor (title and code) with ``extra`` and answers the script. */
export function publishBox(script: Script, save: (extra: Record<string, unknown>) => Promise<Script>): PublishBox {
  const description = h("textarea", { id: "description", rows: "3", maxlength: "4000" });
  description.value = script.description ?? "";
  const level = h("select", { id: "level" }, h("option", { value: "" }, "no level"),
    ...LEVELS.map((l) => h("option", { value: l }, l)));
  level.value = script.level ?? "";
  const author = h("input", { id: "author", maxlength: "120", autocomplete: "name" });
  if (session.me?.name) author.placeholder = session.me.name; // what a blank one publishes
  author.value = script.author ?? "";
  const box = h("input", { type: "checkbox", id: "publish" });
  box.checked = script.published;
  const status = h("p", { role: "status", "data-testid": "publish-status", class: "muted" });
  // A blank author is left out: publishing then names the teacher (the placeholder).
  const fields = () => ({ description: description.value, level: level.value, author: author.value.trim() || undefined });

  // The example's fields save themselves when one is changed (on leaving the field), alone:
  // never lost on leaving the page, and the editor's unsaved code is not saved with them.
  const saveFieldsNow = async () => {
    status.className = "muted";
    status.textContent = "Saving…";
    try {
      await sameAccount();
      // The answer does not write back into the form: the teacher may be typing meanwhile.
      await api<Script>(`/v1/scripts/${script.id}`, "PATCH", fields());
      status.textContent = "Description, level and author saved.";
    } catch (e) {
      status.className = "error";
      status.textContent = `Not saved: ${(e as Error).message}`;
    }
  };
  // One save at a time, in order: a later change is never overtaken by an earlier one, and
  // (publishing included) its message is the last one shown.
  let saving: Promise<void> = Promise.resolve();
  const saveFields = () => (saving = saving.then(saveFieldsNow));
  for (const field of [description, level, author]) field.addEventListener("change", saveFields);

  const publishNow = async (publishing: boolean) => {
    status.className = "muted";
    status.textContent = publishing ? "Publishing…" : "Unpublishing…";
    try {
      const saved = await save(publishing ? { ...fields(), published: true } : { published: false });
      author.value = saved.author ?? "";
      status.textContent = publishing
        ? `Published: students now see “${saved.title}” among the examples.`
        : `No longer published: students no longer see “${saved.title}”.`;
    } catch (e) {
      box.checked = !publishing;
      status.className = "error";
      status.textContent = `Not ${publishing ? "published" : "unpublished"}: ${(e as Error).message}`;
    } finally {
      box.disabled = false;
    }
  };
  box.addEventListener("change", () => {
    const publishing = box.checked;
    box.disabled = true;
    status.className = "muted";
    status.textContent = publishing ? "Publishing…" : "Unpublishing…";
    saving = saving.then(() => publishNow(publishing));
  });

  const root = h("section", { class: "card publish", "aria-label": "Publish" },
    h("h2", {}, "Publish as an example"),
    h("p", { class: "muted" }, "Students can run, read and copy a published example. Say what it shows."),
    h("label", { for: "description" }, "Description", description),
    h("div", { class: "row wrap" },
      h("label", { for: "level" }, "Level", level),
      h("label", { for: "author" }, "Author (shown to students)", author)),
    h("label", { class: "row", for: "publish" }, box, "Published as an example"),
    status);
  return { root, fields };
}

/** "Beginner", "Intermediate"... for an example's level. */
export function levelLabel(level: string | null): string {
  return level ? level[0].toUpperCase() + level.slice(1) : "";
}
