// History: every published version (author, time, message), its diff
// against live, and rollback (files on disk and the running version).
import { get, post, tenantPath, query } from "../api.js";
import { h, show, notice, when } from "../dom.js";
import { renderDiff } from "../diff.js";
import { pagedList } from "../paging.js";

const PAGE = 50;

export function render({ tenant }, el) {
  const status = h("p.status", { "data-testid": "history-status" });
  const detail = h("section.detail");
  const versions = pagedList({
    table: ["Version", "Time", "Author", "Message", ""],
    fetchPage: async (before) => {
      const r = await get(tenantPath(tenant, "versions") + query({ limit: PAGE, before }));
      const items = r.versions;
      return { items, next: items.length === PAGE ? items[items.length - 1].id : null };
    },
    row: (v) => h("tr", { dataset: { version: v.id } },
      h("td", h("code", v.id), v.live ? h("span.badge.live", "live") : null),
      h("td", when(v.time)),
      h("td", v.author || ""),
      h("td", v.message || "", v.source ? h("span.muted", ` (${v.source})`) : null),
      h("td.actions",
        h("button", { onclick: () => showDiff(v) }, "Diff"),
        v.live ? null : h("button", { "data-testid": "rollback", onclick: () => rollback(v) }, "Roll back to this"))),
  });

  const showDiff = async (v) => {
    show(detail, h("h2", `Version ${v.id} against live`), h("p.muted", "Loading…"));
    try {
      const d = await get(tenantPath(tenant, "versions", v.id, "diff") + query({ against: "live" }));
      show(detail, h("h2", `Version ${v.id} against live`), renderDiff(d.diff));
    } catch (err) {
      notice(detail, err);
    }
  };
  const rollback = async (v) => {
    if (!confirm(`Roll back to version ${v.id}? Its files replace the live ones on every host.`)) return;
    notice(status, null, null, "Rolling back…");
    try {
      const r = await post(tenantPath(tenant, "rollback"), { version: v.id });
      notice(status, null, `Rolled back: version ${r.version} is live.`);
      versions.reload();
    } catch (err) {
      notice(status, err);
    }
  };

  show(el, h("h1", "History"), status, versions.el, detail);
  versions.reload();
}
