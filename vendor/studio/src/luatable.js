// Reads a data file such as business.lua (`return { ... }`: tables,
// strings, numbers, booleans) into a tree that remembers where each value
// is in the text, so a form can change one value and keep every comment
// and the layout. Anything that is not plain data (a call, an operator) is
// kept as {kind: "code"} and left alone.
//
// parse(text) -> root table node, or throws Error("line N: ...")
// node: {kind: "table", from, to, close, items: [{key, value}]} (key: a
//       string, or a number for list items), {kind: "string" | "number" |
//       "boolean" | "nil" | "code", value, from, to}
// edit(text, [{from, to, text}]) -> the text with each span replaced
// quote(s) -> a Lua string literal

function tokenize(src) {
  const tokens = [];
  let i = 0;
  const line = (at) => src.slice(0, at).split("\n").length;
  const longBracket = (at) => {
    const m = /^\[(=*)\[/.exec(src.slice(at));
    if (!m) return -1;
    const close = src.indexOf(`]${m[1]}]`, at + m[0].length);
    if (close < 0) throw new Error(`line ${line(at)}: a long string or comment is not closed`);
    return close + m[1].length + 2;
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith("--", i)) {
      const end = src[i + 2] === "[" ? longBracket(i + 2) : -1;
      if (end > 0) i = end;
      else { const nl = src.indexOf("\n", i); i = nl < 0 ? src.length : nl; }
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      let s = "";
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === "\n") throw new Error(`line ${line(start)}: a string is not closed`);
        if (src[i] === "\\") {
          const e = src[i + 1];
          const map = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'", "\n": "\n", a: "\x07", b: "\b", f: "\f", v: "\v" };
          if (e in map) { s += map[e]; i += 2; continue; }
          const d = /^\d{1,3}/.exec(src.slice(i + 1));
          if (d) { s += String.fromCharCode(Number(d[0])); i += 1 + d[0].length; continue; }
          s += e; i += 2; continue;
        }
        s += src[i++];
      }
      if (i >= src.length) throw new Error(`line ${line(start)}: a string is not closed`);
      i++;
      tokens.push({ t: "string", v: s, from: start, to: i });
      continue;
    }
    if (c === "[" && /^\[=*\[/.test(src.slice(i))) {
      const end = longBracket(i);
      const open = /^\[=*\[/.exec(src.slice(i))[0].length;
      tokens.push({ t: "string", v: src.slice(i + open, end - open).replace(/^\n/, ""), from: start, to: end });
      i = end;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num) {
      i += num[0].length;
      tokens.push({ t: "number", v: Number(num[0]), from: start, to: i });
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      i += name[0].length;
      tokens.push({ t: "name", v: name[0], from: start, to: i });
      continue;
    }
    const op = /^(\.\.\.|\.\.|==|~=|<=|>=|[-+*/%^#<>=(){}\[\];:,.])/.exec(src.slice(i));
    if (!op) throw new Error(`line ${line(i)}: unexpected "${c}"`);
    i += op[0].length;
    tokens.push({ t: "op", v: op[0], from: start, to: i });
  }
  return { tokens, line };
}

export function parse(src) {
  const { tokens, line } = tokenize(src);
  let p = 0;
  const peek = (k = 0) => tokens[p + k];
  const is = (v, k = 0) => peek(k) && peek(k).t === "op" && peek(k).v === v;
  const fail = (msg) => { throw new Error(`line ${line(peek() ? peek().from : src.length)}: ${msg}`); };
  const expect = (v) => { if (!is(v)) fail(`expected "${v}"`); return tokens[p++]; };

  function value() {
    const tok = peek();
    if (!tok) fail("the file ends too early");
    if (is("{")) return table();
    const next = peek(1);
    const alone = !next || (next.t === "op" && [",", ";", "}", "]"].includes(next.v));
    if (alone && (tok.t === "string" || tok.t === "number")) { p++; return { kind: tok.t, value: tok.v, from: tok.from, to: tok.to }; }
    if (alone && tok.t === "name" && ["true", "false", "nil"].includes(tok.v)) {
      p++;
      return { kind: tok.v === "nil" ? "nil" : "boolean", value: tok.v === "true", from: tok.from, to: tok.to };
    }
    // code: up to the next , ; or } at this depth
    const from = tok.from;
    let depth = 0;
    let to = from;
    while (peek()) {
      if (depth === 0 && (is(",") || is(";") || is("}") || is("]"))) break;
      if (is("{") || is("(") || is("[")) depth++;
      if (is("}") || is(")") || is("]")) depth--;
      to = tokens[p++].to;
    }
    return { kind: "code", value: src.slice(from, to), from, to };
  }

  function table() {
    const open = expect("{");
    const items = [];
    let n = 0;
    while (!is("}")) {
      if (!peek()) fail("a table is not closed");
      let key;
      if (peek().t === "name" && is("=", 1)) { key = peek().v; p += 2; }
      else if (is("[")) {
        p++;
        const k = value();
        expect("]");
        expect("=");
        key = k.value;
      } else key = ++n;
      items.push({ key, value: value() });
      if (is(",") || is(";")) p++;
      else if (!is("}")) fail("expected , or }");
    }
    const close = expect("}");
    return { kind: "table", from: open.from, to: close.to, close: close.from, items };
  }

  while (peek() && !(peek().t === "name" && peek().v === "return")) p++;
  if (!peek()) throw new Error("the file does not return a table");
  p++;
  const root = value();
  if (root.kind !== "table") throw new Error("the file does not return a table");
  return root;
}

// the value under key in a table node (or undefined)
export function field(node, key) {
  const item = node && node.kind === "table" ? node.items.find((i) => i.key === key) : undefined;
  return item && item.value;
}

// the list items (1, 2, ...) of a table node
export function list(node) {
  return node && node.kind === "table" ? node.items.filter((i) => typeof i.key === "number").map((i) => i.value) : [];
}

export function quote(s) {
  return `"${String(s).replace(/[\\"\n\r\0-\x1f]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r" })[c]
    || `\\${String(c.charCodeAt(0)).padStart(3, "0")}`)}"`;   // three digits: a digit after it stays a digit
}

// a literal for a form's value: numbers stay numbers when the old one was
export function literal(kind, v) {
  if (kind === "number") {
    const n = Number(v);
    if (String(v).trim() === "" || !Number.isFinite(n)) throw new Error(`"${v}" is not a number`);
    return String(n);
  }
  if (kind === "boolean") return v ? "true" : "false";
  return quote(v);
}

export function edit(text, edits) {
  const sorted = [...edits].sort((a, b) => b.from - a.from);
  for (const e of sorted) text = text.slice(0, e.from) + e.text + text.slice(e.to);
  return text;
}

// the indentation of the line holding `at`
export function indentAt(text, at) {
  const start = text.lastIndexOf("\n", at - 1) + 1;
  return /^[ \t]*/.exec(text.slice(start))[0];
}
