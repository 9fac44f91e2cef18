// The tenants a session may open (one tenant: the router goes straight in).
import { h, show } from "../dom.js";

export function render({ session }, el) {
  show(el, h("h1", "Tenants"),
    h("ul.tenants", session.tenants.map((t) =>
      h("li", h("a", { href: `#/t/${t}/edit` }, t)))),
    session.tenants.length ? null : h("p.muted", "This token opens no tenant."));
}
