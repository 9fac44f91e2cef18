-- Unit spec for the route table (scripts/host/router.lua). The router is one
-- module-level table per worker, shared with the routes the boot script
-- loaded, so every route here lives under a path unique to this spec run.
local router = require("host.router")
local json = require("json")

local BASE = "/spec-router-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9))

local function req(method, path)
  return { id = "spec-req", method = method, path = BASE .. path, query = {}, headers = {}, body = "" }
end

local function echo_handler(tag)
  return function(r, params)
    return 200, json.encode({ tag = tag, method = r.method, path = r.path, params = params }),
      { ["X-Tag"] = tag }
  end
end

describe("router", function()
  setup(function()
    router.route("GET", BASE .. "/exact", echo_handler("exact-get"))
    router.route("POST", BASE .. "/exact", echo_handler("exact-post"), "exact post")
    router.route("GET", BASE .. "/items/{id}", echo_handler("item"))
    router.route("GET", BASE .. "/items/{id}/parts/{part}", echo_handler("part"))
    router.route("GET", BASE .. "/items/special", echo_handler("special"))
    router.route("get", BASE .. "/lower", echo_handler("lower"))
    router.route("GET", BASE .. "/v1.0/{id}", echo_handler("dotted"))
    router.route("GET", BASE .. "/both", echo_handler("both-get"))
    router.route("HEAD", BASE .. "/both", echo_handler("both-head"))
    router.route("GET", BASE .. "/t/{tenant}/x/{id}", echo_handler("tenant"))
    router.route("GET", BASE .. "/r/{tenant}/x/{id}", echo_handler("rep"), nil, { reps = true })
    router.route("GET", BASE .. "/files/{path*}", echo_handler("rest"))
  end)

  describe("router.handle", function()
    it("calls the handler of an exact path and returns its status, body and headers", function()
      local status, body, headers, name = router.handle(req("GET", "/exact"))
      assert.are.equal(200, status)
      local got = json.decode(body)
      assert.are.equal("exact-get", got.tag)
      assert.are.equal(BASE .. "/exact", got.path)
      assert.are.same({}, got.params)
      assert.are.same({ ["X-Tag"] = "exact-get" }, headers)
      assert.are.equal(BASE .. "/exact", name)
    end)

    it("gives a last {name*} param the rest of the path, slashes included", function()
      local status, body = router.handle(req("GET", "/files/knowledge/hours.md"))
      assert.are.equal(200, status)
      assert.are.same({ path = "knowledge/hours.md" }, json.decode(body).params)
      assert.are.same({ path = "a.lua" }, json.decode(select(2, router.handle(req("GET", "/files/a.lua")))).params)
      assert.are.equal(404, (router.handle(req("GET", "/files/"))))
    end)

    it("picks the handler by method on the same path", function()
      local _, body = router.handle(req("POST", "/exact"))
      assert.are.equal("exact-post", json.decode(body).tag)
    end)

    it("returns the route name given at registration as the fourth value", function()
      local _, _, _, name = router.handle(req("POST", "/exact"))
      assert.are.equal("exact post", name)
    end)

    it("passes the request table to the handler", function()
      local seen
      router.route("PUT", BASE .. "/seen", function(r) seen = r return 204, "" end)
      local request = req("PUT", "/seen")
      request.body = "payload"
      assert.are.equal(204, (router.handle(request)))
      assert.are.equal(request, seen)
    end)

    it("captures a {param} segment", function()
      local status, body, _, name = router.handle(req("GET", "/items/42"))
      assert.are.equal(200, status)
      local got = json.decode(body)
      assert.are.equal("item", got.tag)
      assert.are.same({ id = "42" }, got.params)
      assert.are.equal(BASE .. "/items/{id}", name)
    end)

    it("captures several {params} in one path", function()
      local _, body = router.handle(req("GET", "/items/abc/parts/x-9"))
      local got = json.decode(body)
      assert.are.equal("part", got.tag)
      assert.are.same({ id = "abc", part = "x-9" }, got.params)
    end)

    it("does not let a {param} span a slash", function()
      local status, body = router.handle(req("GET", "/items/a/b"))
      assert.are.equal(404, status)
      assert.are.same({ error = "not found" }, json.decode(body))
    end)

    it("does not match an empty {param}", function()
      assert.are.equal(404, (router.handle(req("GET", "/items/"))))
    end)

    it("prefers an exact path over a pattern that also matches", function()
      local _, body = router.handle(req("GET", "/items/special"))
      assert.are.equal("special", json.decode(body).tag)
    end)

    it("treats pattern characters in a path literally", function()
      local _, body = router.handle(req("GET", "/v1.0/7"))
      assert.are.same({ id = "7" }, json.decode(body).params)
      assert.are.equal(404, (router.handle(req("GET", "/v1x0/7"))))
    end)

    it("matches a method registered in lowercase", function()
      local status, body = router.handle(req("GET", "/lower"))
      assert.are.equal(200, status)
      assert.are.equal("lower", json.decode(body).tag)
    end)

    it("answers 404 with a JSON body for an unknown path", function()
      local status, body, headers, name = router.handle(req("GET", "/no/such/path"))
      assert.are.equal(404, status)
      assert.are.same({ error = "not found" }, json.decode(body))
      assert.are.equal("application/json", headers["Content-Type"])
      assert.are.equal("unmatched", name)
    end)

    it("answers 405 with a JSON body for a known exact path and another method", function()
      local status, body, headers, name = router.handle(req("DELETE", "/exact"))
      assert.are.equal(405, status)
      assert.are.same({ error = "method not allowed" }, json.decode(body))
      assert.are.equal("application/json", headers["Content-Type"])
      assert.are.equal("unmatched", name)
    end)

    it("answers 405 for a known pattern path and another method", function()
      local status, body = router.handle(req("POST", "/items/42"))
      assert.are.equal(405, status)
      assert.are.same({ error = "method not allowed" }, json.decode(body))
    end)

    it("falls back to the GET handler for HEAD", function()
      local status, body = router.handle(req("HEAD", "/exact"))
      assert.are.equal(200, status)
      assert.are.equal("exact-get", json.decode(body).tag)
    end)

    it("falls back to the GET handler for HEAD on a pattern path", function()
      local status, body = router.handle(req("HEAD", "/items/5"))
      assert.are.equal(200, status)
      assert.are.same({ id = "5" }, json.decode(body).params)
    end)

    it("uses a HEAD handler when one is registered", function()
      local _, body = router.handle(req("HEAD", "/both"))
      assert.are.equal("both-head", json.decode(body).tag)
    end)

    it("does not fall back to GET for methods other than HEAD", function()
      assert.are.equal(405, (router.handle(req("OPTIONS", "/exact"))))
    end)

    it("lets a handler error propagate to the caller", function()
      router.route("GET", BASE .. "/boom", function() error("boom") end)
      assert.has_error(function() router.handle(req("GET", "/boom")) end)
    end)
  end)

  describe("router.handle with a {tenant} param", function()
    it("passes well-formed tenant ids to the handler", function()
      for _, id in ipairs{ "carwash", "car-wash_2", "9lives", "a" } do
        local status, body = router.handle(req("GET", "/t/" .. id .. "/x/1"))
        assert.are.equal(200, status, id)
        assert.are.equal(id, json.decode(body).params.tenant)
      end
    end)

    it("answers 404 'unknown tenant' in the routes' JSON error shape for ids that are no tenant id", function()
      for _, id in ipairs{ "..", ".", ".x", "x.", "_platform", "-x", "Carwash", "car wash", "a;b",
                           "car%2e", "a.b", "a..b", "\xff" } do
        local status, body, headers, name = router.handle(req("GET", "/t/" .. id .. "/x/1"))
        assert.are.equal(404, status, id)
        assert.are.equal("unknown tenant", json.decode(body).error, id)
        assert.is_string(json.decode(body).message)
        assert.are.equal("application/json", headers["Content-Type"])
        assert.are.equal("unmatched", name)                 -- the handler (200) never ran
      end
    end)

    it("refuses an odd tenant id whatever the method", function()
      assert.are.equal(404, (router.handle(req("POST", "/t/../x/1"))))
      assert.are.equal(405, (router.handle(req("POST", "/t/carwash/x/1"))))
    end)

    it("takes '<tenant>.<rep>' only on a route registered with reps", function()
      local status, body = router.handle(req("GET", "/r/salesco.anna/x/1"))
      assert.are.equal(200, status)
      assert.are.equal("salesco.anna", json.decode(body).params.tenant)
      assert.are.equal(200, (router.handle(req("GET", "/r/salesco/x/1"))))
      assert.are.equal(404, (router.handle(req("GET", "/t/salesco.anna/x/1"))))
      for _, id in ipairs{ "_platform.anna", "salesco.", ".anna", "salesco.anna.b", "..", "Salesco.anna" } do
        assert.are.equal(404, (router.handle(req("GET", "/r/" .. id .. "/x/1"))), id)
      end
    end)

    it("leaves params without a rule to the handler", function()
      local status, body = router.handle(req("GET", "/t/carwash/x/.."))
      assert.are.equal(200, status)
      assert.are.equal("..", json.decode(body).params.id)
    end)
  end)

  describe("router.handle with a control character in the path", function()
    it("answers 400 'bad path' and calls no handler", function()
      for _, c in ipairs{ "\0", "\1", "\n", "\r", "\31", "\127" } do
        local status, body, _, name = router.handle(req("GET", "/exact" .. c))
        assert.are.equal(400, status, c:byte())
        assert.are.equal("bad path", json.decode(body).error)
        assert.are.equal("unmatched", name)
        assert.are.equal(400, (router.handle(req("GET", "/items/a" .. c .. "b"))))
      end
    end)

    it("takes printable and UTF-8 paths as before", function()
      local status, body = router.handle(req("GET", "/items/caf\195\169~!"))
      assert.are.equal(200, status)
      assert.are.equal("caf\195\169~!", json.decode(body).params.id)
    end)
  end)

  describe("router.route", function()
    it("raises when opts is not a table", function()
      assert.has_error(function() router.route("GET", BASE .. "/opts", function() end, nil, "reps") end)
    end)

    it("raises on a duplicate exact route", function()
      assert.has_error(function()
        router.route("GET", BASE .. "/exact", echo_handler("again"))
      end, "duplicate route GET " .. BASE .. "/exact")
    end)

    it("raises on a duplicate route differing only in method case", function()
      assert.has_error(function()
        router.route("post", BASE .. "/exact", echo_handler("again"))
      end, "duplicate route POST " .. BASE .. "/exact")
    end)

    it("raises on a duplicate pattern route", function()
      assert.has_error(function()
        router.route("GET", BASE .. "/items/{id}", echo_handler("again"))
      end, "duplicate route GET " .. BASE .. "/items/{id}")
    end)

    it("keeps the first handler after a rejected duplicate", function()
      pcall(router.route, "GET", BASE .. "/exact", echo_handler("again"))
      local _, body = router.handle(req("GET", "/exact"))
      assert.are.equal("exact-get", json.decode(body).tag)
    end)

    it("adds another method to an existing pattern path", function()
      router.route("DELETE", BASE .. "/items/{id}", echo_handler("item-delete"))
      local status, body = router.handle(req("DELETE", "/items/9"))
      assert.are.equal(200, status)
      assert.are.equal("item-delete", json.decode(body).tag)
    end)

    it("raises when fn is not a function", function()
      assert.has_error(function() router.route("GET", BASE .. "/nofn", "handler") end)
    end)

    it("raises when the method or path is not a string", function()
      assert.has_error(function() router.route(nil, BASE .. "/x", function() end) end)
      assert.has_error(function() router.route("GET", 5, function() end) end)
    end)
  end)

  describe("router.json", function()
    it("returns the status, the value as JSON and a JSON content type", function()
      local status, body, headers = router.json(201, { id = "a1", n = 2 })
      assert.are.equal(201, status)
      assert.are.same({ id = "a1", n = 2 }, json.decode(body))
      assert.are.equal("application/json", headers["Content-Type"])
    end)
  end)
end)
