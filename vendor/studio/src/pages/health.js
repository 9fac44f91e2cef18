// The tenant's health: the running version, the last error, failed turns,
// LLM errors and bookings today.
import { get, tenantPath } from "../api.js";
import { h, show, notice, when } from "../dom.js";

const FIELDS = [["version", "Running version"], ["reloaded_at", "Loaded"], ["last_error", "Last error"],
  ["failed_turns", "Failed turns"], ["llm_errors", "LLM errors"], ["bookings_today", "Bookings today"]];

export async function render({ tenant }, el) {
  show(el, h("h1", "Health"), h("p.muted", "Loading…"));
  try {
    const r = await get(tenantPath(tenant, "health"));
    const value = (k) => {
      const v = r[k];
      if (k === "reloaded_at") return when(v);
      if (v && typeof v === "object") return JSON.stringify(v);
      return v === null || v === undefined || v === "" ? "—" : String(v);
    };
    show(el, h("h1", "Health"), h("dl.health", { "data-testid": "health" },
      FIELDS.map(([k, label]) => [h("dt", label), h("dd", { dataset: { field: k } }, value(k))])));
  } catch (err) {
    notice(el, err);
  }
}
