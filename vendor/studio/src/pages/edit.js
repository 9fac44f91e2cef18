// Files: the tenant's editable files, one open in the code editor. The text
// is checked as it is typed (inline errors) and saved to the draft; the
// live version changes only when the draft is published.
import { get, post, put, tenantPath, filePath } from "../api.js";
import { h, show, notice } from "../dom.js";
import { checkSummary } from "../report.js";

// the code editor (CodeMirror, assets/code.js beside the app's bundle) is
// loaded by this page only; a name in a variable keeps it out of the app's bundle
const CODE = "./code.js";
const codeEditor = () => import(CODE);

export function render({ tenant, rest, go }, el) {
  const list = h("ul.files");
  const pane = h("section.editor-pane", h("p.muted", "Pick a file to edit."));
  show(el, h("div.split", h("aside", h("h2", "Files"), list), pane));
  let view = null;
  const path = rest.join("/");

  get(tenantPath(tenant, "files")).then(({ files }) => {
    show(list, files.map((f) => h(f.path === path ? "li.current" : "li",
      h("a", { href: `#/t/${tenant}/edit/${f.path}` }, f.path),
      h("span.kind", f.kind), f.draft ? h("span.badge", "draft") : null)));
    if (!path && files.length) go(`#/t/${tenant}/edit/${files[0].path}`);
  }).catch((err) => notice(list, err));

  if (path) {
    Promise.all([get(filePath(tenant, path, "files")), codeEditor()]).then(([file, { createEditor, editorText }]) => {
      const status = h("p.status", { "data-testid": "save-status" });
      const report = h("div.report", { "data-testid": "check-report" });
      const host = h("div.code", { "data-testid": "code" });
      const save = h("button.primary", { "data-testid": "save" }, "Save to draft");
      show(pane, h("div.toolbar", h("h2", path), file.draft ? h("span.badge", "draft") : null, save,
        h("a", { href: `#/t/${tenant}/draft` }, "Review the draft →")), host, report, status);
      view = createEditor({
        parent: host,
        text: file.text,
        path,
        check: (text) => post(tenantPath(tenant, "check"), { path, text }),
        onReport: (r) => show(report, checkSummary(r, path)),
        onChange: () => notice(status, null, null, "Not saved"),
      });
      save.addEventListener("click", async () => {
        notice(status, null, null, "Saving…");
        try {
          const r = await put(filePath(tenant, path, "draft", "files"), { text: editorText(view) });
          show(report, checkSummary(r.check, path));
          notice(status, null, r.check && !r.check.ok
            ? "Saved to the draft, with errors: fix them before publishing." : "Saved to the draft.");
        } catch (err) {
          notice(status, err);
        }
      });
    }).catch((err) => notice(pane, err));
  }
  return () => view && view.destroy();
}
