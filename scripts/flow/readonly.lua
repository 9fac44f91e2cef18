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
--       not copied; a table shared in two places is copied once;
--       opts.as_is: a set of tables put in the copy as they are, not
--       looked into (the caller vouches that they hold JSON data only)
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

-- a view's name, built when first needed: "c.tenant.catalogue.services"
local function name_of(info)
  local n = info.name
  if n then return n end
  n = path(name_of(info.parent), info.key)
  info.name = n
  return n
end

local function refuse(info, k)
  local name = name_of(info)
  error(("%s is read-only: flows cannot change %s%s"):format(name, path(name, k),
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

-- does a result need rewrapping (an object, or the real table behind a view passed in)?
local function needs(seen, v)
  return type(v) == "table" and not meta_of[v] and ((seen and seen[v]) or getmt(v)) and true or false
end

local function rewrap(seen, n, ...)
  local any = false
  for i = 1, n do
    if needs(seen, (select(i, ...))) then any = true; break end
  end
  if not any then return ... end
  local out = { ... }
  for i = 1, n do
    local v = out[i]
    if needs(seen, v) then
      out[i] = seen and seen[v] or M.view(v, "a runtime object", { kind = "object" })
    end
  end
  return unpack(out, 1, n)
end

local function has_view(n, ...)
  for i = 1, n do
    local info = meta_of[(select(i, ...))]
    if info and not info.custom then return true end
  end
  return false
end

-- a runtime function as tenant code may call it; self_of: the real object
-- a method acts on, whatever the caller passes as self
local function through(fn, self_of)
  local function finish(seen, ...) return rewrap(seen, select("#", ...), ...) end
  return function(...)
    local n = select("#", ...)
    if not has_view(n, ...) then
      if self_of then return finish(nil, fn(self_of, select(2, ...))) end
      return finish(nil, fn(...))
    end
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
  local tv = type(v)
  if tv ~= "table" and tv ~= "function" then return v end   -- (what wrap_value gives, without the call)
  if info.raw and info.raw[k] then return v end
  return wrap_value(info, k, v)
end

local WEAK_KV, WEAK_K = { __mode = "kv" }, { __mode = "k" }

wrap_value = function(info, k, v)
  local t = type(v)
  if t == "table" then
    if meta_of[v] then return v end
    if info.kind == "runtime" and getmt(v) then return M.view(v, path(name_of(info), k), { kind = "object" }) end
    local fam = info.family
    local cache = fam.cache
    if not cache then
      cache = setmetatable({}, WEAK_KV)
      fam.cache = cache
    end
    return cache[v] or new_view(v, nil, info.kind, fam, nil, info, k)
  elseif t == "function" and info.kind == "runtime" then
    local fam = info.family
    local fns = fam.fns
    if not fns then
      fns = setmetatable({}, WEAK_K)
      fam.fns = fns
    end
    local f = fns[v]
    if not f then
      f = wrapper(v)
      fns[v] = f
    end
    return f
  end
  return v
end

-- every view shares this metatable; what it stands for is in meta_of
local VIEW_MT = {
  __index = function(view, k) return index(meta_of[view], view, k) end,
  __newindex = function(view, k, v)
    local info = meta_of[view]
    if info.set and info.set(info.real, k, v) then return end
    refuse(info, k)
  end,
  __metatable = false,
}

new_view = function(real, name, kind, family, opts, parent, key)
  local view = {}
  local info = { real = real, name = name, parent = parent, key = key, kind = kind, family = family,
                 hint = opts and opts.hint or family.hint, raw = opts and opts.raw,
                 get = opts and opts.get, set = opts and opts.set,
                 custom = opts and (opts.custom or opts.get) and true }
  meta_of[view] = info
  if kind == "object" then
    objects[real] = view
    info.fns, info.fns_of = {}, {}
  elseif not info.custom then
    local cache = family.cache
    if not cache then
      cache = setmetatable({}, WEAK_KV)
      family.cache = cache
    end
    cache[real] = view
  end
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
  if info.get then
    -- a custom view (c): its reads go straight to its get (c is read on
    -- every line of a flow)
    local get = info.get
    return setmetatable(view, { __index = function(v, k) return get(real, k, v) end,
                                __newindex = VIEW_MT.__newindex, __metatable = false })
  end
  return setmetatable(view, VIEW_MT)
end

function M.view(real, name, opts)
  if type(real) ~= "table" then error("readonly.view(real, name, opts?): real must be a table", 2) end
  if meta_of[real] then return real end
  local kind = opts and opts.kind or "data"
  if kind == "object" then
    local v = objects[real]
    if v then return v end
  end
  return new_view(real, name or "this table", kind, { hint = opts and opts.hint }, opts)
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
      error(("%s is read-only: flows cannot %s it%s"):format(name_of(info), what,
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
  for t in pairs(opts and opts.as_is or done) do done[t] = t end
  local stack, top = {}, 0               -- the keys down to the value being copied
  local function problem(what)
    if #problems >= 20 then return end
    local p = opts and opts.name or "value"
    for i = 1, top do p = path(p, stack[i]) end
    problems[#problems + 1] = p .. " holds " .. what
  end
  local function copy(x)
    local tx = type(x)
    if tx == "string" or tx == "boolean" then return x end
    if tx == "number" then
      if x ~= x or x == inf or x == -inf then problem("a number JSON cannot hold (" .. tostring(x) .. ")"); return nil end
      return x
    end
    if x == json_null then return x end
    if tx == "function" and keep_fn then return x end
    if tx ~= "table" then problem("a " .. tx); return nil end
    local info = meta_of[x]
    if info then
      if info.custom or info.kind == "object" then problem("a runtime object (" .. name_of(info) .. ")"); return nil end
      x = info.real
    end
    local out = done[x]
    if out then return out end
    if open[x] then problem("a table that contains itself"); return nil end
    if top >= MAX_DEPTH then problem("tables nested more than " .. MAX_DEPTH .. " deep"); return nil end
    open[x] = true
    out = {}
    for k, val in next, x do
      local tk = type(k)
      if tk == "string" or (tk == "number" and k == k and k ~= inf and k ~= -inf) then
        local tv = type(val)
        if tv == "string" or tv == "boolean" or (tv == "number" and val == val and val ~= inf and val ~= -inf) then
          out[k] = val                   -- (what copy would return, without the call)
        else
          top = top + 1
          stack[top] = k
          local c = copy(val)
          top = top - 1
          if c ~= nil then out[k] = c end
        end
      else
        problem("a key that is a " .. tk)
      end
    end
    open[x] = nil
    done[x] = out
    return out
  end
  return copy(v), problems
end

return M
