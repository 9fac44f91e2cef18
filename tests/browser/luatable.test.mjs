// The business form's reader of data files (vendor/studio/src/luatable.js):
// every tenant's business.lua is read, a value changed in place leaves the
// rest of the file as it was, and what it writes reads back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { parse, field, list, edit, quote, literal } from "../../vendor/studio/src/luatable.js";
import { ROOT } from "./world.mjs";

const businessFiles = ["flows", "tests/fixtures/flows"].flatMap((dir) =>
  readdirSync(join(ROOT, dir)).map((t) => join(ROOT, dir, t, "business.lua")).filter((p) => existsSync(p)));

describe("luatable (the business form's reader)", () => {
  it("reads every tenant's business.lua", () => {
    assert.ok(businessFiles.length >= 4, businessFiles.join(", "));
    for (const p of businessFiles) {
      const root = parse(readFileSync(p, "utf8"));
      assert.equal(root.kind, "table", p);
    }
  });

  it("changes one price and keeps every other byte", () => {
    const text = readFileSync(join(ROOT, "flows/carwash/business.lua"), "utf8");
    const foam = list(field(parse(text), "services")).find((s) => field(s, "id").value === "foam_wash");
    const price = field(foam, "price");
    assert.equal(price.value, 799);
    const out = edit(text, [{ from: price.from, to: price.to, text: literal("number", "849") }]);
    assert.equal(out, text.replace("price = 799", "price = 849"));
    assert.equal(field(list(field(parse(out), "services")).find((s) => field(s, "id").value === "foam_wash"), "price").value, 849);
  });

  it("reads keys in brackets, long strings, comments and code it leaves alone", () => {
    const root = parse(`-- a comment
      return { ["full detailing"] = { "a", 'b\\'c' }, note = [[two
lines]], n = 0x10, f = function() return 1 end, t = env("X", "y"), --[[ long
comment ]] last = true }`);
    assert.deepEqual(list(field(root, "full detailing")).map((v) => v.value), ["a", "b'c"]);
    assert.equal(field(root, "note").value, "two\nlines");
    assert.equal(field(root, "n").value, 16);
    assert.equal(field(root, "f").kind, "code");
    assert.equal(field(root, "t").kind, "code");
    assert.equal(field(root, "last").value, true);
  });

  it("quotes what a form sends so Lua reads it back unchanged", () => {
    const s = 'She said "hi"\\ and\nleft\t5 today\x01 🚗';
    assert.equal(parse(`return { x = ${quote(s)} }`).items[0].value.value, s);
  });

  it("names the line of what it cannot read", () => {
    assert.throws(() => parse("return {\n  a = 1,\n  b = \"open\n}"), /line 3: a string is not closed/);
    assert.throws(() => parse("local x = 1"), /does not return a table/);
    assert.throws(() => literal("number", "abc"), /not a number/);
  });
});
