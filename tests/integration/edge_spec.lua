-- The HTTP edge against the real binary: a connection flood from one
-- address, idle connections, /readyz when Redis refuses writes or a tenant
-- never loaded, and odd paths (tenant ids that are no tenant id, control
-- characters and broken %-escapes) on the chat, admin and webhook routes.
-- Raw sockets come from a small Python client written next to the logs
-- (curl and the runtime's http client tidy paths and cannot pick the
-- source address).
local proc = require "proc"
local http = require "http"
local json = require "json"
local crypto = require "crypto"

local CLIENT = [==[
import json, socket, sys, time

def connect(port, src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def alive(socks):
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) != b"":
                n += 1
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n

def request(port, r):
    # the path goes out byte for byte (latin-1), as the spec wrote it
    t0 = time.monotonic()
    try:
        s = connect(port, r.get("src", "127.0.0.1"))
        s.settimeout(5)
        body = r.get("body", "").encode()
        head = "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % (
            r.get("method", "GET"), r["path"], len(body))
        for k, v in r.get("headers", {}).items():
            head += "%s: %s\r\n" % (k, v)
        s.sendall(head.encode("latin-1") + b"\r\n" + body)
        data = b""
        while True:
            more = s.recv(65536)
            if not more:
                break
            data += more
        s.close()
    except OSError as e:
        return {"status": 0, "error": str(e), "secs": time.monotonic() - t0}
    head, _, body = data.partition(b"\r\n\r\n")
    parts = head.split(b" ")
    status = int(parts[1]) if head.startswith(b"HTTP/") and len(parts) > 1 else 0
    return {"status": status, "body": body.decode(errors="replace"), "secs": time.monotonic() - t0}

def flood(port, n, probes):
    """n idle connections from 127.0.0.1, then the probes, then all closed"""
    held = []
    for _ in range(n):
        try:
            held.append(connect(port, "127.0.0.1"))
        except OSError:
            break
    time.sleep(0.5)                      # the host closes what it refused
    out = {"opened": len(held), "alive": alive(held),
           "probes": [request(port, r) for r in probes]}
    for s in held:
        s.close()
    return out

def idle(port, n, with_request, limit):
    """n connections left idle (after one request each if asked); seconds
    until the host closed each (None: still open after limit seconds)"""
    held = [connect(port, "127.0.0.1") for _ in range(n)]
    if with_request:
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    t0 = time.monotonic()
    closed = [None] * n
    while time.monotonic() - t0 < limit and None in closed:
        for i, s in enumerate(held):
            if closed[i] is not None:
                continue
            s.setblocking(False)
            try:
                while True:
                    d = s.recv(65536)
                    if d == b"":
                        closed[i] = time.monotonic() - t0
                        break
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.monotonic() - t0
        time.sleep(0.05)
    for s in held:
        s.close()
    return {"closed": closed}

args = json.load(open(sys.argv[1]))
port = args["port"]
if args["mode"] == "flood":
    res = flood(port, args["n"], args.get("probes", []))
elif args["mode"] == "idle":
    res = idle(port, args["n"], args.get("with_request", False), args["limit"])
else:
    res = [request(port, r) for r in args["requests"]]
print(json.dumps(res))
]==]

local tmp = "var/test/edge-" .. crypto.random_hex(4)
local script = tmp .. "/client.py"

-- runs the client with args (a table, as JSON); returns its decoded answer
local function client(args)
  local path = tmp .. "/args-" .. crypto.random_hex(4) .. ".json"
  local f = assert(io.open(path, "w"))
  f:write(json.encode(args))
  f:close()
  local out = proc.sh("python3 " .. script .. " " .. path .. " 2>&1")
  os.remove(path)
  local res = json.decode(out)
  assert(type(res) == "table", "client.py: " .. out)
  return res
end

local function metric(s, line_start)
  local r = assert(http.request{ url = s.url .. "/metrics" })
  for line in r.body:gmatch("[^\n]+") do
    if line:sub(1, #line_start) == line_start then return tonumber(line:match("(%S+)$")) end
  end
end

describe("the HTTP edge", function()
setup(function()
  os.execute("mkdir -p " .. tmp)
  local f = assert(io.open(script, "w"))
  f:write(CLIENT)
  f:close()
end)
teardown(function() proc.sh("rm -rf " .. tmp) end)

describe("a host flooded with idle connections from one address", function()
  local s
  setup(function()
    s = proc.start{ env = { FLOWHOST_MAX_CONNECTIONS_PER_IP = 256, FLOWHOST_REQUEST_DEADLINE = 30,
                            FLOWHOST_WORKERS = 2 } }
  end)
  teardown(function() if s then proc.stop(s) end end)

  it("keeps at most max_connections_per_ip of them and answers other addresses at once", function()
    local res = client{ mode = "flood", port = s.port, n = 3000, probes = {
      { src = "127.0.0.2", path = "/healthz" },
      { src = "127.0.0.2", path = "/readyz" },
      { src = "127.0.0.3", method = "POST", path = "/test/echo", body = "a normal request" },
    } }
    assert.are.equal(3000, res.opened)
    -- workers accepting at the same instant may each pass the limit by one
    assert.is_true(res.alive >= 250 and res.alive <= 258, "alive: " .. res.alive)
    for i, p in ipairs(res.probes) do
      assert.are.equal(200, p.status, "probe " .. i .. ": " .. json.encode(p))
      assert.is_true(p.secs < 1, ("probe %d took %.2f s"):format(i, p.secs))
    end
    assert.are.equal(#"a normal request", json.decode(res.probes[3].body).bytes)
    local refused = proc.wait_until(function()
      local n = metric(s, 'flowhost_http_connections_refused_total{reason="per_ip"}')
      return n and n >= 3000 - 258 and n
    end, 3)
    assert.is_truthy(refused, "refused connections not counted in /metrics")
  end)

  it("serves the flooding address again once its connections are closed", function()
    local ok = proc.wait_until(function()
      local r = http.request{ url = s.url .. "/healthz", timeout = 1 }
      return r and r.status == 200
    end, 5)
    assert.is_true(ok == true)
  end)
end)

describe("a host with max_connections_per_ip = 0 (behind a proxy)", function()
  it("keeps every connection from one address", function()
    local s = proc.start{ env = { FLOWHOST_MAX_CONNECTIONS_PER_IP = 0, FLOWHOST_REQUEST_DEADLINE = 30,
                                  FLOWHOST_WORKERS = 2 } }
    local res = client{ mode = "flood", port = s.port, n = 400,
                        probes = { { src = "127.0.0.1", path = "/healthz" } } }
    proc.stop(s)
    assert.are.equal(400, res.alive)
    assert.are.equal(200, res.probes[1].status)
  end)
end)

describe("a host with a short idle_timeout", function()
  local s
  setup(function()
    s = proc.start{ env = { FLOWHOST_IDLE_TIMEOUT = 1, FLOWHOST_REQUEST_DEADLINE = 30, FLOWHOST_WORKERS = 2 } }
  end)
  teardown(function() if s then proc.stop(s) end end)

  it("closes connections that never send a request after idle_timeout", function()
    local res = client{ mode = "idle", port = s.port, n = 200, limit = 10 }
    for i, t in ipairs(res.closed) do
      assert.is_true(t ~= json.null and t >= 0.5 and t < 4, "connection " .. i .. ": " .. tostring(t))
    end
  end)

  it("closes keep-alive connections idle after their request after idle_timeout", function()
    local res = client{ mode = "idle", port = s.port, n = 200, limit = 10, with_request = true }
    for i, t in ipairs(res.closed) do
      assert.is_true(t ~= json.null and t >= 0.5 and t < 4, "connection " .. i .. ": " .. tostring(t))
    end
  end)
end)

describe("a host serving tenants", function()
  local s, r, dir
  local ADMIN = "edge-" .. crypto.random_hex(8)
  local REDIS_PORT = tonumber(os.getenv("TEST_REDIS_PORT") or "16379") + 13

  local function redis_cli(args) return proc.sh("redis-cli -p " .. REDIS_PORT .. " " .. args .. " 2>&1") end

  local function readyz()
    local res = assert(http.request{ url = s.url .. "/readyz", timeout = 5 })
    return res.status, json.decode(res.body)
  end

  setup(function()
    dir = tmp .. "/tenants-" .. crypto.random_hex(4)
    proc.sh("mkdir -p " .. dir .. "/tenants " .. dir .. "/flows && cp tests/fixtures/tenants/mini.lua "
      .. "tests/fixtures/tenants/_platform.lua " .. dir .. "/tenants/ && cp -r tests/fixtures/flows/mini "
      .. dir .. "/flows/")
    os.execute("rm -rf var/it-edge-redis")
    r = proc.redis_start("it-edge-redis", REDIS_PORT)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, REDIS_URL = r.url,
      FLOWHOST_ADMIN_TOKEN = ADMIN, FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    if r then
      redis_cli("CONFIG SET maxmemory 0")
      proc.redis_stop(r)
    end
    proc.sh("rm -rf " .. dir)
  end)

  it("is ready when Redis takes writes and every tenant has a good version", function()
    local ready = proc.wait_until(function() return readyz() == 200 end, 5)
    assert.is_true(ready == true, json.encode{ readyz() })
    local status, body = readyz()
    assert.are.equal(200, status)
    assert.are.same({ status = "ready" }, body)
  end)

  it("is not ready, naming the tenant, while a tenant has no good version", function()
    proc.sh("cp tests/fixtures/tenants/broken.lua " .. dir .. "/tenants/ && cp -r tests/fixtures/flows/broken "
      .. dir .. "/flows/")
    local status, body
    proc.wait_until(function()
      status, body = readyz()
      return status == 503
    end, 5)
    assert.are.equal(503, status, json.encode(body))
    assert.are.equal("not ready", body.status)
    assert.are.same({ "broken" }, body.tenants)
    assert.truthy(body.reasons[1]:find("tenant 'broken' has no good version", 1, true), json.encode(body))
    -- and why, where the operator can read it: "<file>:<line>: <error>"
    assert.truthy(body.reasons[1]:find("has no good version: [^ ]*broken[^ ]*%.lua:%d+: "), json.encode(body))
    assert.is_nil(body.redis)
    -- the tenant's edit is taken back: ready again
    os.remove(dir .. "/tenants/broken.lua")
    local ready = proc.wait_until(function() return readyz() == 200 end, 5)
    assert.is_true(ready == true, json.encode{ readyz() })
  end)

  it("never counts _platform.lua as a tenant", function()
    local res = assert(http.request{ url = s.url .. "/admin/tenants", headers = { Authorization = "Bearer " .. ADMIN } })
    assert.are.equal(200, res.status)
    local ids = {}
    for _, t in ipairs(json.decode(res.body).tenants) do ids[#ids + 1] = t.id end
    assert.are.same({ "mini" }, ids)
  end)

  it("answers 404 'unknown tenant' for tenant ids that are no tenant id, on chat, admin and webhook routes", function()
    local auth = { Authorization = "Bearer " .. ADMIN }
    local reqs = {}
    for _, id in ipairs{ "..", ".x", "_platform", ".", "-mini", "Mini", "mini.", "mini%2e", "mini..x", "a%20b" } do
      for _, q in ipairs{
        { method = "POST", path = "/v1/tenants/" .. id .. "/conversations/c1/messages", body = '{"text":"hi"}' },
        { path = "/v1/tenants/" .. id .. "/conversations/c1" },
        { path = "/admin/tenants/" .. id, headers = auth },
        { method = "POST", path = "/admin/tenants/" .. id .. "/reload", headers = auth },
        { path = "/admin/tenants/" .. id .. "/bookings?date=2030-01-01", headers = auth },
        { method = "POST", path = "/webhooks/" .. id .. "/telegram", body = '{"update_id":1}' },
        { path = "/webhooks/" .. id .. "/whatsapp?hub.mode=subscribe" },
      } do reqs[#reqs + 1] = q end
    end
    local res = client{ mode = "requests", port = s.port, requests = reqs }
    for i, got in ipairs(res) do
      local q = reqs[i]
      local what = (q.method or "GET") .. " " .. q.path .. " -> " .. got.status .. " " .. tostring(got.body)
      assert.are.equal(404, got.status, what)
      local body = json.decode(got.body)
      assert.are.equal("unknown tenant", body and body.error, what)
      assert.is_string(body.message, what)
    end
    -- and the real tenant passes the same routes' rule (what the chat route
    -- then answers depends on who may use a conversation id)
    local ok = client{ mode = "requests", port = s.port, requests = {
      { method = "POST", path = "/v1/tenants/mini/conversations/edge-c1/messages", body = '{"text":"hi"}' },
      { path = "/admin/tenants/mini", headers = auth },
    } }
    assert.is_true(ok[1].status >= 200 and ok[1].status < 500, ok[1].status .. " " .. ok[1].body)
    assert.are_not.equal("unknown tenant", (json.decode(ok[1].body) or {}).error, ok[1].body)
    assert.are.equal(200, ok[2].status, ok[2].body)
  end)

  it("answers 400 to a control character or a broken %-escape in the path, on every route", function()
    local auth = { Authorization = "Bearer " .. ADMIN }
    local reqs = {}
    for _, bad in ipairs{ "%00", "%00/reload", "%01", "%1F", "%7f", "%0a", "%", "%zz", "%4", "%0" } do
      reqs[#reqs + 1] = { method = "POST", path = "/admin/tenants/mini" .. bad, headers = auth }
      reqs[#reqs + 1] = { method = "POST", path = "/v1/tenants/mini" .. bad .. "/conversations/c/messages",
                          body = '{"text":"hi"}' }
      reqs[#reqs + 1] = { path = "/v1/tenants/mini/conversations/c" .. bad }
      reqs[#reqs + 1] = { method = "POST", path = "/webhooks/mini" .. bad .. "/telegram", body = "{}" }
      reqs[#reqs + 1] = { path = "/healthz" .. bad }
    end
    local res = client{ mode = "requests", port = s.port, requests = reqs }
    for i, got in ipairs(res) do
      local q = reqs[i]
      local what = (q.method or "GET") .. " " .. q.path .. " -> " .. got.status .. " " .. tostring(got.body)
      assert.are.equal(400, got.status, what)
      assert.are.equal("bad path", (json.decode(got.body) or {}).error, what)
    end
    -- a raw control character: 400 too (from the parser or from the check)
    local raw = client{ mode = "requests", port = s.port, requests = {
      { path = "/healthz\1" }, { path = "/admin/tenants/mini\127", headers = auth } } }
    assert.are.equal(400, raw[1].status, raw[1].body)
    assert.are.equal(400, raw[2].status, raw[2].body)
  end)

  it("is not ready, with Redis' error, while Redis refuses writes, and ready again after", function()
    local ok, err = pcall(function()
      assert.truthy(redis_cli("CONFIG SET maxmemory 1"):find("OK", 1, true))
      local status, body
      proc.wait_until(function()
        status, body = readyz()
        return status == 503
      end, 3)
      assert.are.equal(503, status, json.encode(body))
      assert.are.equal("not ready", body.status)
      assert.truthy(body.redis:find("OOM", 1, true), json.encode(body))
      assert.truthy(body.reasons[1]:find("redis refuses writes", 1, true), json.encode(body))
      -- liveness is not readiness
      assert.are.equal(200, assert(http.request{ url = s.url .. "/healthz" }).status)
    end)
    redis_cli("CONFIG SET maxmemory 0")
    assert(ok, err)
    local ready = proc.wait_until(function() return readyz() == 200 end, 3)
    assert.is_true(ready == true, json.encode{ readyz() })
  end)
end)

end)
