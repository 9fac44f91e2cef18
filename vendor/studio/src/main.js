// The studio's shell: the session, the tenant's navigation and a hash router
// (#/t/<tenant>/<page>/<rest>). Each page is a module with
// render(ctx, el) -> optional cleanup; ctx = {tenant, rest, go}.
import { get, del, setCsrf, ApiError } from "./api.js";
import { h, show } from "./dom.js";
import * as signin from "./pages/signin.js";
import * as tenants from "./pages/tenants.js";
import * as edit from "./pages/edit.js";
import * as business from "./pages/business.js";
import * as draft from "./pages/draft.js";
import * as history from "./pages/history.js";
import * as conversations from "./pages/conversations.js";
import * as customers from "./pages/customers.js";
import * as availability from "./pages/availability.js";
import * as bookings from "./pages/bookings.js";
import * as handoffs from "./pages/handoffs.js";
import * as health from "./pages/health.js";

// the tenant's pages, in the order the navigation shows them; a rep's
// sign-in has the first ones (their file, its draft and history, their
// conversations), the rest are the tenant's
const REP_PAGES = new Set(["edit", "draft", "history", "conversations"]);
const PAGES = [
  ["edit", "Files", edit],
  ["business", "Business", business],
  ["draft", "Draft", draft],
  ["history", "History", history],
  ["conversations", "Conversations", conversations],
  ["customers", "Customers", customers],
  ["availability", "Availability", availability],
  ["bookings", "Bookings", bookings],
  ["handoffs", "Hand-offs", handoffs],
  ["health", "Health", health],
];

const app = document.getElementById("app");
let session = null;
let cleanup = null;

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function signedIn(s) {
  session = s;
  setCsrf(s.csrf);
  go(s.tenants.length === 1 ? `#/t/${s.tenants[0]}/edit` : "#/tenants");
}

async function signOut() {
  try {
    await del("session");
  } catch {
    /* signed out either way */
  }
  session = null;
  setCsrf(null);
  go("#/signin");
}

// the session: known already, or asked for (once) while the page loads
function sessionKnown() {
  if (session) return Promise.resolve(session);
  return get("session").then((s) => {
    session = s;
    setCsrf(s.csrf);
    return s;
  });
}

function header(tenant, current, known) {
  const user = h("span.user");
  const nav = tenant ? h("nav", PAGES.map(([id, label]) =>
    h(id === current ? "a.current" : "a", { href: `#/t/${tenant}/${id}`, dataset: { page: id } }, label))) : null;
  known.then((s) => {
    show(user, s.rep ? `${s.user} (rep ${s.rep})` : s.user);
    if (s.rep && nav) for (const a of [...nav.children]) if (!REP_PAGES.has(a.dataset.page)) a.remove();
  }, () => {});
  return h("header.top",
    h("a.brand", { href: "#/tenants" }, "flowhost studio"),
    tenant ? h("span.tenant", { "data-testid": "tenant" }, tenant) : null,
    nav,
    user,
    h("button.link", { onclick: signOut }, "Sign out"));
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "signin") {
    return show(app, h("main.narrow", signin.render({ signedIn })));
  }
  // the page asks for its data while the session is asked for: one round
  // trip less; without a session the page is left for the sign-in
  const known = sessionKnown();
  known.catch((err) => {
    if (!(err instanceof ApiError) || err.status !== 401) console.error(err);
    go("#/signin");
  });
  if (parts[0] !== "t" || !parts[1]) {
    const main = h("main");
    show(app, header(null, null, known), main);
    return known.then((s) => tenants.render({ session: s, go }, main), () => {});
  }
  const tenant = parts[1];
  const page = PAGES.find(([id]) => id === parts[2]) || PAGES[0];
  const main = h("main", { "data-page": page[0] });
  show(app, header(tenant, page[0], known), main);
  known.then((s) => {
    if (!s.tenants.includes(tenant)) {
      show(main, h("p.error", `The studio has no tenant "${tenant}" for you. `,
        h("a", { href: "#/tenants" }, "Pick one of yours.")));
    }
  }, () => {});
  const ctx = { tenant, rest: parts.slice(3), go };
  const done = page[2].render(ctx, main);
  cleanup = typeof done === "function" ? done : null;    // async pages keep nothing to clean up
}

window.addEventListener("hashchange", route);
route();
