-- Runs busted specs inside the host runtime (`flowhost test <paths>`), so
-- specs use the real http, redis, timer and lock modules. Ends the process
-- with busted's verdict: 0 when every spec passed.
--
-- A tenant's own specs (every path under the flows folder's <id>/spec, run
-- in this process: no FLOWHOST_CHAT_URL) use a Redis database of their own,
-- FLOWHOST_SPEC_DB (default 15), flushed before and after the run: they
-- never write into the database a live host serves from. FLOWHOST_SPEC_DB
-- set makes any run use it. A REDIS_URL that already selects that database
-- is refused.
local host = require "host"
local redis = require "redis"

local M = {}

local EXIT = {}

-- the database this run's specs use instead of the configured one, or nil
local function spec_db(argv)
  local forced = tonumber(os.getenv("FLOWHOST_SPEC_DB") or "")
  if forced then return forced end
  local url = os.getenv("FLOWHOST_CHAT_URL")
  if url and url ~= "" then return nil end           -- the specs talk to a running host
  local _, fdir = require("flow.tenant").dirs()
  local prefix = fdir:gsub("^%./", "") .. "/"
  local any = false
  for _, a in ipairs(argv) do
    if a:sub(1, 1) ~= "-" then
      local p = a:gsub("^%./", "")
      if p:sub(1, #prefix) ~= prefix or not p:sub(#prefix + 1):match("^[%w_%-]+/spec") then return nil end
      any = true
    end
  end
  return any and 15 or nil
end

function M.run(argv)
  local db = spec_db(argv)
  if db then
    if redis.db() == db then
      io.stderr:write(("flowhost test: REDIS_URL selects database %d, the one tenant specs use and flush; "
        .. "set FLOWHOST_SPEC_DB to another\n"):format(db))
      return host.exit(2)
    end
    redis.use_db(db)
    redis.call("FLUSHDB")
    require("booking").spec_run = true     -- no business-wide per-minute limit (see booking.lua)
  end
  local code
  -- busted ends by calling os.exit (or error() on failure under Lua 5.1)
  local real_exit = os.exit
  os.exit = function(c)
    if c == true or c == nil then code = 0
    elseif c == false then code = 1
    else code = tonumber(c) or 1 end
    error(EXIT, 0)
  end
  local args = { "-o", "host.fh_output" }
  for _, a in ipairs(argv) do args[#args + 1] = a end
  _G.arg = args
  local ok, err = pcall(require("busted.runner"), { standalone = false })
  os.exit = real_exit
  if not ok and err ~= EXIT then
    if err ~= nil then io.stderr:write(tostring(err), "\n") end
    code = code or 1
  end
  -- busted returns normally (no os.exit) when every spec passed
  if ok then code = code or 0 end
  if db then redis.call("FLUSHDB") end               -- the throwaway database, clean again
  io.stdout:flush()
  host.exit(code or 1)
end

return M
