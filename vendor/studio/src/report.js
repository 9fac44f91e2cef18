// How a check report ({ok, errors, warnings}) and a spec run are shown.
import { h } from "./dom.js";

const line = (e) => h("li", e.file ? `${e.file}${e.line ? `:${e.line}` : ""}: ` : "", e.message);

// the report as a list; `path`: the open file (its errors are also inline)
export function checkSummary(r, path) {
  if (!r) return null;
  const errors = r.errors || [];
  const warnings = r.warnings || [];
  return h("div",
    h(errors.length ? "p.error" : "p.ok", errors.length
      ? `${errors.length} error${errors.length > 1 ? "s" : ""}${path ? " (marked in the editor where they are in this file)" : ""}`
      : "Checks pass."),
    errors.length ? h("ul.errors", errors.map(line)) : null,
    warnings.length ? h("ul.warnings", warnings.map(line)) : null);
}

export function specSummary(r) {
  return h("div.specs",
    h(r.failed ? "p.error" : "p.ok", `specs: ${r.passed} passed, ${r.failed} failed`),
    r.output ? h("pre.output", r.output) : null);
}
