// The code editor: CodeMirror 6 with Python, Ctrl/Cmd+Enter to run, error lines marked.
import { python } from "@codemirror/lang-python";
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, keymap } from "@codemirror/view";
import type { DecorationSet } from "@codemirror/view";
import { basicSetup } from "codemirror";

export interface Editor {
  view: EditorView;
  code(): string;
  markError(line: number): void;
  clearError(): void;
  onChange(listener: (code: string) => void): void;
}

const setError = StateEffect.define<number | null>();
const errorLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    for (const effect of tr.effects) {
      if (effect.is(setError)) {
        if (effect.value === null) return Decoration.none;
        const line = tr.state.doc.line(Math.min(Math.max(1, effect.value), tr.state.doc.lines));
        return Decoration.set([Decoration.line({ class: "cm-error-line" }).range(line.from)]);
      }
    }
    return marks.map(tr.changes);
  },
  provide: (field) => EditorView.decorations.from(field),
});

export function createEditor(
  host: HTMLElement,
  doc: string,
  run: () => void,
  readOnly = false,
): Editor {
  const listeners: ((code: string) => void)[] = [];
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc,
      extensions: [
        keymap.of([{ key: "Mod-Enter", run: () => (run(), true) }]),
        basicSetup,
        python(),
        errorLine,
        EditorState.readOnly.of(readOnly),
        // Long lines wrap: no second sideways scroll on a phone (and none unreachable by keys).
        EditorView.lineWrapping,
        // The editable area is what screen readers and axe see: name it.
        EditorView.contentAttributes.of({ "aria-label": readOnly ? "Python code (read-only)" : "Python code" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) listeners.forEach((l) => l(update.state.doc.toString()));
        }),
      ],
    }),
  });
  return {
    view,
    code: () => view.state.doc.toString(),
    markError: (line) => view.dispatch({ effects: setError.of(line) }),
    clearError: () => view.dispatch({ effects: setError.of(null) }),
    onChange: (listener) => listeners.push(listener),
  };
}
