--- flow.source: reads a tenant's Lua files (its config and flows) as text,
--- runs each in an environment of its own, and finds where a word is
--- written so that a check can name the file and line of a mistake.
--
--   source.load(path, env) -> value, text | nil, err   err = "path:line: problem"
--   source.line_of(text, needle, from?) -> line number | nil
--   source.env(extra) -> a fresh environment with the safe base library
--   source.files = {path = text}   read these instead of the disk (a snapshot)
--
-- Binary chunks are refused. The environment has no io, os (beyond
-- os.time, os.date, os.clock), debug, ffi, jit, load*, dofile or package;
-- `require` reaches only the runtime modules a flow may use. (Separate Lua
-- states per tenant, CPU and memory budgets come with the tenant sandbox.)
local M = {}

local ALLOWED = { tz = true, ["text.fuzzy"] = true, ["text.extract"] = true, ["text.sentiment"] = true,
                  json = true, log = true }

local BASE = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
               "tostring", "type", "unpack", "xpcall", "rawequal", "rawget", "rawset",
               "setmetatable" }

local function copy(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

function M.env(extra)
  local env = {}
  for _, name in ipairs(BASE) do env[name] = _G[name] end
  env.string, env.table, env.math = copy(string), copy(table), copy(math)
  env.string.dump = nil                        -- no bytecode out, and none comes in
  env.os = { time = os.time, date = os.date, clock = os.clock }
  env.require = function(name)
    if not ALLOWED[name] then
      error(("require '%s' is not allowed in a flow (allowed: tz, text.fuzzy, text.extract, text.sentiment, json, log)")
        :format(tostring(name)), 2)
    end
    return require(name)
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
  if not fn then return nil, err end
  setfenv(fn, env)
  local ok, value = pcall(fn)
  if not ok then
    if type(value) == "table" then value = value.flow_error or tostring(value) end
    return nil, tostring(value)
  end
  return value, text
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
