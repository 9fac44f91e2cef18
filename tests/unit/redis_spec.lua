-- Unit spec for the `redis` Lua module (core/lua_api_redis.c), run inside the
-- host runtime against the Redis named by REDIS_URL.
local redis = require("redis")
local json = require("json")
local host = require("host")
local time = require("time")

local PREFIX = "spec:redis:" .. tostring(time.now()):gsub("%.", "") .. ":"
local created = {}

-- A key private to this run, deleted in teardown.
local function key(name)
  local k = PREFIX .. name
  created[#created + 1] = k
  return k
end

-- The worker connects to Redis asynchronously after start; wait for it.
local function wait_connected(limit)
  local deadline = time.monotonic() + (limit or 5)
  while not redis.connected() and time.monotonic() < deadline do time.sleep(0.01) end
  return redis.connected()
end

local run_tasks = require("tasks").run

describe("redis", function()
  setup(function()
    assert(wait_connected(), "Redis at REDIS_URL did not connect within 5 s")
  end)

  teardown(function()
    if #created > 0 then redis.call("DEL", unpack(created)) end
  end)

  describe("redis.connected", function()
    it("returns true once the worker is connected to Redis", function()
      assert.is_true(redis.connected())
    end)
  end)

  describe("redis.call", function()
    it("returns a status reply as a string", function()
      assert.are.equal("PONG", redis.call("PING"))
      assert.are.equal("OK", redis.call("SET", key("status"), "v"))
    end)

    it("returns a bulk string reply as a string", function()
      local k = key("bulk")
      redis.call("SET", k, "hello world")
      assert.are.equal("hello world", redis.call("GET", k))
    end)

    it("keeps binary bytes, including NUL, in arguments and replies", function()
      local k = key("binary")
      local raw = "a\0b\255\r\nc"
      redis.call("SET", k, raw)
      local v = redis.call("GET", k)
      assert.are.equal(#raw, #v)
      assert.are.equal(raw, v)
    end)

    it("keeps an empty argument and a 200 KB one, command after command", function()
      local k = key("sizes")
      local big = string.rep("0123456789", 20000)
      for round = 1, 3 do
        redis.call("SET", k, "")
        assert.are.equal("", redis.call("GET", k))
        redis.call("SET", k, big .. round)
        assert.are.equal(big .. round, redis.call("GET", k))
      end
      assert.are.equal("ok", redis.call("ECHO", "ok"))
    end)

    it("answers each of many concurrent calls with its own reply", function()
      local got = {}
      local errors = require("tasks").run(300, function(i) got[i] = redis.call("ECHO", "v" .. i) end, 5)
      assert.are.same({}, errors)
      for i = 1, 300 do assert.are.equal("v" .. i, got[i]) end
    end)

    it("returns an integer reply as a Lua number", function()
      local k = key("counter")
      assert.are.equal(1, redis.call("INCR", k))
      local v = redis.call("INCRBY", k, "41")
      assert.are.equal("number", type(v))
      assert.are.equal(42, v)
    end)

    it("returns an array reply as a table in order", function()
      local k = key("list")
      redis.call("RPUSH", k, "a", "b", "c")
      assert.are.same({ "a", "b", "c" }, redis.call("LRANGE", k, "0", "-1"))
    end)

    it("returns an empty table for an empty array reply", function()
      assert.are.same({}, redis.call("LRANGE", key("nolist"), "0", "-1"))
    end)

    it("returns nested arrays as nested tables", function()
      local k = key("zset")
      redis.call("ZADD", k, "1", "one", "2", "two")
      -- SCAN answers {cursor, {members...}}
      local r = redis.call("ZSCAN", k, "0")
      assert.are.equal("table", type(r))
      assert.are.equal("0", r[1])
      table.sort(r[2])
      assert.are.same({ "1", "2", "one", "two" }, r[2])
    end)

    it("returns redis.null for a missing key", function()
      local v, err = redis.call("GET", key("missing"))
      assert.are.equal(redis.null, v)
      assert.is_nil(err)
    end)

    it("returns redis.null entries inside an array reply", function()
      local k = key("{mget}")           -- one hash tag: a Redis Cluster takes both in one MGET
      redis.call("SET", k, "here")
      assert.are.same({ "here", redis.null }, redis.call("MGET", k, key("{mget}-missing")))
    end)

    it("returns nil and the WRONGTYPE message for a wrong-type error reply", function()
      local k = key("wrongtype")
      redis.call("RPUSH", k, "x")
      local v, err = redis.call("GET", k)
      assert.is_nil(v)
      assert.are.equal("string", type(err))
      assert.is_truthy(err:find("^WRONGTYPE"))
    end)

    it("returns nil and the ERR message for an unknown command", function()
      local v, err = redis.call("NOSUCHCOMMAND", "x")
      assert.is_nil(v)
      assert.is_truthy(err:find("^ERR"))
    end)

    it("sends numbers as their decimal text", function()
      local k = key("numbers")
      assert.are.equal("OK", redis.call("SET", k, 42))
      assert.are.equal("42", redis.call("GET", k))
      assert.are.equal(45, redis.call("INCRBY", k, 3))
      redis.call("SET", k, 1.5)
      assert.are.equal("1.5", redis.call("GET", k))
      redis.call("SET", k, -7)
      assert.are.equal("-7", redis.call("GET", k))
    end)

    it("sends an integer above 10^14 with all its digits", function()
      local k = key("bignum")
      redis.call("SET", k, 123456789012345)
      assert.are.equal("123456789012345", redis.call("GET", k))
      redis.call("SET", k, 2 ^ 53)
      assert.are.equal("9007199254740992", redis.call("GET", k))
      redis.call("SET", k, 0)
      assert.are.equal(123456789012345, redis.call("INCRBY", k, 123456789012345))
    end)

    it("returns nil and an ERR message when the command name is a number", function()
      local v, err = redis.call(123)
      assert.is_nil(v)
      assert.is_truthy(err:find("^ERR"))
    end)

    it("raises when no command name is given", function()
      assert.has_error(function() redis.call() end, "redis.call: a command name is required")
    end)

    it("raises when an argument is a table", function()
      assert.has_error(function() redis.call("GET", {}) end,
        "redis.call: argument 2 must be a string or number, got table")
    end)

    it("raises when an argument is nil in the middle of the list", function()
      assert.has_error(function() redis.call("SET", nil, "v") end)
    end)

    it("raises when an argument is a boolean", function()
      assert.has_error(function() redis.call("SET", key("bool"), true) end)
    end)

    it("raises when called from a nested coroutine instead of a task", function()
      local co = coroutine.create(function() return redis.call("PING") end)
      local ok, err = coroutine.resume(co)
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find("must be called from a request, timer or spawned task", 1, true))
    end)

    it("refuses commands that would hold the shared connection, with what to do instead", function()
      for _, cmd in ipairs({ { "SUBSCRIBE", "ch" }, { "psubscribe", "c*" }, { "MONITOR" },
                             { "BLPOP", "q", 1 }, { "bzpopmin", "z", 0 }, { "WAIT", 1, 0 } }) do
        local ok, err = pcall(redis.call, unpack(cmd))
        assert.is_false(ok, cmd[1])
        assert.truthy(tostring(err):find(cmd[1]:upper() .. " would hold the worker's shared Redis connection", 1, true), err)
      end
      local ok, err = pcall(redis.call, "XREADGROUP", "GROUP", "g", "c", "BLOCK", 100, "STREAMS", "s", ">")
      assert.is_false(ok)
      assert.truthy(tostring(err):find("leave BLOCK out", 1, true), err)
      ok, err = pcall(redis.pipeline, { { "PING" }, { "subscribe", "x" } })
      assert.is_false(ok)
      assert.truthy(tostring(err):find("SUBSCRIBE would hold", 1, true), err)
      -- a stream named "block" after STREAMS is fine, and the connection still works
      local res = redis.call("XREAD", "COUNT", 1, "STREAMS", key("block"), "0")
      assert.are.equal(redis.null, res)
      assert.are.equal("PONG", redis.call("PING"))
    end)

    it("still sends a large integer argument exactly after the command checks", function()
      local k = key("bigint")
      redis.call("SET", k, 123456789012345678)
      assert.are.equal("123456789012345680", redis.call("GET", k))
    end)

    it("raises a clear error when asked to wait inside a function called from C", function()
      local ok, err = pcall(string.gsub, "ab", "%w", function() return redis.call("PING") end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("cannot wait for Redis or HTTP inside a function called from C", 1, true), err)
      assert.are.equal("PONG", redis.call("PING")) -- and the task goes on normally
    end)

    it("uses the same value for redis.null and json.null", function()
      assert.are.equal(json.null, redis.null)
    end)
  end)

  describe("redis.pipeline", function()
    it("returns one result per command, in order", function()
      local k = key("pipe")
      local r = redis.pipeline{
        { "SET", k, "1" },
        { "INCR", k },
        { "GET", k },
        { "GET", key("pipe-missing") },
      }
      assert.are.same({ "OK", 2, "2", redis.null }, r)
    end)

    it("returns {err=...} for a command that fails and still runs the others", function()
      local k = key("pipe-err")
      local r = redis.pipeline{
        { "SET", k, "text" },
        { "LPUSH", k, "x" },
        { "APPEND", k, "!" },
      }
      assert.are.equal(3, #r)
      assert.are.equal("OK", r[1])
      assert.are.equal("table", type(r[2]))
      assert.is_truthy(r[2].err:find("^WRONGTYPE"))
      assert.are.equal(5, r[3])
      assert.are.equal("text!", redis.call("GET", k))
    end)

    it("accepts numbers as arguments", function()
      local k = key("pipe-num")
      assert.are.same({ "OK", 17 }, redis.pipeline{ { "SET", k, 10 }, { "INCRBY", k, 7 } })
    end)

    it("returns array replies as tables", function()
      local k = key("pipe-list")
      local r = redis.pipeline{ { "RPUSH", k, "a", "b" }, { "LRANGE", k, 0, -1 } }
      assert.are.same({ 2, { "a", "b" } }, r)
    end)

    it("returns an empty table for an empty pipeline", function()
      assert.are.same({}, redis.pipeline{})
    end)

    it("raises when the argument is not a table", function()
      assert.has_error(function() redis.pipeline("PING") end)
    end)

    it("raises when an entry is not a table", function()
      assert.has_error(function() redis.pipeline{ "PING" } end,
        "redis.pipeline: entry 1 must be a table")
    end)

    it("raises when an entry holds an argument that is not a string or number", function()
      assert.has_error(function() redis.pipeline{ { "PING" }, { "GET", true } } end,
        "redis.pipeline: argument 2 must be a string or number, got boolean")
    end)

    it("raises when an entry is empty", function()
      assert.has_error(function() redis.pipeline{ {} } end,
        "redis.pipeline: a command name is required")
    end)
  end)

  describe("concurrent tasks", function()
    it("answers 200 concurrent tasks each with their own values", function()
      local n = 200
      local got = {}
      local errors = run_tasks(n, function(i)
        local k = PREFIX .. "conc:" .. i
        assert(redis.call("SET", k, "v" .. i) == "OK")
        assert(redis.call("INCRBY", PREFIX .. "conc:total", i))
        got[i] = redis.call("GET", k)
        redis.call("DEL", k)
      end)
      created[#created + 1] = PREFIX .. "conc:total"
      assert.are.same({}, errors)
      for i = 1, n do assert.are.equal("v" .. i, got[i]) end
      assert.are.equal(tostring(n * (n + 1) / 2), redis.call("GET", PREFIX .. "conc:total"))
    end)

    it("runs the 200 tasks' commands concurrently rather than one task after another", function()
      -- each task also sleeps 50 ms; one task after another would take 10 s
      local n = 200
      local t0 = time.monotonic()
      local errors = run_tasks(n, function(i)
        local v = redis.pipeline{ { "SET", PREFIX .. "par:" .. i, i }, { "GET", PREFIX .. "par:" .. i },
                                  { "DEL", PREFIX .. "par:" .. i } }
        assert(v[2] == tostring(i), "task " .. i .. " got " .. tostring(v[2]))
        time.sleep(0.05)
      end)
      assert.are.same({}, errors)
      assert.is_true(time.monotonic() - t0 < 2, "took " .. (time.monotonic() - t0) .. " s")
    end)
  end)
end)
