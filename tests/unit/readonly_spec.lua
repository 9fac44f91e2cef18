-- flow.readonly: the read-only views tenant code gets of the runtime's
-- objects and data, and the plain copies a conversation is saved as.
local readonly = require "flow.readonly"
local json = require "json"

describe("a data view", function()
  local real, v
  before_each(function()
    real = { id = "carwash", list = { "a", "b", { x = 1 } }, map = { k = "v" } }
    v = readonly.view(real, "c.tenant", { hint = "settings come from the config" })
  end)

  it("reads through to the real table, nested tables as views too", function()
    assert.are.equal("carwash", v.id)
    assert.are.equal("b", v.list[2])
    assert.are.equal(1, v.list[3].x)
    assert.is_true(readonly.is_view(v.list))
    assert.are.equal(v.map, v.map)                    -- one view per table
  end)

  it("refuses a write with the field's name, the view's name and why", function()
    local ok, err = pcall(function() v.id = "other" end)
    assert.is_false(ok)
    assert.truthy(err:find("c.tenant is read-only: flows cannot change c.tenant.id (settings come from the config)", 1, true), err)
    ok, err = pcall(function() v.map.k = "w" end)
    assert.truthy(err:find("c.tenant.map is read-only: flows cannot change c.tenant.map.k", 1, true), err)
    assert.are.equal("carwash", real.id)
    assert.are.equal("v", real.map.k)
  end)

  it("keeps its metatable: getmetatable gives false, setmetatable raises", function()
    assert.is_false(getmetatable(v))
    assert.has_error(function() setmetatable(v, {}) end)
  end)

  it("gives # and the base ipairs its array part; the flow's pairs, next and unpack see everything", function()
    assert.are.equal(3, #v.list)
    local n = 0
    for _ in ipairs(v.list) do n = n + 1 end
    assert.are.equal(3, n)
    local keys = {}
    for k in readonly.pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "id", "list", "map" }, keys)
    assert.are.equal("k", (readonly.next(v.map)))
    assert.are.same({ "a", "b" }, { readonly.unpack(v.list, 1, 2) })
    local seen = {}
    for i, x in readonly.ipairs(v.list) do seen[i] = type(x) end
    assert.are.same({ "string", "string", "table" }, seen)
  end)

  it("the flow's rawset and table changes refuse it; rawget reads through", function()
    assert.has_error(function() readonly.rawset(v, "id", "x") end)
    local t = readonly.table()
    assert.has_error(function() t.insert(v.list, "c") end)
    assert.has_error(function() t.remove(v.list) end)
    assert.has_error(function() t.sort(v.list) end)
    assert.are.equal("carwash", readonly.rawget(v, "id"))
    assert.are.equal("a,b", t.concat({ v.list[1], v.list[2] }, ","))
    assert.are.same({ "a", "b", real.list[3] }, real.list)
  end)

  it("a raw write into the proxy changes only the proxy, never the real table", function()
    rawset(v, "id", "other")                          -- the base rawset, which flows do not get
    v.list[1] = "z"                                   -- a mirrored index: the view's own
    assert.are.equal("carwash", real.id)
    assert.are.equal("a", real.list[1])
  end)
end)

describe("an object view", function()
  local Engine = {}
  Engine.__index = Engine
  function Engine:prefix_of() return self.prefix end
  function Engine:echo(x) return x end
  function Engine:me() return self end
  local real, v
  before_each(function()
    real = setmetatable({ prefix = "bk:a:", key = "secret" }, Engine)
    v = readonly.view(real, "c.booking", { kind = "object" })
  end)

  it("shows methods only: data fields read nil", function()
    assert.is_nil(v.prefix)
    assert.is_nil(v.key)
    assert.are.equal("function", type(v.prefix_of))
  end)

  it("its methods act on the real object, whatever is passed as self", function()
    assert.are.equal("bk:a:", v:prefix_of())
    assert.are.equal("bk:a:", v.prefix_of({ prefix = "bk:b:" }))
    assert.are.equal("bk:a:", v.prefix_of(setmetatable({ prefix = "bk:b:" }, { __index = v })))
  end)

  it("hands the real object out again only as its view", function()
    assert.are.equal(v, v:me())
    local data = readonly.view({ x = 1 }, "d")
    assert.are.equal(1, readonly.real(data).x)
    assert.are.equal(data, v:echo(data))               -- the real table went in, its view came back
  end)
end)

describe("a runtime module's view", function()
  it("its functions get the real tables behind views, and cannot be replaced", function()
    local mod = { count = function(t) return rawget(t, "n") end, name = "m" }
    local v = readonly.view(mod, "m", { kind = "runtime" })
    local data = readonly.view({ n = 3 }, "d")
    assert.are.equal(3, v.count(data))
    assert.are.equal(mod.count, readonly.original(v.count))
    assert.has_error(function() v.count = print end)
    assert.has_error(function() readonly.rawset(v, "count", print) end)
  end)
end)

describe("readonly.plain", function()
  it("copies what JSON can hold and names everything it leaves out", function()
    local obj = readonly.view(setmetatable({}, { __index = {} }), "c.booking", { kind = "object" })
    local v = { ok = "kept", n = 1, null = json.null, f = print, nan = 0 / 0, obj = obj,
                view = readonly.view({ a = { 1, 2 } }, "c.tenant"), [true] = 1 }
    v.me = v
    local copy, problems = readonly.plain(v, { name = "conversation" })
    assert.are.same({ n = 1, null = json.null, ok = "kept", view = { a = { 1, 2 } } }, copy)
    assert.is_false(readonly.is_view(copy.view))
    table.sort(problems)
    assert.are.same({
      "conversation holds a key that is a boolean",
      "conversation.f holds a function",
      "conversation.me holds a table that contains itself",
      "conversation.nan holds a number JSON cannot hold (nan)",
      "conversation.obj holds a runtime object (c.booking)",
    }, problems)
  end)

  it("drops metatables and keeps functions when asked", function()
    local copy = readonly.plain(setmetatable({ f = print }, { __index = { hidden = 1 } }), { functions = true })
    assert.is_nil(getmetatable(copy))
    assert.is_nil(copy.hidden)
    assert.are.equal(print, copy.f)
  end)

  it("puts the tables named in as_is into the copy as they are, and copies the rest", function()
    local history = { { who = "bot", text = "hi" } }
    local slots = { name = "Rahul", f = print }
    local copy, problems = readonly.plain({ history = history, slots = slots }, { as_is = { [history] = true } })
    assert.are.equal(history, copy.history)
    assert.are_not.equal(slots, copy.slots)
    assert.are.same({ name = "Rahul" }, copy.slots)
    assert.are.same({ "value.slots.f holds a function" }, problems)
  end)
end)
