// The draft: what changed against live (the diff shown before publishing),
// a chat with the draft (its own Redis namespace: live data untouched), the
// tenant's specs run on the draft, and publish with a message.
import { get, post, del, tenantPath } from "../api.js";
import { h, show, notice, when } from "../dom.js";
import { renderDiff } from "../diff.js";
import { chatPane } from "../chat.js";
import { checkSummary, specSummary } from "../report.js";

export function render({ tenant, go }, el) {
  const summary = h("div.draft-summary");
  const diff = h("div");
  const results = h("div.results", { "data-testid": "results" });
  const status = h("p.status", { "data-testid": "publish-status" });
  const message = h("input", { type: "text", placeholder: "What changed, for the history", "data-testid": "publish-message" });
  const publish = h("button.primary", { "data-testid": "publish" }, "Publish");
  const specs = h("button", { "data-testid": "run-specs" }, "Run specs");
  const discard = h("button.danger", "Discard draft");
  const chat = chatPane("Chat with the draft",
    (msg) => post(tenantPath(tenant, "draft", "chat"), msg));

  show(el, h("div.split",
    h("section.draft",
      h("h1", "Draft"), summary,
      h("div.toolbar", specs, discard),
      h("h2", "Changes against live"), diff,
      h("h2", "Publish"),
      h("form.publish", { onsubmit: (e) => e.preventDefault() }, message, publish),
      status, results),
    chat));

  const load = async () => {
    try {
      const d = await get(tenantPath(tenant, "draft"));
      show(summary, d.exists
        ? h("p", `${d.files.length} file${d.files.length === 1 ? "" : "s"} changed`,
          d.author ? ` by ${d.author}` : "", d.updated ? `, ${when(d.updated)}` : "")
        : h("p.muted", "No draft: the chat answers as live does. Edit a file to start one."));
      show(diff, renderDiff(d.diff));
      publish.disabled = discard.disabled = !d.exists;
    } catch (err) {
      notice(summary, err);
    }
  };

  specs.addEventListener("click", async () => {
    notice(status, null, null, "Running the specs on the draft…");
    try {
      const r = await post(tenantPath(tenant, "draft", "specs"));
      notice(status);
      show(results, specSummary(r));
    } catch (err) {
      notice(status, err);
    }
  });
  publish.addEventListener("click", async () => {
    if (!message.value.trim()) return notice(status, new Error("Say what changed (the message goes into the history)."));
    notice(status, null, null, "Checking and publishing…");
    try {
      const r = await post(tenantPath(tenant, "publish"), { message: message.value.trim() });
      notice(status, null, `Published version ${r.version}.`);
      show(results);
      message.value = "";
      load();
    } catch (err) {
      notice(status, err.body.error ? new Error(`Not published: ${err.body.error}.`) : err);
      show(results, err.body.check ? checkSummary(err.body.check) : null,
        err.body.specs ? specSummary(err.body.specs) : null);
    }
  });
  discard.addEventListener("click", async () => {
    if (!confirm("Discard every change in the draft?")) return;
    try {
      await del(tenantPath(tenant, "draft"));
      go(`#/t/${tenant}/draft`);
    } catch (err) {
      notice(status, err);
    }
  });
  load();
}
