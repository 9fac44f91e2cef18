// A diff as the API gives it: [{path, lines: [{op: " " | "+" | "-", text}]}].
import { h } from "./dom.js";

const CLASS = { "+": "add", "-": "del", " ": "same" };

export function renderDiff(files) {
  if (!files || !files.length) return h("p.muted", "No differences.");
  return h("div.diff", { "data-testid": "diff" }, files.map((f) =>
    h("section",
      h("h3", f.path),
      h("pre", (f.lines || []).map((l) =>
        h(`div.${CLASS[l.op] || "same"}`, `${l.op || " "} ${l.text}`))))));
}
