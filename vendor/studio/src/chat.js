// A chat pane: writes to `send({conversation, text, button})` -> {replies,
// state, slots} and shows the bot's replies, their buttons, and the state
// and slots after each turn.
import { h, show } from "./dom.js";

function randomId() {
  const a = new Uint8Array(8);
  crypto.getRandomValues(a);
  return `studio-${Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function chatPane(title, send) {
  let conversation = randomId();
  const log = h("div.chat-log", { "data-testid": "chat-log" });
  const state = h("pre.chat-state", { "data-testid": "chat-state" });
  const input = h("input", { type: "text", placeholder: "Write as a customer…", "data-testid": "chat-input" });
  const turn = async (text, button) => {
    log.append(h("div.msg.customer", text));
    try {
      const r = await send({ conversation, text, button });
      for (const reply of r.replies || []) {
        log.append(h("div.msg.bot", { "data-testid": "chat-reply" }, reply.text,
          reply.buttons && reply.buttons.length
            ? h("div.buttons", reply.buttons.map((b) =>
              h("button", { onclick: () => turn(b.title, b.id) }, b.title)))
            : null));
      }
      show(state, `state: ${r.state ?? ""}\nslots: ${JSON.stringify(r.slots || {}, null, 2)}` +
        (r.version ? `\nversion: ${r.version}` : ""));
    } catch (err) {
      log.append(h("div.msg.error", err.message));
    }
    log.scrollTop = log.scrollHeight;
  };
  const form = h("form.chat-input", {
    onsubmit: (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      turn(text);
    },
  }, input, h("button", { type: "submit" }, "Send"));
  const restart = h("button.link", {
    onclick: () => {
      conversation = randomId();
      show(log);
      show(state);
    },
  }, "New conversation");
  return h("section.chat", h("div.toolbar", h("h2", title), restart), log, form, state);
}
