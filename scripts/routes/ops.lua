-- Operations endpoints: liveness, readiness and Prometheus metrics.
--
--   GET /healthz  200 {"status": "ok"} while the process answers (no Redis,
--                 no tenant state: a load balancer restarts on this one)
--   GET /readyz   200 {"status": "ready"} when the host can serve:
--                   - Redis takes a write (a SET with a 10 s life: PING still
--                     answers while maxmemory with noeviction refuses writes)
--                   - every tenant (flow.tenants list()) has a good version,
--                     when this host serves tenants
--                 else 503 {"status": "not ready", "reasons": ["..."] (a
--                           broken tenant's names its file, line and error),
--                           "redis": "<error>"?, "tenants": ["<id>", ...]?}
--   GET /metrics  Prometheus text
--
-- The tenant check is reused for a second, so a flood of /readyz costs one
-- Redis write each and at most one tenant scan per worker per second.
local router = require "host.router"
local redis = require "redis"
local host = require "host"
local json = require "json"
local time = require "time"

local PROBE_KEY = "fh:readyz"        -- overwritten by every probe, expires by itself
local PROBE_MS = 10000
local TENANT_CHECK_TTL = 1           -- seconds a tenant scan is reused
local TENANT_CHECK_STALL = 5         -- seconds a scan may run before it is a reason itself

router.route("GET", "/healthz", function()
  return router.json(200, { status = "ok" })
end)

-- nil when Redis took a write, else its error
local function redis_problem()
  local ok, err = redis.call("SET", PROBE_KEY, "1", "PX", PROBE_MS)
  if ok == "OK" then return nil end
  return tostring(err or "no answer")
end

-- why a tenant with no good version has none: its last error as
-- "file:line: message", or nil when none was recorded
local function why(st)
  local e = st.last_error
  if type(e) ~= "table" then return nil end
  local msg = tostring(e.message or "")
  if type(e.file) == "string" then
    return ("%s:%s: %s"):format(e.file, tostring(e.line ~= json.null and e.line or "?"), msg)
  end
  return msg ~= "" and msg or nil
end

-- the tenants with no good version, in list order, as {id, why} (yields:
-- a tenant's status may live on another worker)
local function scan(tenants)
  local bad = {}
  for _, id in ipairs(tenants.list()) do
    local st = tenants.status(id)
    if st and (st.version == nil or st.version == json.null) then bad[#bad + 1] = { id = id, why = why(st) } end
  end
  return bad
end

local checked = { at = -math.huge, bad = nil, since = nil }

-- tenants with no good version ({} when none, or when this host serves no
-- tenants), as {id, why} | nil, err when the scan failed or hangs
local function tenant_problems()
  local tenants = package.loaded["flow.tenants"]
  if not tenants then return {} end
  local now = time.monotonic()
  if now - checked.at < TENANT_CHECK_TTL then return checked.bad end
  if checked.since then                          -- another request is scanning
    if now - checked.since > TENANT_CHECK_STALL then
      return nil, ("the tenant check has not finished in %d s (a worker does not answer)")
        :format(math.floor(now - checked.since))
    end
    if checked.bad then return checked.bad end
  end
  checked.since = now
  local ok, bad = pcall(scan, tenants)
  checked.since = nil
  if not ok then return nil, "the tenant check failed: " .. tostring(bad) end
  checked.at, checked.bad = time.monotonic(), bad
  return bad
end

router.route("GET", "/readyz", function()
  local reasons, out = {}, { status = "not ready" }
  local rerr = redis_problem()
  if rerr then
    out.redis = rerr
    reasons[#reasons + 1] = rerr == "redis unavailable" and "redis is unreachable"
      or "redis refuses writes: " .. rerr
  end
  local bad, terr = tenant_problems()
  if not bad then
    reasons[#reasons + 1] = terr
  elseif #bad > 0 then
    local ids = {}
    for i, b in ipairs(bad) do
      ids[i] = b.id
      reasons[#reasons + 1] = b.why
        and ("tenant '%s' has no good version: %s (fix it and save: the host reloads it)"):format(b.id, b.why)
        or ("tenant '%s' has no good version (GET /admin/tenants/%s says why)"):format(b.id, b.id)
    end
    out.tenants = json.array(ids)
  end
  if #reasons == 0 then return router.json(200, { status = "ready" }) end
  out.reasons = json.array(reasons)
  return router.json(503, out)
end)

router.route("GET", "/metrics", function()
  return 200, host.metrics(), { ["Content-Type"] = "text/plain; version=0.0.4" }
end)
