// A tiny element builder: h("button.primary", { onclick }, "Save").
// Children are strings, nodes, arrays or null; text is never parsed as HTML.
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replaces what el shows
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// "2026-12-02 09:30" from seconds or an ISO string
export function when(t) {
  if (t === undefined || t === null || t === "") return "";
  const d = typeof t === "number" ? new Date(t * 1000) : new Date(t);
  if (isNaN(d)) return String(t);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// a booking's start where the business is: its start in its timezone
// (start_local as the record has it when it has no timezone)
const formats = new Map();    // timezone -> Intl.DateTimeFormat (slow to make: one per zone)
export function localStart(b) {
  if (typeof b.start === "number" && b.timezone) {
    try {
      if (!formats.has(b.timezone)) {
        formats.set(b.timezone, new Intl.DateTimeFormat("en-CA", { timeZone: b.timezone, hourCycle: "h23",
          year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }));
      }
      const p = Object.fromEntries(formats.get(b.timezone).formatToParts(new Date(b.start * 1000))
        .map((x) => [x.type, x.value]));
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
    } catch {
      /* an unknown zone: below */
    }
  }
  return typeof b.start_local === "string" ? b.start_local.slice(0, 16).replace("T", " ") : when(b.start);
}

// a status line that shows errors in plain words; ok: a success, note: news
export function notice(el, err, ok, note) {
  show(el, err ? h("span.error", err.message || String(err)) : ok ? h("span.ok", ok) : note ? h("span.note", note) : "");
}

// runs fn after `ms` of quiet: the editor's check while typing
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
