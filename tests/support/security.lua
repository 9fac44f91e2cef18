--- Helpers of the security suite (tests/security/): a host serving the
--- fixture tenants (tests/fixtures/tenants, tests/fixtures/flows), a chat
--- client, and what the checks read from outside the host: its memory and
--- CPU from /proc, its metrics, its admin API, Redis keys.
--
--   security.start{env?, tenants_dir?, flows_dir?} -> s   (proc.start's s, plus
--       s.admin = the host's admin token, s.keys = chat API keys of goodco
--       and hostile (and of carwash); the host's address space is capped
--       at security.AS_CAP so that a bomb the host fails to stop cannot take
--       the machine with it)
--   security.stop(s, grace) -> seconds to exit after SIGTERM | nil (killed)
--   security.say(s, tenant, id, text, opts?) -> status, body (decoded), seconds
--       with the tenant's chat API key from s.keys unless opts.key (false: none)
--   security.conversation(s, tenant) -> a conversation id the server issued
--       (POST .../conversations), or a random one of ours if it issues none
--   security.api(s, method, path, opts?) -> status, body (decoded), seconds
--   security.memory(pid) -> {rss_kb, hwm_kb} | nil
--   security.cpu(pid) -> seconds of CPU the process used so far
--   security.busy(s, secs) -> share of one core the host used over secs
--   security.metric(text, name) -> the sum of a metric's series in /metrics text
--   security.keys(pattern, keep?) -> {key = {value = "type:value", expires}} of the keys matching
--   security.goodco_keys() -> M.keys of Good Co's lasting data
--   security.diff(before, after) -> a description of what changed | nil
--   security.p(list, q) -> the q-quantile of a list of numbers
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local M = {}

M.AS_CAP = 4 * 1024 * 1024 * 1024           -- bytes of address space the host may map
M.CPU_MS = 100                               -- the fixture tenants' CPU budget per turn
-- a turn over budget is stopped at 10x its budget (wall clock); the rest
-- is slack for a machine shared with other work
M.BOUND = 10 * M.CPU_MS / 1000 + 1.0

-- ports: FLOWHOST_TEST_PORTS="18480-18489" keeps a developer's runs in
-- their own range; otherwise proc.free_port()
local range_lo, range_hi = (os.getenv("FLOWHOST_TEST_PORTS") or ""):match("^(%d+)%-(%d+)$")
local next_port = tonumber(range_lo)

function M.port()
  if not next_port then return proc.free_port() end
  for _ = 1, tonumber(range_hi) - tonumber(range_lo) + 1 do
    local p = next_port
    next_port = next_port + 1
    if next_port > tonumber(range_hi) then next_port = tonumber(range_lo) end
    local _, err = http.request{ url = "http://127.0.0.1:" .. p .. "/", timeout = 0.3 }
    if err == "connection refused" then return p end
  end
  error("no free port in FLOWHOST_TEST_PORTS=" .. os.getenv("FLOWHOST_TEST_PORTS"))
end

--- A host with the admin, chat and webhook routes over the fixture tenants.
function M.start(opts)
  opts = opts or {}
  local admin = "adm-" .. crypto.random_hex(16)
  local keys = { goodco = "gk-" .. crypto.random_hex(12), hostile = "hk-" .. crypto.random_hex(12),
                 carwash = "ck-" .. crypto.random_hex(12) }
  local env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = admin, FLOWHOST_SHUTDOWN_GRACE = 3,
                FLOWHOST_MAX_CONNECTIONS_PER_IP = 256,   -- the product's default: the flood is judged on it
                GOODCO_API_KEY = keys.goodco, HOSTILE_API_KEY = keys.hostile, CARWASH_API_KEY = keys.carwash,
                FLOWHOST_TENANTS_DIR = opts.tenants_dir or "tests/fixtures/tenants",
                FLOWHOST_FLOWS_DIR = opts.flows_dir or "tests/fixtures/flows" }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local s = proc.start{ config = "config/flowhost.lua", env = env, port = M.port() }
  s.admin, s.env, s.keys = admin, env, keys
  os.execute(("prlimit --pid %d --as=%d:%d 2>/dev/null"):format(s.pid, M.AS_CAP, M.AS_CAP))
  return s
end

--- SIGTERM, then SIGKILL if it is still there after grace + 2 s. Returns
--- the seconds it took to exit after SIGTERM and its exit code, or nil
--- when it had to be killed.
function M.stop(s, grace)
  if not s or s.stopped then return nil end
  s.stopped = true
  local t0 = time.monotonic()
  local code = proc.stop(s, "TERM", (grace or 3) + 2)
  if code == nil then
    os.execute("kill -9 " .. s.pid .. " 2>/dev/null")
    proc.wait_exit(s, 5)
    return nil
  end
  return time.monotonic() - t0, code
end

--- Kills the host at once (a wedged host left by a failed check).
function M.kill(s)
  if not s or s.stopped then return end
  s.stopped = true
  os.execute("kill -9 " .. s.pid .. " 2>/dev/null")
  proc.wait_exit(s, 5)
end

--- true when /healthz answers 200 within secs.
function M.healthy(s, secs)
  local r = http.request{ url = s.url .. "/healthz", timeout = secs or 1 }
  return r ~= nil and r.status == 200
end

--- Any HTTP call: opts.body (a table is sent as JSON), opts.key (Bearer),
--- opts.headers, opts.timeout (default 10 s).
function M.api(s, method, path, opts)
  opts = opts or {}
  local headers = { ["Content-Type"] = "application/json" }
  if opts.key then headers["Authorization"] = "Bearer " .. opts.key end
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local body = opts.body
  if type(body) == "table" then body = json.encode(body) end
  local t0 = time.monotonic()
  local r, err = http.request{ method = method, url = s.url .. path, headers = headers, body = body,
                               timeout = opts.timeout or 10 }
  local dt = time.monotonic() - t0
  if not r then return nil, err, dt end
  return r.status, json.decode(r.body) or r.body, dt
end

--- One customer message on the JSON chat API.
function M.say(s, tenant, id, text, opts)
  opts = opts or {}
  local msg = opts.button and { button = opts.button } or { text = text }
  local key = opts.key
  if key == nil then key = s.keys and s.keys[tenant] end
  return M.api(s, "POST", "/v1/tenants/" .. tenant .. "/conversations/" .. id .. "/messages",
               { body = msg, key = key or nil, timeout = opts.timeout })
end

function M.conversation(s, tenant)
  local status, body = M.api(s, "POST", "/v1/tenants/" .. tenant .. "/conversations")
  if (status == 200 or status == 201) and type(body) == "table" and type(body.id) == "string" then
    return body.id, true
  end
  return "sec-" .. crypto.random_hex(16), false
end

--- The texts of a chat answer's replies, one per line.
function M.texts(body)
  local out = {}
  for _, r in ipairs(type(body) == "table" and body.replies or {}) do out[#out + 1] = r.text end
  return table.concat(out, "\n")
end

function M.admin(s, method, path, body)
  return M.api(s, method, path, { key = s.admin, body = body })
end

-- ---- the host from outside ------------------------------------------------

function M.memory(pid)
  local st = proc.read_file("/proc/" .. pid .. "/status")
  if not st then return nil end
  return { rss_kb = tonumber(st:match("VmRSS:%s*(%d+)")), hwm_kb = tonumber(st:match("VmHWM:%s*(%d+)")) }
end

local TICKS = tonumber(proc.sh("getconf CLK_TCK 2>/dev/null"):match("%d+")) or 100

function M.cpu(pid)
  -- nanoseconds on the CPU of each thread (schedstat), else clock ticks
  local threads = require("host").listdir("/proc/" .. pid .. "/task")
  if threads and #threads > 0 then
    local ns, seen = 0, false
    for _, tid in ipairs(threads) do
      local line = proc.read_file("/proc/" .. pid .. "/task/" .. tid .. "/schedstat")
      local run = line and tonumber(line:match("^(%d+)"))
      if run then ns, seen = ns + run, true end
    end
    if seen and ns > 0 then return ns / 1e9 end
  end
  local st = proc.read_file("/proc/" .. pid .. "/stat")
  if not st then return nil end
  -- fields after the command name (which may hold spaces) in parentheses
  local rest = st:match("%) (.*)$")
  local f = {}
  for x in rest:gmatch("%S+") do f[#f + 1] = x end
  return (tonumber(f[12]) + tonumber(f[13])) / TICKS     -- utime, stime
end

--- The share of one core the host used over the next secs seconds.
function M.busy(s, secs)
  local c0, t0 = M.cpu(s.pid), time.monotonic()
  time.sleep(secs)
  local c1 = M.cpu(s.pid)
  if not c0 or not c1 then return nil end
  return (c1 - c0) / (time.monotonic() - t0)
end

function M.metric(text, name)
  local sum, seen = 0, false
  for line in (text or ""):gmatch("[^\n]+") do
    local n, v = line:match("^([%w_]+)[^ ]* ([%d%.eE%+%-]+)$")
    if n == name then sum, seen = sum + tonumber(v), true end
  end
  return seen and sum or nil
end

-- ---- Redis ---------------------------------------------------------------

local function value_of(key)
  local kind = redis.call("TYPE", key)
  local v
  if kind == "string" then v = redis.call("GET", key)
  elseif kind == "hash" then v = redis.call("HGETALL", key)
  elseif kind == "zset" then v = redis.call("ZRANGE", key, 0, -1, "WITHSCORES")
  elseif kind == "set" then v = redis.call("SMEMBERS", key)
  elseif kind == "list" then v = redis.call("LRANGE", key, 0, -1)
  elseif kind == "stream" then v = redis.call("XRANGE", key, "-", "+")
  end
  if type(v) == "table" and kind ~= "list" and kind ~= "zset" and kind ~= "stream" then
    local flat = {}
    for i, x in ipairs(v) do flat[i] = tostring(x) end
    table.sort(flat)
    v = flat
  end
  return tostring(kind) .. ":" .. (type(v) == "table" and json.encode(v) or tostring(v))
end

--- Every key matching pattern (SCAN) that keep(key) accepts:
--- {key = {value = "type:value", expires = monotonic time | nil}}.
function M.keys(pattern, keep)
  local out, cursor = {}, "0"
  repeat
    local r = assert(redis.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000))
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      if not keep or keep(k) then
        local ms = redis.call("PTTL", k)
        out[k] = { value = value_of(k), expires = type(ms) == "number" and ms >= 0 and time.monotonic() + ms / 1000 or nil }
      end
    end
  until cursor == "0"
  return out
end

--- true for a key that lasts: no expiry, or more than 30 minutes left
--- (short-lived bookkeeping such as locks and rate counters comes and goes
--- by itself; data does not).
function M.lasting(key)
  local ms = redis.call("PTTL", key)
  return ms == -1 or (type(ms) == "number" and ms > 1800000)
end

--- Good Co's lasting keys, less the conversations the suite's probes and
--- load use (their ids start with "load-").
function M.goodco_keys()
  local out = M.keys("*goodco*", function(k) return not k:find("load-", 1, true) and M.lasting(k) end)
  -- the tenant's conversation index (flow.store, the studio's list) lists
  -- the probes' conversations too: compared without them
  local index = "fh:convs:{goodco}"
  if out[index] then
    local r = redis.call("ZRANGE", index, 0, -1, "WITHSCORES")
    local kept = {}
    for i = 1, #r - 1, 2 do
      if not r[i]:find("load-", 1, true) then kept[#kept + 1] = r[i] .. "=" .. r[i + 1] end
    end
    out[index].value = "zset without the probes: " .. table.concat(kept, ", ")
  end
  return out
end

--- What changed between two M.keys snapshots (nil: nothing). A key that
--- is gone because its time ran out is no change.
function M.diff(before, after)
  local lines = {}
  local now = time.monotonic()
  for k, e in pairs(before) do
    local v = e.value
    if after[k] == nil then
      if not e.expires or now < e.expires - 2 then lines[#lines + 1] = "gone: " .. k end
    elseif after[k].value ~= v then
      lines[#lines + 1] = "changed: " .. k .. "\n  was " .. v:sub(1, 300) .. "\n  now " .. after[k].value:sub(1, 300)
    end
  end
  for k in pairs(after) do
    if before[k] == nil then lines[#lines + 1] = "new: " .. k end
  end
  table.sort(lines)
  return #lines > 0 and table.concat(lines, "\n") or nil
end

-- ---- numbers -------------------------------------------------------------

function M.p(list, q)
  local sorted = {}
  for i, x in ipairs(list) do sorted[i] = x end
  table.sort(sorted)
  return sorted[math.max(1, math.ceil(#sorted * q))]
end

--- A mobile number (10 digits, starting 9) no earlier run has used.
function M.phone()
  return "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
end

return M
