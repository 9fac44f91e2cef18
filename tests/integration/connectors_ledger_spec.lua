-- The side-effect ledger under kill -9: the real host serves the fixture
-- tenant fxco (tests/fixtures/tenants/fxco.lua), whose flow creates Odoo
-- leads through c.connectors.odoo under idempotency keys; the host is
-- killed in the middle of calls (the fake Odoo holds each victim's create
-- for 300 ms, the kill lands at a random point of it), restarted, and every
-- key is sent again. Odoo must end with exactly one lead per key.
local proc = require "proc"
local vendor = require "vendor"
local chat = require "chat"
local json = require "json"
local time = require "time"
local host = require "host"
local crypto = require "crypto"

local CALLS = 200
local fake, s, talk
local run = crypto.random_hex(4)           -- keys of this run only (Redis may hold older runs)

local function start()
  s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2,
    FLOWHOST_TENANTS_DIR = "tests/fixtures/tenants", FLOWHOST_FLOWS_DIR = "tests/fixtures/flows",
    FXCO_ODOO_URL = fake.url, FXCO_ODOO_LOGIN = "bot@example.com", FXCO_ODOO_KEY = "odoo-key" } }
  talk = chat.new(s.url)
end

local seq = 0
-- one turn on a fresh conversation -> the reply text | nil (no answer)
local function say(text, timeout)
  seq = seq + 1
  local r = talk:say("fxco", "c" .. seq, text, timeout)
  if not r or r.status ~= 200 then return nil end
  local body = json.decode(r.body)
  return body.replies and body.replies[1] and body.replies[1].text
end

-- sends `make key` until it is answered with an id (busy: the killed call's
-- lease has not ended yet) -> the id
local function make(key)
  local t0 = time.monotonic()
  while true do
    local text = say("make " .. key)
    local id = text and text:match("^made (%d+)$")
    if id then return tonumber(id) end
    if time.monotonic() - t0 > 30 then error(("make %s: no id after 30 s (last answer %s)"):format(key, tostring(text))) end
    time.sleep(0.3)
  end
end

local function leads()
  return fake:control("/_control/state").records["crm.lead"] or {}
end

describe("the side-effect ledger under kill -9", function()
  setup(function()
    fake = vendor.start("odoo", "/_control/calls")
    start()
  end)
  teardown(function()
    if s then proc.stop(s, "KILL") end
    fake:stop()
  end)

  it("keeps the flow from reading or changing a connector's settings, and asks for a key", function()
    assert.are.equal("made nil nil nil false false", say("peek"))
  end)

  it("leaves exactly one remote record per key over 200 calls with kills in the middle", function()
    local ids, kills = {}, 0
    math.randomseed(tonumber(run, 16))
    for i = 1, CALLS do
      local key = run .. "-" .. i
      if i % 25 == 13 then
        -- a victim: its create is held 300 ms at the fake, the host dies somewhere in it
        fake:control("/_control/script", { faults = { { path = "/jsonrpc", body_has = '"' .. key .. '"', delay_ms = 300 } } })
        host.spawn(function() say("make " .. key, 2) end)
        time.sleep(0.05 + math.random() * 0.4)
        proc.stop(s, "KILL")
        kills = kills + 1
        start()
      end
      ids[key] = make(key)
    end
    -- every key again, as a retried turn or a duplicate webhook would: the stored result
    for i = 1, CALLS do
      local key = run .. "-" .. i
      assert.are.equal(ids[key], make(key))
    end
    local per_key, distinct = {}, {}
    for _, lead in ipairs(leads()) do
      if lead.name:sub(1, #run + 1) == run .. "-" then
        per_key[lead.name] = (per_key[lead.name] or 0) + 1
        assert.are.equal("fxco:" .. lead.name, lead.x_flowhost_key)
        assert.are.equal(ids[lead.name], lead.id)
      end
    end
    local dup = 0
    for _, n in pairs(per_key) do
      distinct[#distinct + 1] = n
      if n > 1 then dup = dup + 1 end
    end
    -- one create sent per key, killed ones included: none was sent twice;
    -- and the killed calls were resolved by looking the key up at Odoo
    local creates, lookups = 0, 0
    for _, c in ipairs(fake:control("/_control/calls").calls) do
      if c.body:find('"create"', 1, true) and c.body:find(run, 1, true) then creates = creates + 1 end
      if c.body:find('"x_flowhost_key","="', 1, true) then lookups = lookups + 1 end
    end
    print(("\n%d calls, %d kills, %d creates sent, %d in-doubt look-ups"):format(CALLS, kills, creates, lookups))
    assert.are.equal(CALLS, creates)
    assert.is_true(lookups >= 1)
    assert.are.equal(8, kills)
    assert.are.equal(CALLS, #distinct)
    assert.are.equal(0, dup)
  end)
end)
