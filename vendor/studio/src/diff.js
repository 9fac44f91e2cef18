// A diff as the API gives it: [{path, lines: [{op: " " | "+" | "-", text}]}].
// Unchanged lines further than CONTEXT from a change fold into one line.
import { h } from "./dom.js";

const CLASS = { "+": "add", "-": "del", " ": "same" };
const CONTEXT = 3;

// the lines to show: changes, their context, and folds {fold: n}
export function fold(lines) {
  const near = new Array(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === "+" || l.op === "-") {
      for (let j = Math.max(0, i - CONTEXT); j <= Math.min(lines.length - 1, i + CONTEXT); j++) near[j] = true;
    }
  });
  const out = [];
  let hidden = 0;
  lines.forEach((l, i) => {
    if (near[i]) {
      if (hidden) out.push({ fold: hidden });
      hidden = 0;
      out.push(l);
    } else hidden++;
  });
  if (hidden) out.push({ fold: hidden });
  return out;
}

export function renderDiff(files) {
  if (!files || !files.length) return h("p.muted", "No differences.");
  return h("div.diff", { "data-testid": "diff" }, files.map((f) =>
    h("section",
      h("h3", f.path),
      h("pre", fold(f.lines || []).map((l) => (l.fold
        ? h("div.fold", `… ${l.fold} unchanged line${l.fold === 1 ? "" : "s"}`)
        : h(`div.${CLASS[l.op] || "same"}`, `${l.op || " "} ${l.text}`)))))));
}
