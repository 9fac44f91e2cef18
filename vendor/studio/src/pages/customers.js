// Customers: search, booking history and notes the team keeps on them.
import { get, post, tenantPath, query } from "../api.js";
import { h, show, notice, when, localStart } from "../dom.js";
import { pagedList, searchBox } from "../paging.js";

export function render({ tenant, rest }, el) {
  const id = rest.join("/");
  if (id) return showOne(tenant, id, el);
  let q = "";
  const list = pagedList({
    table: ["Name", "Phone", "Bookings"],
    empty: "No customer matches.",
    fetchPage: async (cursor) => {
      const r = await get(tenantPath(tenant, "customers") + query({ q, cursor }));
      return { items: r.customers, next: r.next };
    },
    row: (c) => h("tr",
      h("td", h("a", { href: `#/t/${tenant}/customers/${encodeURIComponent(c.id)}` }, c.name || c.id)),
      h("td", c.phone || ""), h("td", String(c.bookings ?? ""))),
  });
  show(el, h("h1", "Customers"), searchBox("Search by phone or name", (v) => { q = v; list.reload(); }), list.el);
  list.reload();
}

const bookingLine = (b) => h("li", [b.id, b.service, localStart(b), b.status].filter(Boolean).join(" · "));

async function showOne(tenant, id, el) {
  const notes = h("ul.notes");
  const status = h("p.status");
  const text = h("textarea", { rows: 3, placeholder: "A note for the team", "data-testid": "note" });
  const load = async () => {
    const c = await get(tenantPath(tenant, "customers", id));
    show(el,
      h("p", h("a", { href: `#/t/${tenant}/customers` }, "← Customers")),
      h("h1", c.name || c.id), h("p", c.phone || ""),
      h("h2", "Bookings"),
      (c.bookings || []).length ? h("ul.bookings", c.bookings.map(bookingLine)) : h("p.muted", "No bookings."),
      h("h2", "Notes"), notes,
      h("form", {
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await post(tenantPath(tenant, "customers", id, "notes"), { text: text.value });
            load();
          } catch (err) {
            notice(status, err);
          }
        },
      }, text, h("button", { type: "submit" }, "Add note")), status);
    show(notes, (c.notes || []).map((n) => h("li", n.text, h("span.muted", ` — ${n.author || ""}, ${when(n.time)}`))));
  };
  try {
    await load();
  } catch (err) {
    notice(el, err);
  }
}
