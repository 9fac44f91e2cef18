// Small form helpers: labelled fields and reading a form into an object.
import { h } from "./dom.js";

// field("date", "Day", {type: "date"}) -> <label>Day <input name=date></label>
export function field(name, label, attrs = {}) {
  const input = attrs.options
    ? h("select", { name }, attrs.options.map(([v, t]) => h("option", { value: v }, t)))
    : h("input", { name, type: "text", ...attrs });
  return h("label", `${label} `, input);
}

// the form's named fields, leaving out empty ones
export function values(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (String(v).trim() !== "") out[k] = String(v).trim();
  return out;
}

export function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
