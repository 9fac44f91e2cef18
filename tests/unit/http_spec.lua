-- Unit spec for the `http` Lua module (core/lua_api_http.c), run inside the
-- host runtime against the fake upstream (tests/fakes/upstream.py) named by
-- UPSTREAM_URL.
local http = require("http")
local json = require("json")
local time = require("time")

local U = assert(os.getenv("UPSTREAM_URL"), "set UPSTREAM_URL to the fake upstream (tests/fakes/upstream.py)")

-- Port 1 (tcpmux) on loopback: nothing listens there, so connecting is refused.
local CLOSED_URL = "http://127.0.0.1:1/"

local function count()
  local res = assert(http.request{ url = U .. "/count" })
  return json.decode(res.body)
end

describe("http.request", function()
  it("answers a GET with status, lowercased headers and body", function()
    local res, err = http.request{ url = U .. "/echo?a=1&b=two" }
    assert.is_nil(err)
    assert.are.equal(200, res.status)
    assert.are.equal("application/json", res.headers["content-type"])
    assert.are.equal(tostring(#res.body), res.headers["content-length"])
    local echo = json.decode(res.body)
    assert.are.equal("GET", echo.method)
    assert.are.equal("/echo", echo.path)
    assert.are.equal("a=1&b=two", echo.query)
  end)

  it("uses GET when no method is given", function()
    local res = assert(http.request{ url = U .. "/echo" })
    assert.are.equal("GET", json.decode(res.body).method)
  end)

  it("sends a POST with its headers and body", function()
    local res = assert(http.request{
      method = "POST",
      url = U .. "/echo",
      headers = { ["X-Spec-Token"] = "abc123", ["Content-Type"] = "application/json" },
      body = '{"hello":"world"}',
    })
    assert.are.equal(200, res.status)
    local echo = json.decode(res.body)
    assert.are.equal("POST", echo.method)
    assert.are.equal("abc123", echo.headers["x-spec-token"])
    assert.are.equal("application/json", echo.headers["content-type"])
    assert.are.equal('{"hello":"world"}', echo.body)
    assert.are.equal("17", echo.headers["content-length"])
  end)

  it("sends other methods such as PUT and DELETE as given", function()
    assert.are.equal("PUT", json.decode(assert(http.request{ method = "PUT", url = U .. "/echo", body = "x" }).body).method)
    assert.are.equal("DELETE", json.decode(assert(http.request{ method = "DELETE", url = U .. "/echo" }).body).method)
  end)

  it("sends a header whose value is a number as its text", function()
    local res = assert(http.request{ url = U .. "/echo", headers = { ["X-Num"] = 42 } })
    assert.are.equal("42", json.decode(res.body).headers["x-num"])
  end)

  it("keeps a binary request body byte for byte", function()
    local body = "caf\195\169 \226\130\172"
    local res = assert(http.request{ method = "POST", url = U .. "/echo", body = body })
    assert.are.equal(body, json.decode(res.body).body)
  end)

  it("raises when a header value holds CR/LF (no header injection)", function()
    assert.has_error(function()
      http.request{ url = U .. "/echo", headers = { ["X-A"] = "1\r\nX-Injected: yes" } }
    end)
    assert.has_error(function()
      http.request{ url = U .. "/echo", headers = { ["X-A\nB"] = "1" } }
    end)
  end)

  it("lowercases response header names", function()
    local res = assert(http.request{ url = U .. "/status?code=503&retry_after=7" })
    assert.are.equal("7", res.headers["retry-after"])
    assert.is_nil(res.headers["Retry-After"])
    assert.is_nil(res.headers["Content-Type"])
    for name in pairs(res.headers) do assert.are.equal(name:lower(), name) end
  end)

  it("returns a 404 as a response, not an error", function()
    local res, err = http.request{ url = U .. "/status?code=404" }
    assert.is_nil(err)
    assert.are.equal(404, res.status)
    assert.are.same({ status = 404 }, json.decode(res.body))
  end)

  it("returns a 500 as a response, not an error", function()
    local res, err = http.request{ url = U .. "/status?code=500&body=boom" }
    assert.is_nil(err)
    assert.are.equal(500, res.status)
    assert.are.equal("boom", res.body)
  end)

  it("returns an empty body for a 204", function()
    local res = assert(http.request{ url = U .. "/status?code=204" })
    assert.are.equal(204, res.status)
    assert.are.equal("", res.body)
  end)

  it("returns a large body whole", function()
    local res = assert(http.request{ url = U .. "/big?bytes=2000000" })
    assert.are.equal(2000000, #res.body)
    assert.are.equal(string.rep("x", 100), res.body:sub(1, 100))
  end)

  it("returns nil, \"timeout\" when the answer is slower than timeout", function()
    local t0 = time.monotonic()
    local res, err = http.request{ url = U .. "/delay?ms=2000", timeout = 0.2 }
    local took = time.monotonic() - t0
    assert.is_nil(res)
    assert.are.equal("timeout", err)
    assert.is_true(took < 1, "took " .. took .. " s")
  end)

  it("applies timeout to the whole transfer of a body that trickles in", function()
    local t0 = time.monotonic()
    local res, err = http.request{ url = U .. "/drip?bytes=20&interval_ms=100", timeout = 0.3 }
    local took = time.monotonic() - t0
    assert.is_nil(res)
    assert.are.equal("timeout", err)
    assert.is_true(took >= 0.25 and took < 1, "took " .. took .. " s")
  end)

  it("returns nil, \"connection refused\" for a closed port", function()
    local res, err = http.request{ url = CLOSED_URL }
    assert.is_nil(res)
    assert.are.equal("connection refused", err)
  end)

  it("returns nil, \"closed\" when the server closes without answering", function()
    local res, err = http.request{ url = U .. "/close" }
    assert.is_nil(res)
    assert.are.equal("closed", err)
  end)

  it("returns nil, \"response too large\" when the body exceeds max_size", function()
    local res, err = http.request{ url = U .. "/big?bytes=100000", max_size = 1000 }
    assert.is_nil(res)
    assert.are.equal("response too large", err)
  end)

  it("accepts a body of exactly max_size bytes", function()
    local res = assert(http.request{ url = U .. "/big?bytes=1000", max_size = 1000 })
    assert.are.equal(1000, #res.body)
  end)

  it("returns nil, \"bad url\" for a malformed URL", function()
    for _, url in ipairs{ "", "http://", "://nohost", "http://exa mple.com/", "http://127.0.0.1:99999/" } do
      local res, err = http.request{ url = url }
      assert.is_nil(res, url)
      assert.are.equal("bad url", err, url)
    end
  end)

  it("returns nil, \"bad url\" for a scheme other than http and https", function()
    local res, err = http.request{ url = "ftp://127.0.0.1/file" }
    assert.is_nil(res)
    assert.are.equal("bad url", err)
  end)

  it("reuses one connection for sequential requests to the same upstream", function()
    local before = count().connections
    for _ = 1, 5 do
      assert.are.equal(200, assert(http.request{ url = U .. "/echo" }).status)
    end
    local after = count()
    assert.is_true(after.connections - before <= 1,
      ("connections grew from %d to %d"):format(before, after.connections))
  end)

  it("raises when url is missing", function()
    assert.has_error(function() http.request{ method = "GET" } end, "http.request: 'url' must be a string")
  end)

  it("raises when the argument is not a table", function()
    assert.has_error(function() http.request(U .. "/echo") end, "http.request: expected a request table")
    assert.has_error(function() http.request() end, "http.request: expected a request table")
  end)

  it("raises when headers is not a table", function()
    assert.has_error(function() http.request{ url = U .. "/echo", headers = "X-A: 1" } end,
      "http.request: 'headers' must be a table")
  end)

  it("raises when method is not a string", function()
    assert.has_error(function() http.request{ url = U .. "/echo", method = 1 } end,
      "http.request: 'method' must be a string")
  end)

  it("raises when body is a table", function()
    assert.has_error(function() http.request{ url = U .. "/echo", body = {} } end,
      "http.request: 'body' must be a string")
  end)

  it("raises when timeout is negative or not a number", function()
    assert.has_error(function() http.request{ url = U .. "/echo", timeout = -1 } end,
      "http.request: 'timeout' must not be negative")
    assert.has_error(function() http.request{ url = U .. "/echo", timeout = "soon" } end,
      "http.request: 'timeout' must be a number")
  end)
end)

describe("http.all", function()
  it("runs requests in parallel: three 500 ms requests finish in under 1 s", function()
    local t0 = time.monotonic()
    local results = http.all{
      { url = U .. "/delay?ms=500" },
      { url = U .. "/delay?ms=500" },
      { url = U .. "/delay?ms=500" },
    }
    local took = time.monotonic() - t0
    assert.are.equal(3, #results)
    for i = 1, 3 do
      assert.are.equal(200, results[i].status)
      assert.are.same({ delayed_ms = 500 }, json.decode(results[i].body))
    end
    assert.is_true(took >= 0.45 and took < 1, "took " .. took .. " s")
  end)

  it("returns results in request order, with {err=...} for failed ones", function()
    local results = http.all{
      { url = U .. "/delay?ms=200" },
      { url = CLOSED_URL },
      { url = U .. "/status?code=404" },
      { url = U .. "/delay?ms=2000", timeout = 0.2 },
      { url = "http://" },
    }
    assert.are.equal(5, #results)
    assert.are.equal(200, results[1].status)
    assert.are.same({ delayed_ms = 200 }, json.decode(results[1].body))
    assert.are.same({ err = "connection refused" }, results[2])
    assert.are.equal(404, results[3].status)
    assert.are.same({ err = "timeout" }, results[4])
    assert.are.same({ err = "bad url" }, results[5])
  end)

  it("returns an empty table for no requests", function()
    assert.are.same({}, http.all{})
  end)

  it("raises when one entry is not a request table", function()
    assert.has_error(function() http.all{ { url = U .. "/echo" }, "x" } end,
      "http.all: expected a request table")
  end)

  it("raises when one entry has no url", function()
    assert.has_error(function() http.all{ { url = U .. "/echo" }, { method = "GET" } } end,
      "http.all: 'url' must be a string")
  end)
end)

describe("http.request on_wire", function()
  local redis = require "redis"
  local host = require "host"
  local crypto = require "crypto"

  it("writes its Redis command when the request goes out, before the answer", function()
    local key = "spec:on_wire:" .. crypto.random_hex(6)
    local seen
    host.spawn(function()
      time.sleep(0.3)                                  -- the upstream is still holding the answer
      seen = redis.call("GET", key)
    end)
    local res = assert(http.request{ url = U .. "/delay?ms=800", on_wire = { "SET", key, "sending", "EX", 60 } })
    assert.are.equal(200, res.status)
    assert.are.equal("sending", seen)
    redis.call("DEL", key)
  end)

  it("writes nothing when no connection is made", function()
    local key = "spec:on_wire:" .. crypto.random_hex(6)
    local _, err = http.request{ url = CLOSED_URL, on_wire = { "SET", key, "sending" } }
    assert.are.equal("connection refused", err)
    time.sleep(0.05)
    assert.are.equal(redis.null, redis.call("GET", key))
  end)

  it("refuses an on_wire that is not a command table", function()
    assert.has_error(function() http.request{ url = U .. "/echo", on_wire = "SET k v" } end)
    assert.has_error(function() http.request{ url = U .. "/echo", on_wire = { "SET", {} } } end)
  end)
end)

