-- Redis going away and coming back under a running host.
local proc = require "proc"
local http = require "http"
local json = require "json"

local PORT = tonumber(os.getenv("TEST_REDIS_PORT") or "16379") + 7

describe("a host whose Redis dies and comes back", function()
  it("answers 503 and 'redis unavailable' while it is down, then recovers by itself", function()
    os.execute("rm -rf var/it-redis-restart")
    local r = proc.redis_start("it-redis-restart", PORT)
    local s = proc.start{ env = { REDIS_URL = r.url } }
    local ok, err = pcall(function()
      -- each worker connects on its own; the first may race Redis' start
      local ready = proc.wait_until(function()
        return http.request{ url = s.url .. "/readyz" }.status == 200
          and http.request{ url = s.url .. "/readyz" }.status == 200
      end, 3)
      assert.is_true(ready == true, "/readyz did not turn 200")
      assert.are.equal(200, http.request{ url = s.url .. "/test/redis" }.status)

      proc.redis_kill(r)
      local down = proc.wait_until(function()
        return http.request{ url = s.url .. "/readyz" }.status == 503
      end, 3)
      assert.is_true(down == true, "/readyz did not turn 503")
      local res = http.request{ url = s.url .. "/test/redis" }
      assert.are.equal(503, res.status)
      assert.are.equal("redis unavailable", json.decode(res.body).error)
      assert.are.equal(200, http.request{ url = s.url .. "/healthz" }.status)

      proc.redis_start("it-redis-restart", PORT)
      local up = proc.wait_until(function()
        return http.request{ url = s.url .. "/readyz" }.status == 200
      end, 3)
      assert.is_true(up == true, "/readyz did not recover within 3 s")
      assert.are.equal(200, http.request{ url = s.url .. "/test/redis" }.status)
    end)
    proc.stop(s)
    proc.redis_stop(r)
    assert(ok, err)
  end)
end)
