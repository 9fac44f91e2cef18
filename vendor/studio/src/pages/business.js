// Business data as a form: the plain values (phone, currency, booking
// rules), services and their prices, opening hours and the FAQ of the
// tenant's business file. Saving writes the business file into the draft,
// changing only the values edited (comments and layout stay).
import { get, put, tenantPath, filePath } from "../api.js";
import { h, show, notice } from "../dom.js";
import { parse, field, list, literal, quote, edit, indentAt } from "../luatable.js";
import { checkSummary } from "../report.js";

const SERVICE_FIELDS = [["id", "Id"], ["title", "Name"], ["price", "Price"], ["minutes", "Minutes"]];
const DAYS = ["every_day", "weekdays", "weekend", "mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function render({ tenant }, el) {
  show(el, h("h1", "Business"), h("p.muted", "Loading…"));
  try {
    const { files } = await get(tenantPath(tenant, "files"));
    const file = files.find((f) => f.kind === "business");
    if (!file) return show(el, h("h1", "Business"), h("p.muted", "This tenant has no business file."));
    const { text } = await get(filePath(tenant, file.path, "files"));
    form(tenant, file.path, text, el);
  } catch (err) {
    notice(el, err);
  }
}

// an input bound to a literal in the file: its edit, if the value changed
function bound(node, attrs = {}) {
  const input = h("input", { type: node.kind === "number" ? "number" : "text", value: String(node.value), step: "any", ...attrs });
  input.change = () => (input.value === String(node.value) ? null
    : { from: node.from, to: node.to, text: literal(node.kind, input.value) });
  return input;
}

function form(tenant, path, text, el) {
  let root;
  try {
    root = parse(text);
  } catch (err) {
    return show(el, h("h1", "Business"), h("p.error", `${path} is not plain data the form can read (${err.message}). `,
      h("a", { href: `#/t/${tenant}/edit/${path}` }, "Edit it as a file.")));
  }
  const inputs = [];          // bound inputs: each may give an edit
  const additions = [];       // functions giving an insertion or null
  const bind = (node, attrs) => {
    const i = bound(node, attrs);
    inputs.push(i);
    return i;
  };

  // plain values at the top of the file
  const plain = root.items.filter((i) => typeof i.key === "string" && ["string", "number"].includes(i.value.kind));
  const general = h("fieldset", h("legend", "General"),
    plain.map((i) => h("label", `${i.key} `, bind(i.value, { name: i.key }))));

  // services: existing rows bound, plus one empty row to add a service
  const services = field(root, "services");
  const serviceRows = list(services).map((s) => h("tr", { dataset: { service: field(s, "id")?.value } },
    SERVICE_FIELDS.map(([k]) => h("td", field(s, k) && ["string", "number"].includes(field(s, k).kind)
      ? bind(field(s, k), { name: `service.${k}` }) : ""))));
  const fresh = Object.fromEntries(SERVICE_FIELDS.map(([k]) => [k, h("input", { placeholder: k, name: `new.${k}` })]));
  if (services && services.kind === "table") {
    additions.push(() => {
      if (!fresh.id.value.trim()) return null;
      const price = Number(fresh.price.value), minutes = Number(fresh.minutes.value);
      if (!Number.isFinite(price) || !Number.isFinite(minutes) || !fresh.minutes.value) {
        throw new Error("A new service needs a price and minutes (numbers).");
      }
      const last = list(services).at(-1);
      const indent = last ? indentAt(text, last.from) : "    ";
      const entry = `{ id = ${quote(fresh.id.value.trim())}, title = ${quote(fresh.title.value.trim() || fresh.id.value.trim())}, price = ${price}, minutes = ${minutes} },`;
      return last
        ? { from: last.to, to: text[last.to] === "," ? last.to + 1 : last.to, text: `,\n${indent}${entry}` }
        : { from: services.close, to: services.close, text: `\n${indent}${entry}\n  ` };
    });
  }
  const servicesSet = services ? h("fieldset", h("legend", "Services and prices"),
    h("table.rows", h("thead", h("tr", SERVICE_FIELDS.map(([, t]) => h("th", t)))),
      h("tbody", serviceRows, h("tr.new", SERVICE_FIELDS.map(([k]) => h("td", fresh[k])))))) : null;

  // opening hours: one line per day key the file has, plus a day to add
  const hours = field(root, "hours");
  const hourRows = hours && hours.kind === "table" ? hours.items.filter((i) => i.value.kind === "string")
    .map((i) => h("label", `${i.key} `, bind(i.value, { name: `hours.${i.key}` }))) : [];
  const newDay = h("select", { name: "hours.new.day" }, h("option", { value: "" }, "add a day…"),
    DAYS.filter((d) => !field(hours, d)).map((d) => h("option", { value: d }, d)));
  const newHours = h("input", { placeholder: "9am-6pm or closed", name: "hours.new" });
  if (hours && hours.kind === "table") {
    additions.push(() => (newDay.value && newHours.value.trim()
      ? { from: hours.close, to: hours.close, text: `  ${newDay.value} = ${quote(newHours.value.trim())},\n  ` } : null));
  }
  const hoursSet = hours ? h("fieldset", h("legend", "Opening hours"), hourRows,
    h("div.new", newDay, newHours)) : null;

  // FAQ: the questions that lead to each answer, comma separated
  const faq = field(root, "faq");
  const faqRows = list(faq).map((q) => {
    const asks = field(q, "asks");
    const answer = field(q, "answer");
    if (!asks || asks.kind !== "table") return null;
    const words = list(asks).map((a) => a.value);
    const input = h("textarea", { rows: 2, name: `faq.${answer?.value}` }, words.join(", "));
    input.change = () => {
      const now = input.value.split(",").map((s) => s.trim()).filter(Boolean);
      return now.join(",") === words.join(",") ? null
        : { from: asks.from, to: asks.to, text: `{ ${now.map(quote).join(", ")} }` };
    };
    inputs.push(input);
    return h("label", `${answer ? answer.value : "answer"} (in the messages file) is given when a customer asks: `, input);
  });
  const faqSet = faq ? h("fieldset", h("legend", "Questions customers ask"), faqRows) : null;

  const status = h("p.status", { "data-testid": "business-status" });
  const report = h("div.report");
  const save = h("button.primary", { type: "submit" }, "Save to draft");
  const formEl = h("form.business", {
    onsubmit: async (e) => {
      e.preventDefault();
      let next;
      try {
        const edits = inputs.map((i) => i.change()).filter(Boolean);
        for (const add of additions) {
          const a = add();
          if (a) edits.push(a);
        }
        if (!edits.length) return notice(status, null, "Nothing changed.");
        next = edit(text, edits);
        parse(next);                              // the form never writes what it cannot read back
      } catch (err) {
        return notice(status, err);
      }
      notice(status, null, null, "Saving…");
      try {
        const r = await put(filePath(tenant, path, "draft", "files"), { text: next });
        show(report, checkSummary(r.check));
        form(tenant, path, next, el);
        notice(el.querySelector("[data-testid=business-status]"), null,
          r.check && !r.check.ok ? "Saved to the draft, with errors." : "Saved to the draft.");
      } catch (err) {
        notice(status, err);
      }
    },
  }, general, servicesSet, hoursSet, faqSet, save, status, report);
  show(el, h("h1", "Business"),
    h("p.muted", `These are the values in ${path}; `, h("a", { href: `#/t/${tenant}/edit/${path}` }, "edit the file"),
      " for anything else."), formEl);
}
