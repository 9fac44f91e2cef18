-- host.version_store: versions in Redis, content-addressed (real Redis).
local store = require "host.version_store"
local version = require "flow.version"
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"

local function tenant_id() return "vs-" .. crypto.random_hex(4) end

local function files_of(t, greeting)
  return {
    ["tenants/" .. t .. ".lua"] = 'return { name = "Spec", languages = { "en" } }\n',
    ["tenants/_platform.lua"] = "return {}\n",
    ["flows/" .. t .. "/flow.lua"] = "return { start = 'greet' }\n",
    ["flows/" .. t .. "/messages.lua"] = ("return { en = { greet = %q } }\n"):format(greeting),
  }
end

local function forget(t)
  local keys = redis.call("KEYS", "fh:ver:{" .. t .. "}:*")
  for _, k in ipairs(keys) do redis.call("DEL", k) end
  redis.call("SREM", "fh:ver:tenants", t)
end

describe("host.version_store", function()
  local t
  before_each(function() t = tenant_id() end)
  after_each(function() forget(t) end)

  it("publishes a version under the id flow.version computes for the same files", function()
    local files = files_of(t, "Hello")
    local id, how = assert(store.publish(t, files, { author = "ana", message = "first", source = "disk" }))
    assert.are.equal(version.id(t, files), id)
    assert.are.equal("published", how)
    assert.are.equal(id, store.current(t))
    assert.are.same(files, store.files(t, id))
    assert.is_true(store.has(t, id))
    assert.truthy(("," .. table.concat(store.tenants(), ",") .. ","):find("," .. t .. ",", 1, true))
  end)

  it("gives the id flow.version.of gives the same files at their paths on disk", function()
    local files = files_of(t, "Hello")
    assert.are.equal(version.of(t, version.placed(files)), version.id(t, files))
    assert.are.same(files, version.named(version.placed(files)))
  end)

  it("stores each text once, by its sha256, shared between versions", function()
    local a = assert(store.publish(t, files_of(t, "Hello"), { source = "disk" }))
    local b = assert(store.publish(t, files_of(t, "Hi there"), { source = "studio" }))
    assert.are_not.equal(a, b)
    local blobs = redis.call("KEYS", "fh:ver:{" .. t .. "}:blob:*")
    assert.are.equal(5, #blobs)                    -- 3 shared + 2 messages
    local text = 'return { name = "Spec", languages = { "en" } }\n'
    assert.are.equal(text, redis.call("GET", "fh:ver:{" .. t .. "}:blob:" .. crypto.hex(crypto.sha256(text))))
  end)

  it("writes nothing for an id already current", function()
    local files = files_of(t, "Hello")
    local id = assert(store.publish(t, files, { source = "disk" }))
    local id2, how = store.publish(t, files, { source = "admin" })
    assert.are.equal(id, id2)
    assert.are.equal("current", how)
    assert.are.equal(1, #store.history(t))
  end)

  it("keeps a history newest first, each entry naming its parent", function()
    local a = assert(store.publish(t, files_of(t, "A"), { author = "ana", message = "one", source = "disk" }))
    local b = assert(store.publish(t, files_of(t, "B"), { author = "bo", message = "two", source = "studio" }))
    local h = store.history(t)
    assert.are.equal(2, #h)
    assert.are.equal(b, h[1].id)
    assert.are.equal(a, h[1].parent)
    assert.are.equal("bo", h[1].author)
    assert.are.equal("two", h[1].message)
    assert.are.equal("studio", h[1].source)
    assert.is_number(h[1].time)
    assert.are.equal(a, h[2].id)
    assert.is_nil(h[2].parent)
  end)

  it("pages the history with limit and before", function()
    local ids = {}
    for i = 1, 5 do ids[i] = assert(store.publish(t, files_of(t, "v" .. i), { source = "disk" })) end
    local page = store.history(t, { limit = 2 })
    assert.are.same({ ids[5], ids[4] }, { page[1].id, page[2].id })
    page = store.history(t, { limit = 2, before = ids[4] })
    assert.are.same({ ids[3], ids[2] }, { page[1].id, page[2].id })
  end)

  it("activates a stored version again with a new history entry and a notice", function()
    local a = assert(store.publish(t, files_of(t, "A"), { source = "disk" }))
    local b = assert(store.publish(t, files_of(t, "B"), { source = "disk" }))
    assert.is_true(store.activate(t, a, { author = "ops", message = "bad greeting" }))
    assert.are.equal(a, store.current(t))
    local h = store.history(t)
    assert.are.equal(3, #h)
    assert.are.same({ a, b, "rollback", "ops" }, { h[1].id, h[1].parent, h[1].source, h[1].author })
    assert.is_true(store.activate(t, b, { source = "admin" }))    -- roll forward
    assert.are.equal(b, store.current(t))
  end)

  it("refuses to activate an id it does not keep", function()
    assert(store.publish(t, files_of(t, "A"), { source = "disk" }))
    local ok, err = store.activate(t, "0123456789ab", {})
    assert.is_nil(ok)
    assert.are.equal("unknown version", err)
    assert.is_nil(store.files(t, "0123456789ab"))
  end)

  it("refuses files without the tenant's config, and sources it does not know", function()
    local files = files_of(t, "A")
    files["tenants/" .. t .. ".lua"] = nil
    local id, err = store.publish(t, files, { source = "disk" })
    assert.is_nil(id)
    assert.truthy(err:find("tenants/" .. t .. ".lua", 1, true))
    id, err = store.publish(t, files_of(t, "A"), { source = "email" })
    assert.is_nil(id)
    assert.truthy(err:find("source", 1, true))
    assert.is_nil(store.publish("../x", files_of("x", "A"), { source = "disk" }))
  end)

  it("says which files two versions differ in, and how line by line", function()
    local a = assert(store.publish(t, files_of(t, "A"), { source = "disk" }))
    local fb = files_of(t, "B")
    fb["flows/" .. t .. "/tone.lua"] = "return {}\n"
    local b = assert(store.publish(t, fb, { source = "disk" }))
    local d = assert(store.diff(t, a, b))
    local places = {}
    for p in pairs(d) do places[#places + 1] = p end
    table.sort(places)
    assert.are.same({ "flows/" .. t .. "/messages.lua", "flows/" .. t .. "/tone.lua" }, places)
    assert.is_nil(d["flows/" .. t .. "/tone.lua"].old)
    local lines = store.lines("a\nb\nc\n", "a\nx\nc\n")
    assert.are.same({ { op = " ", text = "a" }, { op = "-", text = "b" }, { op = "+", text = "x" },
                      { op = " ", text = "c" } }, lines)
  end)

  it("publishes a notice on its channel for each switch", function()
    local out = os.tmpname()
    local time = require "time"
    local before = redis.call("PUBSUB", "NUMSUB", store.CHANNEL)[2]
    os.execute(("timeout 10 redis-cli -u '%s' subscribe %s > %s 2>&1 &")
      :format(os.getenv("REDIS_URL") or "redis://127.0.0.1:6379", store.CHANNEL, out))
    local t0 = time.monotonic()
    repeat time.sleep(0.05) until redis.call("PUBSUB", "NUMSUB", store.CHANNEL)[2] > before or time.monotonic() - t0 > 5
    local id = assert(store.publish(t, files_of(t, "A"), { source = "studio" }))
    assert(store.activate(t, id, {}))             -- current already: no notice
    local heard
    t0 = time.monotonic()
    repeat
      time.sleep(0.05)
      local f = io.open(out)
      heard = f and f:read("*a") or ""
      if f then f:close() end
    until heard:find(id, 1, true) or time.monotonic() - t0 > 5
    time.sleep(0.2)                               -- (a second notice would be here by now)
    local f = assert(io.open(out))
    heard = f:read("*a")
    f:close()
    os.remove(out)
    local notices = {}
    for line in heard:gmatch("[^\n]+") do
      local n = line:match("^{.*}$") and json.decode(line)
      if n and n.tenant == t then notices[#notices + 1] = n end
    end
    assert.are.same({ { tenant = t, id = id, source = "studio" } }, notices)
  end)

  it("drops the manifests and blobs of versions past the kept history", function()
    local keep = store.KEEP
    store.KEEP = 3
    local ids = {}
    for i = 1, 5 do ids[i] = assert(store.publish(t, files_of(t, "v" .. i), { source = "disk" })) end
    store.KEEP = keep
    assert.are.equal(3, #store.history(t, { limit = 10 }))
    assert.is_false(store.has(t, ids[1]))
    assert.is_false(store.has(t, ids[2]))
    assert.is_true(store.has(t, ids[3]))
    local blobs = redis.call("KEYS", "fh:ver:{" .. t .. "}:blob:*")
    assert.are.equal(3 + 3, #blobs)                -- 3 shared + the 3 kept greetings
    assert.are.same(files_of(t, "v3"), store.files(t, ids[3]))
  end)

  it("keeps a version's blobs when a kept version names it again", function()
    local keep = store.KEEP
    store.KEEP = 2
    local a = assert(store.publish(t, files_of(t, "A"), { source = "disk" }))
    assert(store.publish(t, files_of(t, "B"), { source = "disk" }))
    assert(store.activate(t, a, {}))             -- a is named by the newest entry
    store.KEEP = keep
    assert.is_true(store.has(t, a))
    assert.are.same(files_of(t, "A"), store.files(t, a))
  end)
end)
