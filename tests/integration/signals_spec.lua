-- Operations signals on a real host (tests/fixtures/tenants/signals.lua):
-- /metrics counts per tenant what an operator watches (turns, failed turns,
-- fallback replies, LLM calls and their time, bookings made and cancelled,
-- hand-offs opened and timed out, reloads accepted and rejected, the
-- version served), the LLM circuit breaker answers at once while its LLM
-- is down and closes after a probe, an LLM without a key (a local Ollama)
-- is a valid setting, and `flowhost serve` without --config reads
-- config/flowhost.lua where it runs.
local proc = require "proc"
local chat = require "chat"
local http = require "http"
local json = require "json"
local crypto = require "crypto"
local time = require "time"

local LLM = os.getenv("LLM_FAKE_URL") or "http://127.0.0.1:19002"
local REDIS = os.getenv("REDIS_URL") or "redis://127.0.0.1:16379"
local tmp = "var/test"

-- a folder with the signals tenant (and the platform defaults) to edit
local function tenant_dir()
  local dir = tmp .. "/signals-" .. crypto.random_hex(4)
  proc.sh("mkdir -p " .. dir .. "/tenants " .. dir .. "/flows && cp tests/fixtures/tenants/signals.lua "
    .. "tests/fixtures/tenants/_platform.lua " .. dir .. "/tenants/ && cp -r tests/fixtures/flows/signals "
    .. dir .. "/flows/")
  return dir
end

local function script(model, steps)
  local r = assert(http.request{ method = "POST", url = LLM .. "/_control/script",
    headers = { ["Content-Type"] = "application/json" }, body = json.encode{ model = model, steps = steps } })
  assert.are.equal(200, r.status, r.body)
end

local function requests(url, model)
  local r = assert(http.request{ url = url .. "/_control/requests?model=" .. model })
  return json.decode(r.body).requests
end

local function scrape(s)
  local r = assert(http.request{ url = s.url .. "/metrics" })
  assert.are.equal(200, r.status)
  return r.body
end

-- the value of one series (name and its exact label text), 0 when absent
local function value(body, name, labels)
  local line = name .. (labels and ("{" .. labels .. "}") or "") .. " "
  local at = body:find("\n" .. line, 1, true)
  if not at then return 0 end
  return tonumber(body:match("^(%S+)", at + 1 + #line))
end

-- the text of the first reply, and the body
local function say(c, name, text)
  local r = assert(c:say("signals", name, text))
  assert.are.equal(200, r.status, r.body)
  local body = json.decode(r.body)
  return body.replies[1] and body.replies[1].text, body
end

describe("per-tenant operations signals", function()
  local s, dir, model, c
  local T = 'tenant="signals"'

  setup(function()
    dir = tenant_dir()
    model = "signals-" .. crypto.random_hex(4)
    s = proc.start{ config = "config/flowhost.lua", env = {
      FLOWHOST_WORKERS = 1, REDIS_URL = REDIS, FLOWHOST_TENANTS_DIR = dir .. "/tenants",
      FLOWHOST_FLOWS_DIR = dir .. "/flows", SIGNALS_LLM_URL = LLM .. "/v1", SIGNALS_LLM_MODEL = model,
      SIGNALS_LLM_KEY = "sk-signals-spec", SIGNALS_HANDOFF_TIMEOUT = 2 } }
    c = chat.new(s.url)
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  it("declares every family before it has samples", function()
    local m = scrape(s)
    for _, f in ipairs{ { "flowhost_turns_total", "counter" }, { "flowhost_turns_failed_total", "counter" },
                        { "flowhost_fallback_replies_total", "counter" }, { "flowhost_llm_calls_total", "counter" },
                        { "flowhost_llm_call_seconds", "histogram" }, { "flowhost_llm_breaker_state", "gauge" },
                        { "flowhost_bookings_total", "counter" }, { "flowhost_handoffs_total", "counter" },
                        { "flowhost_tenant_reloads_total", "counter" }, { "flowhost_tenant_version_info", "gauge" } } do
      assert.truthy(m:find("# TYPE " .. f[1] .. " " .. f[2] .. "\n", 1, true), f[1])
    end
  end)

  it("counts turns, a failed turn and its fallback, LLM calls, a booking, a cancel and a hand-off", function()
    local before = scrape(s)
    local redis = require "redis"
    local function health_failed()      -- the studio's daily count (flow.health), from the same place
      return tonumber(redis.call("GET", "fh:health:{signals}:failed_turns:" .. os.date("!%Y-%m-%d"))) or 0
    end
    local health_before = health_failed()
    assert.are.equal("pong", (say(c, "a", "hi")))
    -- a flow that raises: 200, the tenant's fallback, "flow failed"
    local text, body = say(c, "a", "boom")
    assert.are.equal("Sorry, Signals had a problem.", text)
    assert.are.equal("flow failed", body.error)
    local booked = say(c, "a", "book " .. tonumber(crypto.random_hex(2), 16) % 600)   -- (a free hour)
    local id = booked:match("^booked (%S+)$")
    assert.truthy(id, booked)
    assert.are.equal("cancelled " .. id, (say(c, "a", "drop " .. id)))
    assert.are.equal("cancelled " .. id, (say(c, "a", "drop " .. id)))   -- once is a cancel, twice is not
    script(model, { { status = 500 }, { content = "fine" } })
    assert.are.equal("llm failed: unavailable", (say(c, "a", "ask")))
    assert.are.equal("llm: fine", (say(c, "a", "ask")))
    -- a person takes over; nobody writes for 2 s: it times out
    assert.are.equal("A colleague will write.", (say(c, "b", "I want to talk to a human")))
    local timed_out = proc.wait_until(function()
      return value(scrape(s), "flowhost_handoffs_total", T .. ',event="timed_out"') >= 1
    end, 10)
    assert.is_true(timed_out == true, "the hand-off did not time out")

    local after = scrape(s)
    local function delta(name, labels) return value(after, name, labels) - value(before, name, labels) end
    assert.are.equal(8, delta("flowhost_turns_total", T))
    assert.are.equal(1, delta("flowhost_turns_failed_total", T .. ',reason="flow"'))
    assert.are.equal(1, delta("flowhost_fallback_replies_total", T))
    assert.are.equal(1, health_failed() - health_before)
    assert.are.equal(1, delta("flowhost_bookings_total", T .. ',event="made"'))
    assert.are.equal(1, delta("flowhost_bookings_total", T .. ',event="cancelled"'))
    assert.are.equal(1, delta("flowhost_llm_calls_total", T .. ',provider="openai",outcome="ok"'))
    assert.are.equal(1, delta("flowhost_llm_calls_total", T .. ',provider="openai",outcome="unavailable"'))
    assert.are.equal(2, delta("flowhost_llm_call_seconds_count", T .. ',provider="openai"'))
    assert.is_true(delta("flowhost_llm_call_seconds_sum", T .. ',provider="openai"') > 0)
    assert.are.equal(1, delta("flowhost_handoffs_total", T .. ',event="opened"'))
    assert.are.equal(1, delta("flowhost_handoffs_total", T .. ',event="timed_out"'))
    assert.are.equal(0, value(after, "flowhost_llm_breaker_state", T .. ',endpoint="' .. LLM .. '/v1"'))
  end)

  it("counts a turn of a tenant with no good version as failed, and /readyz says why", function()
    proc.sh("cp tests/fixtures/tenants/broken.lua " .. dir .. "/tenants/ && cp -r tests/fixtures/flows/broken "
      .. dir .. "/flows/")
    local B = 'tenant="broken"'
    local res
    proc.wait_until(function()                        -- (until its first load has failed)
      res = assert(http.request{ url = s.url .. "/readyz" })
      return res.status == 503 and res.body:find("no good version: ", 1, true) ~= nil
    end, 15)
    assert.are.equal(503, res.status, res.body)
    local why = json.decode(res.body).reasons[1]
    assert.truthy(why:find("tenant 'broken' has no good version: [^ ]*flows/broken/[%w_]+%.lua:%d+: "), why)
    local before = scrape(s)
    local r = assert(c:say("broken", "a", "hi"))
    assert.are.equal(503, r.status, r.body)
    assert.are.equal("tenant broken", json.decode(r.body).error)
    local after = scrape(s)
    assert.are.equal(1, value(after, "flowhost_turns_failed_total", B .. ',reason="tenant_broken"')
      - value(before, "flowhost_turns_failed_total", B .. ',reason="tenant_broken"'))
    assert.are.equal(1, value(after, "flowhost_turns_total", B) - value(before, "flowhost_turns_total", B))
    assert.is_true(value(after, "flowhost_tenant_reloads_total", B .. ',outcome="rejected"') >= 1)
    os.remove(dir .. "/tenants/broken.lua")
    local ready = proc.wait_until(function() return assert(http.request{ url = s.url .. "/readyz" }).status == 200 end, 10)
    assert.is_true(ready == true, "not ready again after the broken tenant left")
  end)

  it("counts a rejected reload, keeps serving, and moves the version served on an accepted one", function()
    local m = scrape(s)
    local v1 = m:match('flowhost_tenant_version_info{tenant="signals",version="(%x+)"} 1')
    assert.truthy(v1, m:match("flowhost_tenant_version_info[^\n]*"))
    local accepted = value(m, "flowhost_tenant_reloads_total", T .. ',outcome="accepted"')
    local rejected = value(m, "flowhost_tenant_reloads_total", T .. ',outcome="rejected"')
    assert.is_true(accepted >= 1)
    proc.edit_file(dir .. "/flows/signals/flow.lua", 'c:say("pong")', 'c:say("pong"')   -- a syntax error
    local seen = proc.wait_until(function()
      return value(scrape(s), "flowhost_tenant_reloads_total", T .. ',outcome="rejected"') == rejected + 1
    end, 10)
    assert.is_true(seen == true, "the rejected reload was not counted")
    assert.are.equal("pong", (say(c, "r", "hi")))                    -- the last good version serves
    proc.edit_file(dir .. "/flows/signals/flow.lua", 'c:say("pong"', 'c:say("pong")')
    proc.edit_file(dir .. "/flows/signals/messages.lua", 'pong = "pong"', 'pong = "pong!"')
    local moved = proc.wait_until(function() return say(c, "r", "hi") == "pong!" end, 10)
    assert.is_true(moved == true, "the fixed version was not served")
    m = scrape(s)
    assert.are.equal(accepted + 1, value(m, "flowhost_tenant_reloads_total", T .. ',outcome="accepted"'))
    assert.are.equal(rejected + 1, value(m, "flowhost_tenant_reloads_total", T .. ',outcome="rejected"'))
    local v2 = m:match('flowhost_tenant_version_info{tenant="signals",version="(%x+)"} 1')
    assert.truthy(v2 and v2 ~= v1, m:match("flowhost_tenant_version_info[^\n]*"))
    assert.are.equal(0, value(m, "flowhost_tenant_version_info", T .. ',version="' .. v1 .. '"'))
  end)
end)

describe("the LLM circuit breaker", function()
  local s, dir, model, c
  local T = 'tenant="signals"'
  local GAUGE

  setup(function()
    dir = tenant_dir()
    model = "breaker-" .. crypto.random_hex(4)
    GAUGE = T .. ',endpoint="' .. LLM .. '/v1"'
    s = proc.start{ config = "config/flowhost.lua", env = {
      FLOWHOST_WORKERS = 1, REDIS_URL = REDIS, FLOWHOST_TENANTS_DIR = dir .. "/tenants",
      FLOWHOST_FLOWS_DIR = dir .. "/flows", SIGNALS_LLM_URL = LLM .. "/v1", SIGNALS_LLM_MODEL = model,
      SIGNALS_LLM_KEY = "sk-signals-spec", SIGNALS_LLM_TIMEOUT = 3, SIGNALS_LLM_COOLDOWN = 2 } }
    c = chat.new(s.url)
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  -- the answer to "ask" and the seconds it took
  local function ask(name)
    local t0 = time.monotonic()
    local text = say(c, name, "ask")
    return text, time.monotonic() - t0
  end

  -- a hung call costs its timeout (3 s); while open a call takes no more
  -- than a turn without the LLM (bound: 1 s, generous on a shared machine)
  it("opens after 2 timeouts in a row, answers at once while open, and closes after a probe succeeds", function()
    assert.are.equal("llm: ok", (ask("a")))                          -- up, closed
    assert.are.equal(0, value(scrape(s), "flowhost_llm_breaker_state", GAUGE))
    script(model, { { delay_ms = 8000 }, { delay_ms = 8000 } })     -- it hangs (timeout = 3 s)
    for _ = 1, 2 do
      local text, took = ask("a")
      assert.are.equal("llm failed: timeout", text)
      assert.is_true(took >= 2.9, ("a hung LLM answered in %.2f s"):format(took))
    end
    local m = scrape(s)
    assert.are.equal(1, value(m, "flowhost_llm_breaker_state", GAUGE))
    -- open: the flow gets the LLM's error word at once, the LLM is not asked
    local sent = #requests(LLM, model)
    local refused = value(m, "flowhost_llm_calls_total", T .. ',provider="openai",outcome="breaker open"')
    local slowest = 0
    for _ = 1, 3 do
      local text, took = ask("b")
      assert.are.equal("llm failed: unavailable", text)
      assert.is_true(took < 1, ("an open breaker took %.2f s"):format(took))
      slowest = math.max(slowest, took)
    end
    print(("\n  a turn while the breaker is open: %.3f s at most (a hung LLM: 3 s each)"):format(slowest))
    assert.are.equal(sent, #requests(LLM, model))
    assert.are.equal(refused + 3, value(scrape(s), "flowhost_llm_calls_total",
      T .. ',provider="openai",outcome="breaker open"'))
    -- after the cool-down one probe goes through; it fails: open again
    time.sleep(2.2)
    script(model, { { status = 503 } })
    assert.are.equal("llm failed: unavailable", (ask("b")))
    assert.are.equal(sent + 1, #requests(LLM, model))
    assert.are.equal(1, value(scrape(s), "flowhost_llm_breaker_state", GAUGE))
    local _, took = ask("b")
    assert.is_true(took < 1, ("an open breaker took %.2f s"):format(took))
    assert.are.equal(sent + 1, #requests(LLM, model))
    -- the next probe gets an answer: closed, calls go through again
    time.sleep(2.2)
    script(model, { { content = "back" } })
    assert.are.equal("llm: back", (ask("b")))
    assert.are.equal(0, value(scrape(s), "flowhost_llm_breaker_state", GAUGE))
    assert.are.equal("llm: ok", (ask("b")))
    assert.are.equal(sent + 3, #requests(LLM, model))
  end)
end)

describe("an LLM without an API key (a local Ollama)", function()
  local s, dir, fake, fake_pid, model, c

  setup(function()
    dir = tenant_dir()
    model = "nokey-" .. crypto.random_hex(4)
    local port = proc.free_port()
    fake = "http://127.0.0.1:" .. port
    fake_pid = tonumber(proc.sh(("python3 tests/fakes/llm.py --no-auth --port %d > %s/llm.out 2>&1 & echo $!")
      :format(port, dir)))
    assert.truthy(proc.wait_until(function() return (proc.read_file(dir .. "/llm.out") or ""):find("READY") end, 20))
    s = proc.start{ config = "config/flowhost.lua", env = {
      FLOWHOST_WORKERS = 1, REDIS_URL = REDIS, FLOWHOST_TENANTS_DIR = dir .. "/tenants",
      FLOWHOST_FLOWS_DIR = dir .. "/flows", SIGNALS_LLM_URL = fake .. "/v1", SIGNALS_LLM_MODEL = model } }
    c = chat.new(s.url)
  end)
  teardown(function()
    if s then proc.stop(s) end
    if fake_pid then os.execute("kill " .. fake_pid .. " 2>/dev/null") end
    proc.sh("rm -rf " .. dir)
  end)

  it("lets the car-service tenant load with CARWASH_LLM_URL and no CARWASH_LLM_KEY", function()
    local out = proc.sh("env -u CARWASH_LLM_KEY CARWASH_LLM_URL=" .. fake .. "/v1 " .. proc.BIN
      .. " check carwash 2>&1; echo exit=$?")
    assert.truthy(out:find("carwash: ok", 1, true) and out:find("llm on", 1, true), out)
    assert.truthy(out:find("exit=0", 1, true), out)
  end)

  it("serves the tenant and calls the LLM with no Authorization header", function()
    local res = assert(http.request{ url = s.url .. "/readyz" })
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("llm: ok", (say(c, "a", "ask")))
    local seen = requests(fake, model)
    assert.are.equal(1, #seen)
    assert.is_nil(seen[1].headers.authorization)
  end)
end)

describe("flowhost serve without --config", function()
  local dir

  setup(function()
    dir = proc.sh("pwd"):gsub("%s+$", "") .. "/" .. tmp .. "/noconfig-" .. crypto.random_hex(4)
    proc.sh("mkdir -p " .. dir .. "/empty")
  end)
  teardown(function() proc.sh("rm -rf " .. dir) end)

  it("reads config/flowhost.lua from the folder it runs in, says so, and serves its routes", function()
    local here = dir .. "/site"
    proc.sh("mkdir -p " .. here .. "/config/tenants " .. here .. "/flows && cp tests/fixtures/tenants/signals.lua "
      .. "tests/fixtures/tenants/_platform.lua " .. here .. "/config/tenants/ && cp -r tests/fixtures/flows/signals "
      .. here .. "/flows/ && ln -s " .. proc.sh("pwd"):gsub("%s+$", "") .. "/scripts " .. here .. "/scripts")
    proc.write_file(here .. "/config/flowhost.lua", 'return { routes = "ops,chat", workers = 1 }\n')
    local s = proc.start{ config = false, cwd = here, env = { REDIS_URL = REDIS } }
    local ok, err = pcall(function()
      local log = proc.read_file(s.log)
      assert.truthy(log:find('"msg":"configuration read","config":"config/flowhost.lua"', 1, true), log)
      assert.are.equal("pong", (say(chat.new(s.url), "a", "hi")))   -- chat is served: the file's routes
    end)
    proc.stop(s)
    assert(ok, err)
  end)

  it("says in the log that there is no configuration file where there is none", function()
    local s = proc.start{ config = false, cwd = dir .. "/empty", env = { REDIS_URL = REDIS,
      FLOWHOST_SCRIPTS = proc.sh("pwd"):gsub("%s+$", "") .. "/scripts" } }
    local ok, err = pcall(function()
      local log = proc.read_file(s.log)
      assert.truthy(log:find("no configuration file: config/flowhost.lua does not exist here", 1, true), log)
      local res = assert(http.request{ method = "POST", url = s.url .. "/v1/tenants/signals/conversations" })
      assert.are.equal(404, res.status)                               -- the built-in routes: ops only
    end)
    proc.stop(s)
    assert(ok, err)
  end)
end)
