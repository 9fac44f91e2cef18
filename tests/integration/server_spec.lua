-- The HTTP server against the real binary and a real Redis: concurrency,
-- limits, errors and operations endpoints.
local proc = require "proc"
local http = require "http"
local redis = require "redis"
local json = require "json"
local time = require "time"

describe("flowhost serve", function()
  local s

  setup(function()
    redis.call("DEL", "test:lock:inside", "test:lock:overlaps", "test:lock:entries")
    s = proc.start{ env = { FLOWHOST_WORKERS = 2 } }
  end)

  teardown(function()
    if s then proc.stop(s) end
  end)

  it("answers /healthz and /readyz with 200 while Redis is up", function()
    local h = assert(http.request{ url = s.url .. "/healthz" })
    assert.are.equal(200, h.status)
    local r = assert(http.request{ url = s.url .. "/readyz" })
    assert.are.equal(200, r.status)
    assert.are.equal("ready", json.decode(r.body).status)
  end)

  it("answers 404 with a JSON error for an unknown path", function()
    local r = assert(http.request{ url = s.url .. "/no/such/route" })
    assert.are.equal(404, r.status)
    assert.are.equal("not found", json.decode(r.body).error)
  end)

  it("completes 500 concurrent requests that each wait 1 s upstream in well under 2 s", function()
    local reqs = {}
    for i = 1, 500 do reqs[i] = { url = s.url .. "/test/upstream?ms=1000", timeout = 10 } end
    local t0 = time.monotonic()
    local results = http.all(reqs)
    local elapsed = time.monotonic() - t0
    local ok = 0
    for _, r in ipairs(results) do if r.status == 200 then ok = ok + 1 end end
    assert.are.equal(500, ok)
    print(("\n  500 x 1 s upstream waits with 2 workers: %.2f s"):format(elapsed))
    assert.is_true(elapsed < 1.6, ("took %.2f s"):format(elapsed))
  end)

  it("spreads connections over both workers, each parsing and handling its own", function()
    local seen = {}
    for round = 1, 5 do
      local reqs = {}
      for i = 1, 64 do reqs[i] = { url = s.url .. "/test/worker", headers = { Connection = "close" } } end
      for _, r in ipairs(http.all(reqs)) do
        assert.are.equal(200, r.status)
        seen[json.decode(r.body).worker] = true
      end
      if seen[0] and seen[1] then break end
    end
    assert.is_true(seen[0] and seen[1], "not both workers answered")
  end)

  it("keeps answering sustained load on 256 connections, run after run (no stalls)", function()
    -- regression: with libmicrohttpd's epoll backend, resumed connections
    -- stalled for good after the first load run; wrk then reports timeouts
    for run = 1, 3 do
      local out = proc.sh("wrk -t2 -c256 -d2s --timeout 1s " .. s.url .. "/healthz 2>&1")
      local requests = tonumber(out:match("(%d+) requests in"))
      assert.is_not_nil(requests, out)
      -- the regression showed as timeouts on open connections; some of the
      -- 256 connects wrk opens at once failing on a busy machine (seen: 3-68,
      -- never alone) is not it, so read, write and timeout count, and
      -- connects only when most fail
      local c, rd, wr, to = out:match("Socket errors: connect (%d+), read (%d+), write (%d+), timeout (%d+)")
      if c then
        assert.is_true(tonumber(rd) == 0 and tonumber(wr) == 0 and tonumber(to) == 0 and tonumber(c) < 128,
          "run " .. run .. ":\n" .. out)
      end
      assert.is_true(requests > 2000, "run " .. run .. ":\n" .. out)
    end
  end)

  it("never runs a lock.with critical section twice at once (1,000 concurrent)", function()
    local reqs = {}
    for i = 1, 1000 do reqs[i] = { method = "POST", url = s.url .. "/test/locked", body = "", timeout = 60 } end
    local results = http.all(reqs)
    local ok = 0
    for _, r in ipairs(results) do if r.status == 200 then ok = ok + 1 end end
    assert.are.equal(1000, ok)
    assert.are.equal("1000", redis.call("GET", "test:lock:entries"))
    assert.are.equal(redis.null, redis.call("GET", "test:lock:overlaps"))
  end)

  it("takes headers up to about 3.5 KB in its 4 KB per connection, answers 431 above", function()
    local r = assert(http.request{ url = s.url .. "/healthz", headers = { ["X-Big"] = string.rep("a", 3000) } })
    assert.are.equal(200, r.status)
    -- libmicrohttpd answers 431 and closes: the client sees the 431, or the close
    local err
    r, err = http.request{ url = s.url .. "/healthz", headers = { ["X-Big"] = string.rep("a", 6000) } }
    assert.is_true((r and r.status == 431) or err == "closed", tostring(r and r.status or err))
    r = assert(http.request{ url = s.url .. "/healthz" })
    assert.are.equal(200, r.status)
  end)

  it("answers 413 to a body over the cap announced by Content-Length, before reading it", function()
    -- with Expect: 100-continue the client waits: the 413 arrives, no body is sent
    os.execute("head -c 10485760 /dev/zero > var/test/10mb.bin")
    local out = proc.sh("curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' "
                        .. "--data-binary @var/test/10mb.bin -m 5 " .. s.url .. "/test/echo 2>&1")
    local code, sent = out:match("(%d+) (%d+)")
    assert.are.equal("413", code, out)
    assert.is_true(tonumber(sent) < 300 * 1024, "client sent " .. tostring(sent) .. " bytes")
    -- a client that sends at once sees the 413, or the close right after it
    local r, err = http.request{ method = "POST", url = s.url .. "/test/echo",
                                 body = string.rep("x", 300 * 1024) }
    assert.is_true((r and r.status == 413) or err == "closed", tostring(err))
  end)

  it("answers 413 to a chunked body that grows over the cap", function()
    for _, size in ipairs({ 300 * 1024, 3 * 1024 * 1024 }) do
      local r, err = http.request{ method = "POST", url = s.url .. "/test/echo",
                                   headers = { ["Transfer-Encoding"] = "chunked" },
                                   body = string.rep("x", size) }
      assert.is_truthy(r, tostring(err))
      assert.are.equal(413, r.status)
      assert.are.equal("request body too large", json.decode(r.body).error)
    end
    -- a client trickling chunks gets the 413 as soon as the cap is passed
    local out = proc.sh("python3 tests/support/rawclient.py chunked " .. s.port .. " 400")
    assert.truthy(out:find("413", 1, true), out)
  end)

  it("accepts a body under the cap", function()
    local r = assert(http.request{ method = "POST", url = s.url .. "/test/echo",
                                   body = string.rep("x", 100 * 1024) })
    assert.are.equal(200, r.status)
    assert.are.equal(100 * 1024, json.decode(r.body).bytes)
  end)

  it("answers 500 with the request id when a handler raises, and logs the traceback", function()
    local r = assert(http.request{ url = s.url .. "/test/error" })
    assert.are.equal(500, r.status)
    local body = json.decode(r.body)
    assert.are.equal("internal error", body.error)
    assert.are.equal(r.headers["x-request-id"], body.request_id)
    local found = proc.wait_until(function()
      for line in (proc.read_file(s.log) or ""):gmatch("[^\n]+") do
        if line:find(body.request_id, 1, true) and line:find("fails on purpose", 1, true)
           and line:find("traceback", 1, true) then return true end
      end
    end, 3)
    assert.is_true(found == true, "no log line with the request id and traceback")
    local again = assert(http.request{ url = s.url .. "/healthz" })
    assert.are.equal(200, again.status)
    -- counted under its own route, not "unmatched"
    local m = assert(http.request{ url = s.url .. "/metrics" })
    assert.truthy(m.body:find('flowhost_http_requests_total{route="/test/error",status="500"} 1', 1, true), m.body)
    assert.falsy(m.body:find('route="unmatched",status="500"', 1, true))
  end)

  it("cuts a client that trickles its request past the total deadline", function()
    -- request_deadline is 3 s in tests/support/config.lua; 1 byte / 0.2 s
    local out = proc.sh("python3 tests/support/rawclient.py slow " .. s.port .. " 0.2")
    local secs = tonumber(out)
    assert.is_not_nil(secs, out)
    assert.is_true(secs >= 2.5 and secs < 6, ("closed after %s s"):format(tostring(secs)))
  end)

  it("exposes Prometheus metrics for requests, latency, upstream calls and tasks", function()
    local r = assert(http.request{ url = s.url .. "/metrics" })
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find('flowhost_http_requests_total{route="/test/upstream",status="200"} 500', 1, true))
    assert.truthy(r.body:find("flowhost_handler_seconds_bucket", 1, true))
    assert.truthy(r.body:find('flowhost_upstream_requests_total{host="127.0.0.1:', 1, true))
    assert.truthy(r.body:find("flowhost_lua_errors_total", 1, true))
    assert.truthy(r.body:find("flowhost_coroutines_in_flight", 1, true))
    local heap = tonumber(r.body:match('flowhost_lua_heap_bytes{worker="0"} (%d+)'))
    local in_use = tonumber(r.body:match('flowhost_malloc_bytes{kind="in_use"} (%d+)'))
    assert.truthy(heap and heap > 100000, "lua heap " .. tostring(heap))
    assert.truthy(in_use and in_use > 100000, "malloc in use " .. tostring(in_use))
  end)
end)

describe("flowhost serve, just started", function()
  it("lists every metric family with HELP and TYPE before it has samples", function()
    local s = proc.start{}
    local r = assert(http.request{ url = s.url .. "/metrics" })
    proc.stop(s)
    assert.are.equal(200, r.status)
    for _, f in ipairs({
      { "flowhost_http_requests_total", "counter" }, { "flowhost_handler_seconds", "histogram" },
      { "flowhost_upstream_requests_total", "counter" }, { "flowhost_redis_errors_total", "counter" },
      { "flowhost_lua_errors_total", "counter" }, { "flowhost_timers_fired_total", "counter" },
      { "flowhost_timers_late_total", "counter" }, { "flowhost_timer_lateness_seconds", "histogram" },
      { "flowhost_coroutines_in_flight", "gauge" }, { "flowhost_llm_calls_total", "counter" },
      { "flowhost_replies_in_doubt_total", "counter" },
    }) do
      assert.truthy(r.body:find("\n# HELP " .. f[1] .. " ", 1, true) or r.body:find("^# HELP " .. f[1] .. " "), f[1])
      assert.truthy(r.body:find("# TYPE " .. f[1] .. " " .. f[2] .. "\n", 1, true), f[1])
    end
    assert.truthy(r.body:find("\nflowhost_lua_errors_total 0\n", 1, true), "lua errors start at 0")
  end)

  it("loads the runtime library's Redis scripts at start (SCRIPT LOAD), before any request", function()
    -- the lock's scripts, as a fresh runtime state makes them (this
    -- spec runner's own state holds every script earlier specs loaded)
    local dir = "var/test/scripts-" .. require("crypto").random_hex(4)
    proc.sh("mkdir -p " .. dir)
    local f = assert(io.open(dir .. "/digests_spec.lua", "w"))
    f:write('require "lock" print("DIGESTS " .. table.concat(require("rscript").digests(), ","))\n')
    f:close()
    local out = proc.sh(os.getenv("FLOWHOST_BIN") .. " test " .. dir .. "/digests_spec.lua 2>&1")
    proc.sh("rm -rf " .. dir)
    local shas = {}
    for sha in (out:match("DIGESTS ([%x,]+)") or ""):gmatch("%x+") do shas[#shas + 1] = sha end
    assert.is_true(#shas >= 3, #shas .. " scripts")
    redis.call("SCRIPT", "FLUSH")
    local s = proc.start{}
    local loaded = proc.wait_until(function()
      local res = redis.call("SCRIPT", "EXISTS", unpack(shas))
      for _, v in ipairs(res) do if v ~= 1 then return nil end end
      return true
    end, 5)
    local m = assert(http.request{ url = s.url .. "/metrics" })
    proc.stop(s)
    assert.is_true(loaded == true, "scripts not in Redis after start")
    assert.falsy(m.body:find('flowhost_redis_errors_total{kind="reply"}', 1, true), "NOSCRIPT replies at start")
  end)
end)

describe("flowhost serve with a small connection limit", function()
  it("answers 503 when there are too many connections", function()
    local s = proc.start{ env = { FLOWHOST_MAX_CONNECTIONS = 5 } }
    local out = proc.sh("python3 tests/support/rawclient.py hold " .. s.port .. " 8")
    proc.stop(s)
    assert.are.equal("503", out:match("%S+"))
  end)
end)

describe("flowhost serve on SIGTERM", function()
  it("lets in-flight requests finish, then exits 0", function()
    local s = proc.start{}
    local results
    require("host").spawn(function()
      local reqs = {}
      for i = 1, 20 do reqs[i] = { url = s.url .. "/test/upstream?ms=1000", timeout = 10 } end
      results = http.all(reqs)
    end)
    time.sleep(0.3)
    local code = proc.stop(s, "TERM")
    assert.are.equal(0, code)
    proc.wait_until(function() return results end, 5)
    local ok = 0
    for _, r in ipairs(results or {}) do if r.status == 200 then ok = ok + 1 end end
    assert.are.equal(20, ok)
    local after = http.request{ url = s.url .. "/healthz", timeout = 1 }
    assert.is_nil(after)
  end)
end)

describe("flowhost serve on SIGTERM with requests longer than the grace", function()
  it("answers them 503 when the grace runs out, then exits 0", function()
    local s = proc.start{ env = { FLOWHOST_SHUTDOWN_GRACE = 1 } }
    local results
    require("host").spawn(function()
      local reqs = {}
      for i = 1, 5 do reqs[i] = { url = s.url .. "/test/upstream?ms=4000", timeout = 10 } end
      results = http.all(reqs)
    end)
    time.sleep(0.3)
    local t0 = time.monotonic()
    local code = proc.stop(s, "TERM")
    assert.are.equal(0, code)
    assert.is_true(time.monotonic() - t0 < 3)
    proc.wait_until(function() return results end, 5)
    for _, r in ipairs(results) do assert.are.equal(503, r.status) end
  end)
end)
