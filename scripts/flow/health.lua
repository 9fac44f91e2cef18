--- flow.health: a tenant's daily counts of what went wrong, for the
--- studio's health page (every host adds to the same counts).
--
--   health.count(tenant, what, message?)   what: "failed_turns" | "llm_errors";
--       message (optional) becomes the tenant's last error {message, what, time}.
--       Best effort: a Redis failure is ignored (the turn goes on).
--   health.read(tenant) -> {failed_turns, llm_errors, last = {message, what, time} | nil}  (today's, UTC)
--
-- Keys: fh:health:{T}:<what>:<YYYY-MM-DD> (2 days), fh:health:{T}:last (7 days).
-- A rep's counts are its tenant's.
local redis = require "redis"
local json = require "json"
local time = require "time"

local M = {}

local function base(t) return (tostring(t):match("^([^.]+)")) end
local function day() return os.date("!%Y-%m-%d", math.floor(time.now())) end
local function key(t, part) return ("fh:health:{%s}:%s"):format(base(t), part) end

function M.count(tenant, what, message)
  pcall(function()
    local cmds = { { "INCR", key(tenant, what .. ":" .. day()) }, { "EXPIRE", key(tenant, what .. ":" .. day()), 172800 } }
    if message then
      cmds[3] = { "SET", key(tenant, "last"), json.encode{ message = tostring(message):sub(1, 500), what = what,
                                                           time = math.floor(time.now()) }, "EX", 7 * 86400 }
    end
    redis.pipeline(cmds)
  end)
end

function M.read(tenant)
  local r = redis.pipeline{ { "GET", key(tenant, "failed_turns:" .. day()) }, { "GET", key(tenant, "llm_errors:" .. day()) },
                            { "GET", key(tenant, "last") } }
  if type(r) ~= "table" then return { failed_turns = 0, llm_errors = 0 } end
  return { failed_turns = tonumber(r[1]) or 0, llm_errors = tonumber(r[2]) or 0,
           last = type(r[3]) == "string" and json.decode(r[3]) or nil }
end

return M
