// Open hand-offs: conversations a person has taken over. What the owner
// writes here is relayed to the customer on their channel.
import { get, post, tenantPath } from "../api.js";
import { h, show, notice, when } from "../dom.js";

export function render({ tenant }, el) {
  const list = h("div.handoffs");
  const load = async () => {
    try {
      const { handoffs } = await get(tenantPath(tenant, "handoffs"));
      show(list, handoffs.length ? handoffs.map(card) : h("p.muted", "No open hand-offs."));
    } catch (err) {
      notice(list, err);
    }
  };
  const card = (o) => {
    const text = h("textarea", { rows: 2, placeholder: "Your reply to the customer", "data-testid": "handoff-reply" });
    const status = h("p.status", { "data-testid": "handoff-status" });
    return h("section.card", { dataset: { conversation: o.conversation } },
      h("h2", o.name || o.conversation, h("span.muted", ` on ${o.channel || "chat"}, since ${when(o.since)}`)),
      o.last_text ? h("blockquote", o.last_text) : null,
      h("p", h("a", { href: `#/t/${tenant}/conversations/${encodeURIComponent(o.conversation)}` }, "Transcript")),
      h("form", {
        onsubmit: async (e) => {
          e.preventDefault();
          if (!text.value.trim()) return;
          try {
            await post(tenantPath(tenant, "handoffs", o.conversation, "reply"), { text: text.value.trim() });
            text.value = "";
            notice(status, null, "Sent to the customer.");
          } catch (err) {
            notice(status, err);
          }
        },
      }, text, h("button.primary", { type: "submit" }, "Send")), status);
  };
  show(el, h("h1", "Hand-offs"), h("button", { onclick: load }, "Refresh"), list);
  load();
}
