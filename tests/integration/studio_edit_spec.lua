-- The studio's edit cycle over real HTTP, on a scratch copy of the salon:
-- a bad placeholder is an error at its file and line as the editor types,
-- a draft is previewed (on the preview host, its own Redis database) while
-- the live bot is unchanged, its specs run, it is published (files on
-- disk, the version store, the live bot), and rolled back (files and the
-- live bot as before).
local proc = require "proc"
local studio = require "studio"
local chat = require "chat"
local json = require "json"
local http = require "http"
local redis = require "redis"
local crypto = require "crypto"

describe("studio edit, preview, publish and rollback", function()
  local s, dir, c, original
  local SALON = "sal-" .. crypto.random_hex(6)
  setup(function()
    local env
    dir, env = proc.copy_tenant("salon", "studio-edit")
    env.FLOWHOST_WORKERS = 2
    env.SALON_ADMIN_TOKEN = SALON
    env.FLOWHOST_STUDIO_DIR = dir .. "/no-bundle"
    env.FLOWHOST_STUDIO_PREVIEW_DIR = dir .. "/preview"
    env.FLOWHOST_STUDIO_PREVIEW_LISTEN = "127.0.0.1:" .. proc.free_port()
    original = proc.read_file(dir .. "/flows/salon/messages.lua")
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, "fh:ver:{salon}:*")
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, "fh:studio:{salon}:*")
    s = proc.start{ config = "config/flowhost.lua", env = env }
    c = studio.new(s.url)
    assert.are.equal(200, (c:sign_in(SALON)))
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
    redis.call("SREM", "fh:ver:tenants", "salon")
    for _, p in ipairs{ "fh:ver:{salon}:*", "fh:studio:{salon}:*" } do
      redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1", 0, p)
    end
  end)

  local BAD = "Bienvenida a {tenant} {nme}"
  local GOOD = "Bienvenidos a {tenant}"
  local function with(text) return (original:gsub("Bienvenida a {tenant}", text, 1)) end
  local function live_greeting()
    local r = json.decode(chat.new(s.url):say("salon", "live-" .. crypto.random_hex(4), "hola").body)
    return r.replies[1].text
  end
  local function line_of(text, needle)
    local n = 0
    for l in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      if l:find(needle, 1, true) then return n end
    end
  end

  it("shows a bad placeholder as the editor types, at messages.lua and its line, quickly", function()
    local t0 = require("time").monotonic()
    local st, r = c:call("POST", "tenants/salon/check", { path = "messages.lua", text = with(BAD) })
    local took = require("time").monotonic() - t0
    assert.are.equal(200, st)
    assert.is_false(r.ok)
    local e = r.errors[1]
    assert.are.equal("messages.lua", e.file)
    assert.are.equal(line_of(original, "Bienvenida a {tenant}"), e.line)
    assert.truthy(e.message:find("nme", 1, true), e.message)
    assert.is_true(took < 1, "the check took " .. took .. " s")
    -- the same text again is answered from memory
    t0 = require("time").monotonic()
    c:call("POST", "tenants/salon/check", { path = "messages.lua", text = with(BAD) })
    print(("\n  check as you type: %.0f ms first, %.0f ms again"):format(took * 1000, (require("time").monotonic() - t0) * 1000))
    -- saved into the draft, the draft cannot be published
    st, r = c:call("PUT", "tenants/salon/draft/files/messages.lua", { text = with(BAD) })
    assert.are.equal(200, st)
    assert.is_true(r.saved)
    assert.is_false(r.check.ok)
    st, r = c:call("POST", "tenants/salon/publish", { message = "broken" })
    assert.are.equal(422, st)
    assert.are.equal("checks failed", r.error)
    assert.are.equal("messages.lua", r.check.errors[1].file)
  end)

  it("previews the fixed draft while the live bot is unchanged, and runs its specs", function()
    local st, r = c:call("PUT", "tenants/salon/draft/files/messages.lua", { text = with(GOOD) })
    assert.are.equal(200, st)
    assert.is_true(r.check.ok, json.encode(r.check))
    local _, d = c:call("GET", "tenants/salon/draft")
    assert.is_true(d.exists)
    assert.are.same({ "messages.lua" }, d.files)
    local plus = {}
    for _, l in ipairs(d.diff[1].lines) do if l.op == "+" then plus[#plus + 1] = l.text end end
    assert.are.equal(1, #plus)
    assert.truthy(plus[1]:find("Bienvenidos", 1, true))
    assert.are.equal("salon admin", d.author)
    st, r = c:call("POST", "tenants/salon/draft/chat", { conversation = "p1", text = "hola" })
    assert.are.equal(200, st, json.encode(r))
    assert.truthy(r.replies[1].text:find("Bienvenidos", 1, true), r.replies[1].text)
    assert.are.equal("collect", r.state)
    st, r = c:call("POST", "tenants/salon/draft/chat", { conversation = "p1", text = "Leocadia" })
    assert.are.equal("Leocadia", r.slots.name)
    -- a tapped button goes as its id, as a channel sends it (the branch
    -- question has buttons)
    st, r = c:call("POST", "tenants/salon/draft/chat", { conversation = "p1", text = "55 1234 5678" })
    assert.are.equal(200, st, json.encode(r))
    st, r = c:call("POST", "tenants/salon/draft/chat", { conversation = "p1", text = "quiero un corte" })
    assert.are.equal(200, st, json.encode(r))
    local tapped
    for _, reply in ipairs(r.replies) do
      if reply.buttons and reply.buttons[1] then tapped = reply.buttons[1]; break end
    end
    assert.truthy(tapped, "the salon asks for a branch with buttons: " .. json.encode(r.replies))
    local before = 0
    for _ in pairs(r.slots) do before = before + 1 end
    st, r = c:call("POST", "tenants/salon/draft/chat", { conversation = "p1", button = tapped.id })
    assert.are.equal(200, st, json.encode(r))
    local after = 0
    for _ in pairs(r.slots) do after = after + 1 end
    assert.are.equal(before + 1, after, json.encode(r.slots))
    -- the live bot and the live Redis are untouched
    assert.truthy(live_greeting():find("Bienvenida a", 1, true))
    assert.are.equal(original, proc.read_file(dir .. "/flows/salon/messages.lua"))
    local _, list = c:call("GET", "tenants/salon/conversations")
    for _, conv in ipairs(list.conversations) do assert.is_nil(conv.name ~= json.null and conv.name:lower() == "leocadia" or nil) end
    st, r = c:call("POST", "tenants/salon/draft/specs")
    assert.are.equal(200, st)
    assert.is_true(r.passed > 0, r.output)
    assert.are.equal(0, r.failed, r.output)
  end)

  local first
  it("publishes: files on disk, a version with author and message, the live bot changed", function()
    local st, r = c:call("POST", "tenants/salon/publish", { message = "a greeting for everyone" })
    assert.are.equal(200, st, json.encode(r))
    assert.truthy(r.version:match("^%x+$"))
    assert.are.equal(with(GOOD), proc.read_file(dir .. "/flows/salon/messages.lua"))
    assert.truthy(proc.wait_until(function() return live_greeting():find("Bienvenidos", 1, true) end, 5))
    local _, v = c:call("GET", "tenants/salon/versions")
    assert.are.equal(r.version, v.versions[1].id)
    assert.are.equal("salon admin", v.versions[1].author)
    assert.are.equal("a greeting for everyone", v.versions[1].message)
    assert.are.equal("studio", v.versions[1].source)
    assert.is_true(v.versions[1].live)
    assert.are.equal("disk", v.versions[2].source)                  -- what served before
    assert.is_false(v.versions[2].live)
    first = v.versions[2].id
    local _, d = c:call("GET", "tenants/salon/versions/" .. first .. "/diff?against=live")
    assert.are.same({ "messages.lua" }, d.files)
    local _, after = c:call("GET", "tenants/salon/draft")
    assert.is_false(after.exists)
  end)

  it("rolls back: the files on disk and the live bot as they were, and a history entry", function()
    local st, r = c:call("POST", "tenants/salon/rollback", { version = first })
    assert.are.equal(200, st, json.encode(r))
    assert.are.equal(first, r.version)
    assert.are.equal(original, proc.read_file(dir .. "/flows/salon/messages.lua"))
    assert.truthy(proc.wait_until(function() return live_greeting():find("Bienvenida a", 1, true) end, 5))
    local _, v = c:call("GET", "tenants/salon/versions")
    assert.are.equal("rollback", v.versions[1].source)
    assert.are.equal(first, v.versions[1].id)
    assert.is_true(v.versions[1].live)
    assert.are.equal(409, (c:call("POST", "tenants/salon/rollback", { version = "0123456789ab" })))
  end)

  it("answers a page saying how to build the bundle when there is none", function()
    local r = assert(http.request{ url = s.url .. "/studio/" })
    assert.are.equal(200, r.status)
    assert.truthy(r.body:find("vendor/studio/", 1, true))
  end)
end)
