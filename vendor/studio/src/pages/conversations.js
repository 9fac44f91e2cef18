// Conversations: search by phone, name or id, a page at a time; one opened
// shows its transcript (hand-off markers where a person took over), its
// state and slots.
import { get, tenantPath, query } from "../api.js";
import { h, show, notice, when } from "../dom.js";
import { pagedList, searchBox } from "../paging.js";

export function render({ tenant, rest }, el) {
  const id = rest.join("/");
  if (id) return showOne(tenant, id, el);
  let q = "";
  const list = pagedList({
    table: ["Name", "Phone", "Channel", "State", "Updated"],
    empty: "No conversation matches.",
    fetchPage: async (cursor) => {
      const r = await get(tenantPath(tenant, "conversations") + query({ q, cursor }));
      return { items: r.conversations, next: r.next };
    },
    row: (c) => h("tr",
      h("td", h("a", { href: `#/t/${tenant}/conversations/${encodeURIComponent(c.id)}` }, c.name || c.id)),
      h("td", c.phone || ""), h("td", c.channel || ""), h("td", c.state || ""), h("td", when(c.updated))),
  });
  show(el, h("h1", "Conversations"),
    searchBox("Search by phone, name or conversation id", (v) => { q = v; list.reload(); }),
    list.el);
  list.reload();
}

async function showOne(tenant, id, el) {
  show(el, h("p.muted", "Loading…"));
  try {
    const c = await get(tenantPath(tenant, "conversations", id));
    show(el,
      h("p", h("a", { href: `#/t/${tenant}/conversations` }, "← Conversations")),
      h("h1", `Conversation ${c.id}`),
      h("div.split",
        h("section.transcript", { "data-testid": "transcript" }, (c.transcript || []).map((m) =>
          h(`div.msg.${m.from || "system"}${m.handoff ? ".handoff" : ""}`,
            h("span.who", m.handoff ? `${m.from} (hand-off)` : m.from),
            h("span.when", when(m.time)),
            h("div", m.text)))),
        h("aside",
          h("h2", "State"), h("p", h("code", c.state || "")),
          h("h2", "Slots"), h("pre", JSON.stringify(c.slots || {}, null, 2)))));
  } catch (err) {
    notice(el, err);
  }
}
