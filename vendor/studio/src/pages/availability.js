// Availability the owner changes without editing files: a day off for one
// person or bay, a closure, extra hours. Takes effect at once; each change
// shows in the history.
import { get, post, del, tenantPath } from "../api.js";
import { h, show, notice, when } from "../dom.js";
import { field, values, today } from "../form.js";

const KINDS = [["closed", "Closed (the whole business)"], ["day_off", "Day off (one person or bay)"],
  ["extra_hours", "Extra hours"]];

export function render({ tenant }, el) {
  const rows = h("tbody");
  const changes = h("ul.changes", { "data-testid": "availability-history" });
  const status = h("p.status", { "data-testid": "availability-status" });
  const load = async () => {
    try {
      const { overrides, history } = await get(tenantPath(tenant, "availability"));
      show(changes, (history || []).map((c) => h("li", `${when(c.time)} ${c.author || ""} ${c.action || ""} `,
        [c.kind, c.date, c.resource, c.from && `${c.from}–${c.to || ""}`, c.note].filter(Boolean).join(" · "))));
      show(rows, overrides.map((o) => h("tr",
        h("td", o.date), h("td", o.kind), h("td", o.resource || ""),
        h("td", o.from || o.to ? `${o.from || ""}–${o.to || ""}` : ""), h("td", o.note || ""),
        h("td.muted", `${o.author || ""} ${when(o.time)}`),
        h("td", h("button", { onclick: () => remove(o) }, "Remove")))));
      if (!overrides.length) show(rows, h("tr", h("td.muted", { colspan: 7 }, "No changes: the hours in business.lua apply.")));
    } catch (err) {
      notice(status, err);
    }
  };
  const remove = async (o) => {
    try {
      await del(tenantPath(tenant, "availability", o.id));
      load();
    } catch (err) {
      notice(status, err);
    }
  };
  const form = h("form.inline", {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await post(tenantPath(tenant, "availability"), values(form));
        notice(status, null, "Saved: it applies now.");
        load();
      } catch (err) {
        notice(status, err);
      }
    },
  },
  field("kind", "Kind", { options: KINDS }),
  field("date", "Day", { type: "date", value: today(), required: true }),
  field("resource", "Who or which bay", { placeholder: "e.g. ana (day off)" }),
  field("from", "From", { type: "time" }),
  field("to", "To", { type: "time" }),
  field("note", "Note"),
  h("button.primary", { type: "submit" }, "Add"));
  show(el, h("h1", "Availability"), form, status,
    h("table.rows", h("thead", h("tr", ["Day", "Kind", "Who", "Hours", "Note", "By", ""].map((c) => h("th", c)))), rows),
    h("h2", "Changes"), changes);
  load();
}
