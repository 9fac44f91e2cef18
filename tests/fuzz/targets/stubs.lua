--- Stand-ins for what the routes reach outside one Lua state: Redis, the
--- tenant registry (flow.tenants: tenant states live elsewhere) and the task
--- scheduler (host.spawn/park/wake). Everything else a webhook touches is
--- the real runtime library: the router, the route, the channel registry,
--- the adapters, channels.inbound, channels.turn, json, crypto.
---
---   stubs.install() -> stubs      once per state, before any route loads
---   stubs.reset()                 forgets what the last input recorded
---   stubs.calls                   {{cmd, arg1, ...}, ...} Redis commands sent
---   stubs.turns                   {{tenant, conversation, msg}, ...} turns run
---   stubs.TENANT, stubs.CREDS     the one tenant and its channel credentials
---
--- The Redis stand-in checks its arguments as the C binding does (strings
--- or numbers only: anything else raises there, which is a 500) and answers
--- like an empty Redis. A function a route needs that is missing here
--- raises with a message saying so: add it below.
local M = { calls = {}, turns = {}, TENANT = "fuzz" }

M.CREDS = {
  telegram = { token = "123:fuzz", secret = "tg-secret-fuzz" },
  whatsapp = { token = "wa-token", app_secret = "wa-secret-fuzz", verify_token = "wa-verify-fuzz",
               phone_number_id = "106540352242922" },
  twilio = { account_sid = "ACfuzz", auth_token = "tw-token-fuzz", from = "whatsapp:+14155238886",
             webhook_url = "https://fuzz.example/webhooks/fuzz/twilio" },
  vapi = { secret = "vapi-secret-fuzz", assistant_id = "asst-fuzz", deadline = 1 },
  wapi = { secret = "wapi-secret-fuzz", token = "wapi-token", api_url = "http://127.0.0.1:9" },
}

local function missing(module)
  return { __index = function(_, k)
    error(("tests/fuzz/targets/stubs.lua: the fuzz stand-in for '%s' has no '%s'; add it there"):format(module, tostring(k)), 2)
  end }
end

local REPLIES = {   -- what a fake Redis answers, by command; anything else: "OK"
  XADD = "1700000000000-0", HSET = 1, DEL = 1, INCR = 1, INCRBY = 1, EXPIRE = 1, PEXPIRE = 1,
  XLEN = 0, HLEN = 0, ZADD = 1, SADD = 1, PING = "PONG", EXISTS = 0, TTL = -2, PTTL = -2,
}

local function redis_stub(null)
  local r = { null = null }
  function r.call(...)
    local n = select("#", ...)
    if n == 0 then error("redis.call: a command name is required", 2) end
    local cmd = {}
    for i = 1, n do
      local v = select(i, ...)
      local t = type(v)
      if t ~= "string" and t ~= "number" then
        error(("redis.call: argument %d must be a string or number, got %s"):format(i, t), 2)
      end
      cmd[i] = v
    end
    M.calls[#M.calls + 1] = cmd
    local name = tostring(cmd[1]):upper()
    if name == "GET" or name == "HGET" or name == "EVALSHA" or name == "EVAL" then return null end
    if name == "HGETALL" or name == "XRANGE" or name == "XREVRANGE" or name == "LRANGE" or name == "ZRANGE" then return {} end
    return REPLIES[name] or "OK"
  end
  function r.pipeline(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = r.call(unpack(c)) end
    return out
  end
  function r.connected() return true end
  return setmetatable(r, missing("redis"))
end

-- a turn's answer as the tenant state would give it (flow.tenants.call)
local function turn_answer(payload)
  local json = require "json"
  local p = json.decode(payload)
  if type(p) ~= "table" or type(p.msg) ~= "table" then error("channels.turn sent a turn without a message", 2) end
  M.turns[#M.turns + 1] = { p.tenant, p.id, p.msg }
  local text = p.msg.text or p.msg.button or p.msg.kind
  return json.encode{ res = { replies = {
    { text = "you said:\n" .. tostring(text), buttons = { { id = "yes", title = "Yes" }, { id = "no", title = "No" } } },
  } } }
end

local function tenants_stub()
  local t = {}
  function t.status(id)
    if id ~= M.TENANT then return nil end
    return { version = "v1", settings = { channels = M.CREDS } }
  end
  function t.call(id, fn, payload)
    if id ~= M.TENANT then return nil, "unknown tenant" end
    if fn ~= "turn" then error("fuzz stand-in flow.tenants.call: no '" .. tostring(fn) .. "'", 2) end
    return turn_answer(payload)
  end
  function t.start() end
  return setmetatable(t, missing("flow.tenants"))
end

-- tasks run at once, to the end: nothing parks in a fuzz run
local function host_stub(real)
  local h = {}
  function h.set_route() end
  function h.spawn(fn, ...) fn(...); return 2 end
  function h.task_id() return 1 end
  function h.park() return true end
  function h.wake() return true end
  function h.worker() return 0 end
  function h.workers() return 1 end
  return setmetatable(h, { __index = real })
end

local installed = false

function M.install()
  if installed then return M end
  installed = true
  local real_redis, real_host = require("redis"), require("host")
  package.loaded.redis = redis_stub(real_redis.null)
  package.loaded.host = host_stub(real_host)
  package.loaded["flow.tenants"] = tenants_stub()
  return M
end

function M.reset()
  M.calls, M.turns = {}, {}
end

return M
