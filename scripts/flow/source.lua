--- flow.source: reads a tenant's Lua files (its config and flows) as text,
--- runs each in an environment of its own, and finds where a word is
--- written so that a check can name the file and line of a mistake.
--
--   source.load(path, env) -> value, text | nil, err   err = "path:line: problem"
--       a syntax error is said plainly ("a comma is missing after the text
--       that ends on line 7"), with Lua's own words after it
--   source.plain_syntax(err, text) -> err in plain words (same path:line)
--   source.line_match(text, pattern, from?) -> line number | nil  (a Lua pattern)
--   source.line_of(text, needle, from?) -> line number | nil
--   source.env(extra, opts?) -> a fresh environment with the safe base library
--       opts.log_fields: fields every log line of this code carries (the
--       tenant); they win over the code's own
--   source.files = {path = text}   read these instead of the disk (a snapshot)
--   source.ALLOWED   the modules `require` gives tenant code
--
-- Binary chunks are refused. The environment has no io, os (beyond
-- os.time, os.date, os.clock), debug, ffi, jit, load*, dofile, package,
-- getmetatable, getfenv/setfenv, coroutine, collectgarbage or newproxy.
-- `require` gives read-only views (flow.readonly) of the runtime modules a
-- flow may use; their functions act on real values, and `log` writes with
-- the tenant's name whatever the code passes. pairs, ipairs, next, unpack,
-- rawget, rawset and table.insert/remove/sort understand views (rawset and
-- the table changes refuse them). string is a copy without dump, and
-- ("").dump (the string metatable, shared by the whole state) raises: no
-- bytecode comes out, and none comes in. (CPU and memory budgets come with
-- the tenant's own Lua state.)
local readonly = require "flow.readonly"

local M = {}

local ALLOWED = { tz = true, ["text.fuzzy"] = true, ["text.extract"] = true, ["text.sentiment"] = true,
                  json = true, log = true, ["booking.dialog"] = true }
M.ALLOWED = ALLOWED

local BASE = { "assert", "error", "pcall", "select", "tonumber", "tostring", "type", "xpcall", "rawequal",
               "setmetatable" }

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

local function no_dump() error("string.dump is not available to flows", 2) end

-- ("").dump: the strings' metatable is the state's own; shadow dump there
-- once, keeping whatever else its __index gives (the pattern guards)
local shadowed = false
local function shadow_string_dump()
  if shadowed then return end
  local mt = debug.getmetatable("")
  if not mt then return end
  mt.__index = setmetatable({ dump = no_dump }, { __index = mt.__index, __metatable = false })
  shadowed = true
end

-- the modules' views, one per state (views never change)
local views = {}

local function module_view(name)
  local v = views[name]
  if not v then
    v = readonly.view(require(name), name, { kind = "runtime",
      hint = name .. " is the runtime's own module, shared by every flow of this state" })
    views[name] = v
  end
  return v
end

local json_view
local function json_module()
  if json_view then return json_view end
  local json = require "json"
  -- encode reads through views (JSON cannot hold a proxy)
  json_view = readonly.view({
    null = json.null, decode = json.decode, array = json.array,
    encode = function(v)
      local plain, problems = readonly.plain(v, { name = "json.encode's value" })
      if problems[1] then error("json.encode: " .. problems[1], 2) end
      return json.encode(plain)
    end,
  }, "json", { kind = "runtime", hint = "json is the runtime's own module" })
  return json_view
end

local function log_module(fields)
  local log = require "log"
  local function level(fn)
    return function(msg, extra)
      local out = readonly.plain(type(extra) == "table" and extra or {}, { name = "log fields" })
      for k, v in pairs(fields or {}) do out[k] = v end
      return fn(tostring(msg), out)
    end
  end
  return readonly.view({ debug = level(log.debug), info = level(log.info), warn = level(log.warn),
                         error = level(log.error) }, "log", { kind = "runtime", hint = "log is the runtime's own module" })
end

function M.env(extra, opts)
  shadow_string_dump()
  local env = {}
  for _, name in ipairs(BASE) do env[name] = _G[name] end
  env.pairs, env.ipairs, env.next, env.unpack = readonly.pairs, readonly.ipairs, readonly.next, readonly.unpack
  env.rawget, env.rawset = readonly.rawget, readonly.rawset
  env.string, env.table, env.math = copy(string), readonly.table(table), copy(math)
  env.string.dump = no_dump                        -- no bytecode out, and none comes in
  env.os = { time = os.time, date = os.date, clock = os.clock }
  local log_view
  env.require = function(name)
    if not ALLOWED[name] then
      error(("require '%s' is not allowed in a flow (allowed: tz, text.fuzzy, text.extract, text.sentiment, json, log, booking.dialog)")
        :format(tostring(name)), 2)
    end
    if name == "json" then return json_module() end
    if name == "log" then
      log_view = log_view or log_module(opts and opts.log_fields)
      return log_view
    end
    return module_view(name)
  end
  env._G = env
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

-- a snapshot of files (path -> text) to read from instead of the disk: a
-- tenant state loads exactly the version its manager snapshotted
M.files = nil

function M.read(path)
  if M.files then
    local text = M.files[path]
    if text then return text end
    return nil, "no such file in this version"
  end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a")
  f:close()
  return text
end

function M.load(path, env)
  local text, err = M.read(path)
  if not text then return nil, path .. ": cannot read (" .. tostring(err) .. ")" end
  if text:byte(1) == 27 then return nil, path .. ": binary chunks are not accepted; send the Lua source" end
  local fn
  fn, err = loadstring(text, "@" .. path)
  if not fn then return nil, M.plain_syntax(err, text) end
  setfenv(fn, env)
  local ok, value = pcall(fn)
  if not ok then
    if type(value) == "table" then value = value.flow_error or tostring(value) end
    return nil, tostring(value)
  end
  return value, text
end

-- the lines of text, as a list
local function lines_of(text)
  local out = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- LuaJIT's parser messages, said for someone who edits texts and prices
local function plain(line, why, lines)
  local near = why:match("near '(.*)'$")
  local opened, at = why:match("^'[^']+' expected %(to close '([^']+)' at line (%d+)%)")
  local here = lines[line] or ""
  if opened == "{" and near == "<eof>" then
    return ("the file ends before the { opened on line %s is closed: a } is missing"):format(at)
  elseif opened == "{" and near then
    local first = here:match("^%s*(.-)%s*$")
    if first:sub(1, #near) == near then
      local prev = line - 1
      while prev > 1 and not (lines[prev] or ""):find("%S") do prev = prev - 1 end
      return ("a comma is missing after the text that ends on line %d"):format(prev)
    end
    return ("Lua cannot read line %d at '%s': write name = \"text\", with the text in quotes and a comma after it")
      :format(line, near)
  elseif opened then
    return ("the %s that starts on line %s has no end: add one before line %d"):format(opened, at, line)
  elseif why:find("^unfinished long string") then
    return "a [[ text is never closed with ]]"
  elseif why:find("^unfinished string") then
    return ("the text that starts on line %d is not closed: put a \" at its end, on the same line"):format(line)
  elseif why:find("^'<eof>' expected") then
    return ("there is one '%s' too many on line %d (nothing is left open for it to close)"):format(near or "?", line)
  elseif why:find("^'=' expected") then
    return ("a name must be followed by = and a value (line %d, at '%s')"):format(line, near or "?")
  elseif why:find("^unexpected symbol") then
    return ("Lua did not expect '%s' on line %d: is a value or a quote missing before it?"):format(near or "?", line)
  end
  return "Lua cannot read this file"
end

function M.plain_syntax(err, text)
  local path, line, why = tostring(err):match("^(.-):(%d+): (.*)$")
  if not path then return err end
  return ("%s:%s: %s (Lua: %s)"):format(path, line, plain(tonumber(line), why, lines_of(text or "")), why)
end

function M.line_match(text, pattern, from)
  if not text then return nil end
  local first
  for i, l in ipairs(lines_of(text)) do
    if l:find(pattern) then
      if not from or i >= from then return i end
      first = first or i
    end
  end
  return first
end

function M.line_of(text, needle, from)
  if not text or not needle then return nil end
  local line, pos, first = 1, 1, nil
  while true do
    local nl = text:find("\n", pos, true)
    local chunk = text:sub(pos, (nl or 0) - 1)
    if chunk:find(needle, 1, true) then
      if not from or line >= from then return line end
      first = first or line
    end
    if not nl then return first end
    pos, line = nl + 1, line + 1
  end
end

return M
