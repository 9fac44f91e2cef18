--- llm.breaker: a circuit breaker per tenant and LLM endpoint, so that a
--- dead or hanging LLM costs a conversation nothing once it is known dead.
--
--   breaker.new{tenant?, endpoint, failures?, cooldown?} -> b
--       failures: consecutive failed calls that open it (default 3)
--       cooldown: seconds it stays open before one probe (default 30)
--   breaker.get{...} -> b   the same, but one per tenant and endpoint in this
--       Lua state: a tenant's clients (its own and its sales reps') share
--       it, the first one's settings win; without a tenant, a new one
--   b:allow() -> true, probe? | false
--       closed: true; open: false (the caller fails at once) until the
--       cool-down is over, then true, true for exactly one caller (the
--       half-open probe; the others keep failing at once until it ends)
--   b:done(up, probe)  the outcome of a call allow() let through: up false
--                for an error that says the endpoint is down or overloaded
--                (breaker.TRIPS), true for any answer (a refusal included), nil
--                when no request was made (the caller's deadline had passed)
--   b.state      "closed" | "open" | "half-open"
--   breaker.TRIPS  the LLM error words that count as a failure
--
-- States: closed --(failures in a row)--> open --(cooldown)--> half-open;
-- half-open --(the probe succeeds)--> closed, --(it fails)--> open again.
-- The state is shown in flowhost_llm_breaker_state{tenant,endpoint}
-- (0 closed, 1 open, 2 half-open) and every change is logged. It lives in
-- the Lua state that made the client (a tenant's state on its worker): a
-- tenant's reload starts closed. Never yields.
local time = require "time"
local log = require "log"
local host = require "host"

local M = {}
local B = {}
B.__index = B

M.TRIPS = { timeout = true, deadline = true, unavailable = true, ["rate limited"] = true }

local GAUGE = { closed = 0, open = 1, ["half-open"] = 2 }

local function show(self, state)
  if self.state == state then return end
  local before = self.state
  self.state = state
  local labels = ('endpoint="%s"'):format(host.escape_label(self.endpoint))
  if self.tenant then labels = ('tenant="%s",'):format(host.escape_label(self.tenant)) .. labels end
  host.metric_set("flowhost_llm_breaker_state", labels, GAUGE[state])
  if before then
    local fields = { tenant = self.tenant, endpoint = self.endpoint, from = before, to = state }
    if state == "open" then
      fields.cooldown = self.cooldown
      log.warn("llm: breaker open; LLM calls fail at once until a probe succeeds", fields)
    else
      log.info("llm: breaker " .. state, fields)
    end
  end
end

-- an endpoint as a label: no user:password@, no query string
local function endpoint_label(url)
  return (tostring(url):gsub("^(%a[%w+.-]*://)[^/@]*@", "%1"):gsub("%?.*$", ""))
end

function M.new(opts)
  local self = setmetatable({ tenant = opts.tenant, endpoint = endpoint_label(opts.endpoint),
                              failures = opts.failures or 3, cooldown = opts.cooldown or 30,
                              fails = 0, opened_at = 0 }, B)
  show(self, "closed")
  return self
end

function B:allow()
  if self.state == "closed" then return true end
  local now = time.monotonic()
  if self.state == "open" and now - self.opened_at >= self.cooldown then show(self, "half-open") end
  -- one probe at a time; a probe whose task died (stopped over its budget)
  -- without an answer gives way to another after a cool-down
  if self.state == "half-open" and (not self.probe_at or now - self.probe_at >= self.cooldown) then
    self.probe_at = now
    return true, true
  end
  return false
end

function B:done(up, probe)
  if probe then self.probe_at = nil end
  if up == nil then return end                    -- it was not asked: nothing learnt
  if up then
    self.fails = 0
    show(self, "closed")
    return
  end
  self.fails = self.fails + 1
  if probe or (self.state == "closed" and self.fails >= self.failures) then
    self.opened_at = time.monotonic()
    show(self, "open")
  end
end

local shared = {}        -- "<tenant> <endpoint>" -> breaker, in this Lua state

function M.get(opts)
  if not opts.tenant then return M.new(opts) end
  local key = opts.tenant .. " " .. endpoint_label(opts.endpoint)
  local b = shared[key]
  if not b then
    b = M.new(opts)
    shared[key] = b
  end
  return b
end

return M
