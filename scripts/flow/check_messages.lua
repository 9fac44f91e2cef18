--- flow.check_messages: every message rendered, in every language, with the
--- variables each place that says it gives; a {placeholder} none of them
--- gives is an error at the message's line (a customer would get the error
--- text instead).
--
--   check_messages.run(t) -> errors    list of "file:line: what is wrong"
--       t = {flow, catalog, languages, mfile, mtext, sources = {path = text},
--            always = set of names every message may use (flow.check_vars)}
--
-- The places a message is said, and the variables each gives (besides
-- `always`: the tenant's name, the slots, and what providers add):
--   a state's say = "key"          the keys of its vars function's tables
--   c:say("key", { a = ..., b = ... })  a and b
--   c:say("key")                   nothing more
--   a slot's prompt and invalid, a state's button titles, and the runtime's
--   own messages (not_understood, handoff, expired, fallback): nothing more
--   "key" handed to any other function in the flow's files, comments left
--   out (a helper that says it later, e.g.
--   times.offer(c, starts, "pick_time", { date = d })): the keys of a
--   table written right after it, and of every table a helper passes to
--   c:say(<not a literal key>, { ... })
-- The rule is read from the source text, so it is conservative: a place
-- whose variables cannot be read (c:say("key", vars) with vars a variable,
-- or a vars function that is not Lua) is not checked. A vars function's
-- keys are every `name =` in a table it builds, every `x.name =` it
-- assigns, and the same of the functions it calls that the flow's files
-- define (3 calls deep). A quoted key that is also a state's name (c:go)
-- is not a place the message is said.
local template = require "text.template"
local source = require "flow.source"

local M = {}

local RUNTIME = { "not_understood", "handoff", "expired", "fallback" }

-- the text with its -- comments blanked out (same length: positions hold)
local function uncommented(text)
  return (text:gsub("%-%-%[%[.-%]%]", function(c) return (c:gsub("[^\n]", " ")) end)
              :gsub("%-%-[^\n]*", function(c) return (" "):rep(#c) end))
end

local function lines_of(text)
  local out = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- position (in text) of the } that closes the { at i; skips strings
local function closing(text, i)
  local depth, n = 0, #text
  while i <= n do
    local ch = text:sub(i, i)
    if ch == '"' or ch == "'" then
      local j = i + 1
      while j <= n and text:sub(j, j) ~= ch do
        if text:sub(j, j) == "\\" then j = j + 1 end
        j = j + 1
      end
      i = j
    elseif ch == "[" and text:find("^%[=*%[", i) then
      local eq = text:match("^%[(=*)%[", i)
      local e = text:find("]" .. eq .. "]", i, true)
      i = e and (e + #eq + 1) or n
    elseif ch == "-" and text:sub(i, i + 1) == "--" then
      i = (text:find("\n", i, true) or n)
    elseif ch == "{" then depth = depth + 1
    elseif ch == "}" then
      depth = depth - 1
      if depth == 0 then return i end
    end
    i = i + 1
  end
end

-- the top-level keys of the table constructor starting at text[i] == "{"
local function constructor_keys(text, i, into)
  local j = closing(text, i)
  if not j then return into end
  local body = text:sub(i + 1, j - 1)
  -- blank out nested tables and strings so only this level's keys remain
  local flat, k = {}, 1
  while k <= #body do
    local ch = body:sub(k, k)
    if ch == "{" then
      local e = closing(body, k) or #body
      flat[#flat + 1] = (" "):rep(e - k + 1)
      k = e + 1
    elseif ch == '"' or ch == "'" then
      local e = k + 1
      while e <= #body and body:sub(e, e) ~= ch do
        if body:sub(e, e) == "\\" then e = e + 1 end
        e = e + 1
      end
      flat[#flat + 1] = '""' .. (" "):rep(math.max(0, e - k - 1))
      k = e + 1
    else
      flat[#flat + 1] = ch
      k = k + 1
    end
  end
  for name in ("," .. table.concat(flat)):gmatch("[,;]%s*([%a_][%w_]*)%s*=[^=]") do into[name] = true end
  return into
end

-- every key a piece of code puts into tables: `{ name = }` and `x.name =`
local function body_keys(body, into)
  for name in body:gmatch("[{,;]%s*([%a_][%w_]*)%s*=[^=]") do into[name] = true end
  for name in body:gmatch("[%w_%]%)]%.([%a_][%w_]*)%s*=[^=]") do into[name] = true end
  return into
end

-- the text of the function defined at `line` of lines: up to the `end` at
-- its own indentation (or the line it ends on, for one-liners)
local function function_body(lines, line, last)
  local first = lines[line] or ""
  lines = { unpack(lines) }
  lines[line] = first:sub(first:find("function", 1, true) or 1)   -- not the state's other fields
  if last and last >= line then return table.concat(lines, "\n", line, last) end
  local indent = #(lines[line] or ""):match("^(%s*)")
  if (lines[line] or ""):find("%f[%w_]end%s*[,)}]?%s*$") then return lines[line] end
  for i = line + 1, #lines do
    local l = lines[i]
    if l:find("%S") and #l:match("^(%s*)") <= indent and l:find("^%s*end%f[^%w_]") then
      return table.concat(lines, "\n", line, i)
    end
  end
  return lines[line]
end

-- where the flow's files define a function called name: path, line
local function definition(sources, name)
  local e = name:gsub("%p", "%%%0")
  local pats = { "function%s+[%w_%.:]-%f[%w_]" .. e .. "%s*%(", "local%s+function%s+" .. e .. "%s*%(",
                 "%f[%w_]" .. e .. "%s*=%s*function%s*%(" }
  for path, text in pairs(sources) do
    for _, p in ipairs(pats) do
      local line = source.line_match(text, p)
      if line then return path, line end
    end
  end
end

-- the keys a vars function's tables may have (nil: cannot be read)
local function vars_keys(fn, sources)
  local info = debug.getinfo(fn, "S")
  local path = info and info.source and info.source:match("^@(.*)$")
  local text = path and sources[path]
  if not text or info.linedefined <= 0 then return nil end
  local keys, seen = {}, {}
  local function scan(p, body, depth)
    body_keys(body, keys)
    if depth >= 3 then return end
    for called in body:gmatch("([%a_][%w_]*)%s*%(") do
      if not seen[called] then
        seen[called] = true
        local dp, dl = definition(sources, called)
        if dp then scan(dp, function_body(lines_of(sources[dp]), dl), depth + 1) end
      end
    end
  end
  scan(path, function_body(lines_of(text), info.linedefined, info.lastlinedefined), 0)
  return keys
end

-- the line of `key =` in language lang's block of messages.lua
local function message_line(mtext, lang, key)
  local from = source.line_match(mtext, "^%s*%[?[\"']?" .. lang .. "[\"']?%]?%s*=%s*{")
  local e = key:gsub("%p", "%%%0")
  return source.line_match(mtext, "%f[%w_]" .. e .. "%s*=", from) or from or 1
end

local function set_names(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

function M.run(t)
  local catalog, flow, sources = t.catalog, t.flow, t.sources or {}
  local states = type(flow.states) == "table" and flow.states or {}
  local sites = {}                  -- key -> list of {where, vars (set) | false}
  local function site(key, where, vars)
    if type(key) ~= "string" or not catalog:has(key) then return end
    sites[key] = sites[key] or {}
    table.insert(sites[key], { where = where, vars = vars })
  end
  local function short(path, line) return ("%s:%d"):format(path:match("[^/]+$") or path, line) end
  local paths = set_names(sources)

  -- the flow's declaration
  local ffile = t.ffile or paths[1] or "flow.lua"
  local ftext = sources[ffile] or ""
  -- the booking kit's states: what the kit says there, with what it gives
  local kit_ok, kit = pcall(require, "booking.dialog")
  local kit_said = {}
  for _, name in ipairs(set_names(states)) do
    local said = kit_ok and type(states[name]) == "table" and kit.said(states[name])
    if said and not kit_said[said] then
      kit_said[said] = true
      for _, key in ipairs(set_names(said)) do
        local vars = {}
        for _, n in ipairs(said[key]) do vars[n] = true end
        site(key, "the booking kit (booking.dialog)", vars)
      end
    end
  end
  for _, name in ipairs(set_names(states)) do
    local st = states[name]
    if type(st) == "table" and not (kit_ok and kit.said(st)) then
      local where = ("the state %s (%s)"):format(name, short(ffile, source.line_match(ftext, "%f[%w_]" .. name .. "%s*=") or 1))
      local vars = {}
      if type(st.vars) == "function" then vars = vars_keys(st.vars, sources) or false end
      if st.say then site(st.say, where, vars) end
      for _, b in ipairs(type(st.buttons) == "table" and st.buttons or {}) do
        if type(b) == "table" then site(b.title, where, vars) end
      end
    end
  end
  for _, name in ipairs(set_names(type(flow.slots) == "table" and flow.slots or {})) do
    local s = flow.slots[name]
    if type(s) == "table" then
      local where = ("the slot %s (%s)"):format(name, short(ffile, source.line_match(ftext, "%f[%w_]" .. name .. "%s*=") or 1))
      site(s.prompt, where, {})
      if type(s.invalid) == "table" then for _, k in pairs(s.invalid) do site(k, where, {}) end
      else site(s.invalid, where, {}) end
    end
  end
  for _, key in ipairs(RUNTIME) do site(key, "the runtime", {}) end

  -- the flow's code: c:say("key", {...}), and keys handed to helpers
  local pool = {}
  for _, path in ipairs(paths) do
    local text = sources[path]
    local lines = lines_of(text)
    local offsets, pos = {}, 1
    for i, l in ipairs(lines) do offsets[i] = pos; pos = pos + #l + 1 end
    local function line_at(p)
      local lo = 1
      for i = 1, #offsets do if offsets[i] <= p then lo = i else break end end
      return lo
    end
    for s, key, e in text:gmatch(":say%(%s*()\"([%w_]+)\"()") do
      local rest = text:sub(e)
      local vars
      if rest:find("^%s*%)") then vars = {}
      elseif rest:find("^%s*,%s*{") then vars = constructor_keys(text, e + rest:find("{") - 1, {})
      elseif rest:find("^%s*,%s*nil%s*[,)]") then vars = {}
      else vars = false end
      site(key, ("c:say at %s"):format(short(path, line_at(s))), vars)
    end
    -- c:say(<a name>, { ... }): a helper's own variables
    for open in text:gmatch(":say%(%s*[%a_][%w_%.]*%s*,%s*(){") do constructor_keys(text, open, pool) end
  end
  for _, path in ipairs(paths) do
    local text = uncommented(sources[path])
    for s, key, e in text:gmatch("()\"([%w_]+)\"()") do
      local before = text:sub(math.max(1, s - 24), s - 1)
      local said = before:find(":say%(%s*$") or before:find("say%s*=%s*$") or before:find("prompt%s*=%s*$")
        or before:find("title%s*=%s*$") or before:find(":go%(%s*$")
      -- only a key handed to a function (f(c, "key", ...)): not one compared
      -- or stored (text == "id"), which says nothing
      local handed = before:find("[%(,]%s*$") ~= nil
      -- f(c, "key", vars): variables in a name cannot be read, so not checked
      local opaque = text:find("^%s*,%s*[%a_][%w_%.]*%s*[,)]", e) ~= nil
      if handed and not said and not opaque and catalog:has(key) and not states[key] then
        local vars = {}
        for n in pairs(pool) do vars[n] = true end
        local open = text:match("^%s*,%s*(){", e)
        if open then constructor_keys(text, open, vars) end
        site(key, short(path, select(2, text:sub(1, s):gsub("\n", "")) + 1), vars)
      end
    end
  end

  local always = t.always or {}
  local errors, reported = {}, {}
  for _, key in ipairs(set_names(sites)) do
    for _, lang in ipairs(t.languages) do
      local text = type(catalog.decl[lang]) == "table" and catalog.decl[lang][key]
      if type(text) == "string" then
        for _, s in ipairs(sites[key]) do
          local vars = s.vars
          if vars then
            local given = {}
            local function allow(name) given[name] = setmetatable({}, { __index = function() return "x" end,
              __tostring = function() return "x" end }) end
            for n in pairs(always) do allow(n) end
            for n in pairs(vars) do allow(n) end
            template.fill(text, given, function(name)
              local id = key .. "\0" .. lang .. "\0" .. name
              if not reported[id] then
                reported[id] = true
                errors[#errors + 1] = ("%s:%d: %s.%s uses {%s}, but %s gives no %s (it gives: %s)")
                  :format(t.mfile, message_line(t.mtext, lang, key), lang, key, name, s.where,
                          name:match("^[^%.]+"), table.concat(set_names(given), ", "))
              end
              return ""
            end)
          end
        end
      end
    end
  end
  return errors
end

return M
