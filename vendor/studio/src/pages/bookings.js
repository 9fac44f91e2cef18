// Bookings of one day, a page at a time: create, cancel, reschedule.
import { post, get, tenantPath, query } from "../api.js";
import { h, show, notice, localStart } from "../dom.js";
import { pagedList } from "../paging.js";
import { field, values, today } from "../form.js";

export function render({ tenant, rest, go }, el) {
  const day = rest[0] || today();
  const status = h("p.status", { "data-testid": "bookings-status" });
  const act = async (fn, done) => {
    try {
      await fn();
      notice(status, null, done);
      list.reload();
    } catch (err) {
      notice(status, err);
    }
  };
  const list = pagedList({
    table: ["When", "Customer", "Service", "Who", "Status", ""],
    empty: "No bookings on this day.",
    fetchPage: async (cursor) => {
      const r = await get(tenantPath(tenant, "bookings") + query({ day, cursor }));
      return { items: r.bookings, next: r.next };
    },
    row: (b) => {
      // the new time's input is made when asked for (50 rows stay light)
      const move = () => {
        const start = h("input", { type: "datetime-local", "aria-label": "new time", value: `${day}T10:00` });
        cell.replaceChildren(start, h("button", {
          onclick: () => act(() => post(tenantPath(tenant, "bookings", b.id, "reschedule"), { start: start.value }),
            `Moved ${b.id}.`),
        }, "Move"));
      };
      const cell = h("td.actions",
        h("button", { onclick: () => act(() => post(tenantPath(tenant, "bookings", b.id, "cancel")), `Cancelled ${b.id}.`) }, "Cancel"),
        h("button", { onclick: move }, "Reschedule"));
      return h("tr", { dataset: { booking: b.id } },
        h("td", localStart(b)), h("td", [b.customer?.name, b.customer?.phone].filter(Boolean).join(" ")),
        h("td", b.service || ""), h("td", b.resource || ""), h("td", b.status || ""), cell);
    },
  });
  const form = h("form.inline", {
    onsubmit: (e) => {
      e.preventDefault();
      const { name, phone, ...booking } = values(form);
      act(() => post(tenantPath(tenant, "bookings"), { ...booking, customer: { name, phone } }), "Booked.");
    },
  },
  field("start", "When", { type: "datetime-local", value: `${day}T10:00`, required: true }),
  field("service", "Service", { required: true, placeholder: "service id" }),
  field("resource", "Who or which bay", { placeholder: "any" }),
  field("name", "Name"), field("phone", "Phone"),
  h("button.primary", { type: "submit" }, "Book"));
  const picker = h("input", { type: "date", value: day, "data-testid": "day",
    onchange: (e) => go(`#/t/${tenant}/bookings/${e.target.value}`) });
  show(el, h("h1", "Bookings"), h("label", "Day ", picker), h("details.new-booking", h("summary", "New booking"), form),
    status, list.el);
  list.reload();
}
