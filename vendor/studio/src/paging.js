// A list read a page at a time: fetchPage(cursor) -> {items, next}; "More"
// asks for the next page while there is one. Returns {el, reload}.
import { h, show, notice } from "./dom.js";

export function pagedList({ fetchPage, row, empty, table }) {
  const body = table ? h("tbody") : h("ul.rows");
  const list = table ? h("table.rows", h("thead", h("tr", table.map((c) => h("th", c)))), body) : body;
  const status = h("p.status");
  const more = h("button", { "data-testid": "more" }, "More");
  let next = null;
  let generation = 0;

  const load = async (cursor) => {
    const mine = generation;
    more.disabled = true;
    try {
      const { items, next: n } = await fetchPage(cursor);
      if (mine !== generation) return;            // a newer search answered first
      performance.mark("studio:page-answered");
      for (const item of items) body.append(row(item));
      performance.mark("studio:page-drawn");     // (the browser tests read both)
      next = n || null;
      notice(status, null, null, body.children.length ? "" : empty || "Nothing here.");
    } catch (err) {
      notice(status, err);
    }
    more.hidden = !next;
    more.disabled = false;
  };
  more.addEventListener("click", () => load(next));
  const reload = () => {
    generation += 1;
    show(body);
    next = null;
    return load(null);
  };
  return { el: h("div.paged", list, status, more), reload };
}

// a search box that calls onSearch(q) after the user stops typing
export function searchBox(placeholder, onSearch) {
  let timer = null;
  return h("input.search", {
    type: "search",
    placeholder,
    "data-testid": "search",
    oninput: (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => onSearch(e.target.value.trim()), 250);
    },
  });
}
