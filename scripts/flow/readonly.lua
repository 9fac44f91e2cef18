--- flow.readonly: read-only views of the runtime's objects and data, for
--- tenant code. A view is an empty proxy table: reading goes to the real
--- table (hidden in this module, never in the proxy), writing raises a
--- plain-words error, and its metatable is protected (getmetatable gives
--- false, setmetatable raises). Tables reached through a view are views too.
--
--   readonly.view(real, name, opts?) -> view
--       name: what the flow calls it ("c.tenant"), for errors
--       opts.kind  "data" (default): every field, read raw; functions are
--                  handed out as they are (tenant data: settings, messages,
--                  the conversation, the message)
--                  "runtime": a module's table: its functions are wrapped
--                  (see below); a table with a metatable in it is an object
--                  "object": a runtime object (booking engine, LLM client):
--                  only its methods, bound to it; its data fields read nil
--       opts.hint  words added to the read-only error ("settings come from ...")
--       opts.get(real, key, view) -> value    replaces reading (custom views)
--       opts.set(real, key, value) -> true     takes a write (raises to refuse);
--                  a key it returns false for is refused as read-only
--       opts.raw   set of keys whose value is handed out as it is
--       opts.custom  true: the view stands for a runtime object (c, c.conv):
--                  runtime functions get the view, not the real table, and
--                  plain() leaves it out (also when opts.get is given)
--   readonly.real(v) -> the table behind a data or runtime view (v itself
--       when it is no view; nil for object and custom views)
--   readonly.is_view(v) -> bool
--   readonly.original(fn) -> the runtime function a view's wrapper calls
--   readonly.plain(v, opts?) -> copy, problems
--       a deep copy that JSON can hold: data views become their contents;
--       functions (unless opts.functions), userdata other than json.null,
--       runtime objects, NaN and infinities, keys other than strings and
--       numbers, and cycles are left out, each named in problems (a list of
--       "<path> holds <what>", opts.name the root's path); metatables are
--       not copied; a table shared in two places is copied once
--   readonly.next / pairs / ipairs / unpack / rawget / rawset, readonly.table
--       versions of the base functions that understand views, for flows
--       (LuaJIT has no __pairs: the base pairs would see an empty proxy)
--
-- `#` and the base ipairs work on a data view: its array part is mirrored
-- into the proxy when the view is made (so a view shows an array as it was
-- then; views of per-turn objects are made per turn). Writing to a
-- mirrored index changes only the proxy, never the real table.
--
-- A runtime function reached through a view (a module's function, an
-- object's method) gets the real tables behind views passed to it, and a
-- table it returns that has a metatable (an object) comes back as a view.
local getmt = debug.getmetatable
local json_null = require("json").null

local M = {}

local meta_of = setmetatable({}, { __mode = "k" })   -- view -> its record
local originals = setmetatable({}, { __mode = "k" }) -- wrapper -> the function it calls
local objects = setmetatable({}, { __mode = "kv" })  -- real object -> its view
local inf = math.huge

local function path(name, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return name .. "." .. k end
  if type(k) == "string" then return ("%s[%q]"):format(name, k) end
  return name .. "[" .. tostring(k) .. "]"
end
M.path = path

local function refuse(info, k)
  error(("%s is read-only: flows cannot change %s%s"):format(info.name, path(info.name, k),
    info.hint and (" (" .. info.hint .. ")") or ""), 3)
end

local new_view, wrap_value

-- the arguments a runtime function gets: the real tables behind data,
-- runtime and object views (custom views, like c, stay as they are)
local function unwrap_args(n, ...)
  local args = { ... }
  local seen
  for i = 1, n do
    local info = meta_of[args[i]]
    if info and not info.custom then
      seen = seen or {}
      seen[info.real] = args[i]
      args[i] = info.real
    end
  end
  return args, seen
end

local function rewrap(seen, n, ...)
  if n == 0 then return end
  local out = { ... }
  for i = 1, n do
    local v = out[i]
    if type(v) == "table" and not meta_of[v] then
      if seen and seen[v] then out[i] = seen[v]
      elseif getmt(v) then out[i] = M.view(v, "a runtime object", { kind = "object" }) end
    end
  end
  return unpack(out, 1, n)
end

-- a runtime function as tenant code may call it; self_of: the real object
-- a method acts on, whatever the caller passes as self
local function through(fn, self_of)
  local function finish(seen, ...) return rewrap(seen, select("#", ...), ...) end
  return function(...)
    local n = select("#", ...)
    local args, seen = unwrap_args(n, ...)
    if self_of then args[1] = self_of; n = math.max(n, 1) end
    return finish(seen, fn(unpack(args, 1, n)))
  end
end
local function wrapper(fn, self_of)
  local f = through(fn, self_of)
  originals[f] = fn
  return f
end

local function index(info, view, k)
  if info.get then return info.get(info.real, k, view) end
  if info.kind == "object" then
    local v = info.real[k]
    if type(v) ~= "function" then return nil end
    local f = info.fns[k]
    if not f or info.fns_of[k] ~= v then
      f = wrapper(v, info.real)
      info.fns[k], info.fns_of[k] = f, v
    end
    return f
  end
  local v
  if info.kind == "runtime" then v = info.real[k] else v = rawget(info.real, k) end
  if info.raw and info.raw[k] then return v end
  return wrap_value(info, k, v)
end

wrap_value = function(info, k, v)
  local t = type(v)
  if t == "table" then
    if meta_of[v] then return v end
    if info.kind == "runtime" and getmt(v) then return M.view(v, path(info.name, k), { kind = "object" }) end
    local fam = info.family
    return fam.cache[v] or new_view(v, path(info.name, k), info.kind, fam)
  elseif t == "function" and info.kind == "runtime" then
    local fam = info.family
    local f = fam.fns[v]
    if not f then
      f = wrapper(v)
      fam.fns[v] = f
    end
    return f
  end
  return v
end

new_view = function(real, name, kind, family, opts)
  local view = {}
  local info = { real = real, name = name, kind = kind, family = family, fns = {}, fns_of = {},
                 hint = opts and opts.hint or family and family.hint, raw = opts and opts.raw,
                 get = opts and opts.get, set = opts and opts.set,
                 custom = opts and (opts.custom or opts.get) and true }
  meta_of[view] = info
  if kind == "object" then objects[real] = view
  elseif family and not info.custom then family.cache[real] = view end
  if kind ~= "object" and not info.get then
    -- the array part, so that # and ipairs work (LuaJIT 5.1 has no __len for tables)
    local i = 1
    while true do
      local v = rawget(real, i)
      if v == nil then break end
      rawset(view, i, wrap_value(info, i, v))
      i = i + 1
    end
  end
  local set = info.set
  return setmetatable(view, {
    __index = function(_, k) return index(info, view, k) end,
    __newindex = function(_, k, v)
      if set and set(real, k, v) then return end
      refuse(info, k)
    end,
    __metatable = false,
  })
end

function M.view(real, name, opts)
  if type(real) ~= "table" then error("readonly.view(real, name, opts?): real must be a table", 2) end
  if meta_of[real] then return real end
  local kind = opts and opts.kind or "data"
  if kind == "object" then
    local v = objects[real]
    if v then return v end
  end
  local family = { cache = setmetatable({}, { __mode = "kv" }), fns = setmetatable({}, { __mode = "k" }),
                   hint = opts and opts.hint }
  return new_view(real, name or "this table", kind, family, opts)
end

function M.is_view(v) return meta_of[v] ~= nil end

--- The runtime function a view hands out in place of fn (for checks), or fn.
function M.original(fn) return originals[fn] or fn end

function M.real(v)
  local info = meta_of[v]
  if not info then return v end
  if info.custom or info.kind == "object" then return nil end
  return info.real
end

-- ---- base functions that understand views (for flows) ----------------------

function M.next(t, k)
  local info = meta_of[t]
  if not info then return next(t, k) end
  local real = info.real
  while true do
    local nk = next(real, k)
    if nk == nil then return nil end
    if type(nk) ~= "table" and type(nk) ~= "function" and type(nk) ~= "userdata" then
      local v = index(info, t, nk)
      if v ~= nil then return nk, v end
    end
    k = nk
  end
end

function M.pairs(t)
  if meta_of[t] then return M.next, t, nil end
  return pairs(t)
end

local function inext(t, i)
  i = i + 1
  local v = t[i]
  if v ~= nil then return i, v end
end

function M.ipairs(t)
  if meta_of[t] then return inext, t, 0 end
  return ipairs(t)
end

function M.unpack(t, i, j)
  if not meta_of[t] then return unpack(t, i, j) end
  i, j = i or 1, j or #t
  local out = {}
  for k = i, j do out[k - i + 1] = t[k] end
  return unpack(out, 1, j - i + 1)
end

function M.rawget(t, k)
  if meta_of[t] then return t[k] end
  return rawget(t, k)
end

function M.rawset(t, k, v)
  local info = meta_of[t]
  if info then refuse(info, k) end
  return rawset(t, k, v)
end

-- table.insert / remove / sort refuse views; the rest of table as it is
local function guarded(fn, what)
  return function(t, ...)
    local info = meta_of[t]
    if info then
      error(("%s is read-only: flows cannot %s it%s"):format(info.name, what,
        info.hint and (" (" .. info.hint .. ")") or ""), 2)
    end
    return fn(t, ...)
  end
end

--- A copy of `base` (default: the table library) whose insert, remove and
--- sort refuse views.
function M.table(base)
  local out = {}
  for k, v in pairs(base or table) do out[k] = v end
  out.insert = guarded(out.insert, "insert into")
  out.remove = guarded(out.remove, "remove from")
  out.sort = guarded(out.sort, "sort")
  out.foreach, out.foreachi, out.setn = nil, nil, nil
  return out
end

-- ---- plain copies --------------------------------------------------------------

local MAX_DEPTH = 100

function M.plain(v, opts)
  local problems = {}
  local keep_fn = opts and opts.functions
  local done, open = {}, {}
  local function problem(p, what)
    if #problems < 20 then problems[#problems + 1] = p .. " holds " .. what end
  end
  local function copy(x, p, depth)
    local tx = type(x)
    if tx == "string" or tx == "boolean" then return x end
    if tx == "number" then
      if x ~= x or x == inf or x == -inf then problem(p, "a number JSON cannot hold (" .. tostring(x) .. ")"); return nil end
      return x
    end
    if x == json_null then return x end
    if tx == "function" and keep_fn then return x end
    if tx ~= "table" then problem(p, "a " .. tx); return nil end
    local info = meta_of[x]
    if info then
      if info.custom or info.kind == "object" then problem(p, "a runtime object (" .. info.name .. ")"); return nil end
      x = info.real
    end
    if done[x] then return done[x] end
    if open[x] then problem(p, "a table that contains itself"); return nil end
    if depth >= MAX_DEPTH then problem(p, "tables nested more than " .. MAX_DEPTH .. " deep"); return nil end
    open[x] = true
    local out = {}
    for k, val in next, x do
      local tk = type(k)
      if tk == "string" or (tk == "number" and k == k and k ~= inf and k ~= -inf) then
        local c = copy(val, path(p, k), depth + 1)
        if c ~= nil then out[k] = c end
      else
        problem(p, "a key that is a " .. tk)
      end
    end
    open[x] = nil
    done[x] = out
    return out
  end
  return copy(v, opts and opts.name or "value", 0), problems
end

return M
