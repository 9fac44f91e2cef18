// The code editor: CodeMirror 6 with Lua highlighting and inline errors.
// As the editor types, the text is checked (after a short pause) by
// `check(text)`, which answers {errors, warnings} as POST check does; each
// one of this file is shown at its line, the others through onReport.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from "@codemirror/language";
import { lua } from "@codemirror/legacy-modes/mode/lua";
import { linter, lintGutter } from "@codemirror/lint";

const CHECK_PAUSE_MS = 400;

// diagnostics for CodeMirror from the check's report, for the file `path`
function diagnostics(doc, path, report) {
  const out = [];
  const add = (list, severity) => {
    for (const e of list || []) {
      if (e.file && path && !sameFile(e.file, path)) continue;
      const n = Math.min(Math.max(Number(e.line) || 1, 1), doc.lines);
      const line = doc.line(n);
      out.push({ from: line.from, to: line.to, severity, message: e.message });
    }
  };
  add(report.errors, "error");
  add(report.warnings, "warning");
  return out;
}

// "flows/carwash/messages.lua" and "messages.lua" name the same file
export function sameFile(a, b) {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}

// opts: {parent, text, path, check(text) -> Promise<report>, onReport(report), onChange(text)}
export function createEditor(opts) {
  const checker = linter(async (view) => {
    const text = view.state.doc.toString();
    let report;
    try {
      report = await opts.check(text);
    } catch (err) {
      report = { ok: false, errors: [{ line: 1, message: `could not check: ${err.message}` }] };
    }
    if (view.state.doc.toString() !== text) return [];   // typed on meanwhile: the next check answers
    if (opts.onReport) opts.onReport(report);
    return diagnostics(view.state.doc, opts.path, report);
  }, { delay: CHECK_PAUSE_MS });

  const view = new EditorView({
    parent: opts.parent,
    state: EditorState.create({
      doc: opts.text,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        StreamLanguage.define(lua),
        syntaxHighlighting(defaultHighlightStyle),
        lintGutter(),
        checker,
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && opts.onChange) opts.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });
  return view;
}

export function editorText(view) {
  return view.state.doc.toString();
}
