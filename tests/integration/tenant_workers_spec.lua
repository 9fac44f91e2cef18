-- A busy tenant on every worker (`workers = "all"`, flow.replicas): its
-- turns run on whichever worker took the request, its conversations stay
-- whole when their turns alternate between workers, and every version goes
-- live on all copies or on none.
local proc = require "proc"
local http = require "http"
local json = require "json"
local host = require "host"
local time = require "time"
local crypto = require "crypto"


describe("a tenant with a state on every worker", function()
  local s, dir, base_messages, base_config
  local TOKEN = "workers-spec-" .. crypto.random_hex(4)

  setup(function()
    dir = proc.copy_tenant("carwash", "workers")
    base_messages = proc.read_file(dir .. "/flows/carwash/messages.lua")
    base_config = proc.read_file(dir .. "/tenants/carwash.lua")
    assert(base_config:find('workers = "all"', 1, true), "config/tenants/carwash.lua should ask for every worker")
    -- this spec times the copies' switch-over; the specs-before-live gate
    -- (its own spec: check_reload_spec) would add seconds to every edit
    base_config = base_config:gsub('workers = "all"', '%0, specs_before_live = false', 1)
    proc.write_file(dir .. "/tenants/carwash.lua", base_config)
    s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 2, FLOWHOST_ADMIN_TOKEN = TOKEN,
      FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows" } }
  end)
  teardown(function()
    if s then proc.stop(s) end
    proc.sh("rm -rf " .. dir)
  end)

  local chat
  local function say(id, msg)
    chat = chat or require("chat").new(s.url)
    return chat:say("carwash", id, msg, 10)
  end

  local function status()
    local r = assert(http.request{ url = s.url .. "/admin/tenants/carwash",
      headers = { Authorization = "Bearer " .. TOKEN } })
    assert.are.equal(200, r.status, r.body)
    return json.decode(r.body)
  end

  -- n conversations at once, each "hi", a name, a phone number; -> names kept, failures
  local function conversations(n)
    local done, failures, kept = 0, {}, 0
    for k = 1, n do
      host.spawn(function()
        local id, name = "w-" .. k .. "-" .. crypto.random_hex(4), "Priya" .. string.char(97 + k % 26)
        local res
        for _, text in ipairs{ "hi", name, "98765 43210" } do
          local r = say(id, { text = text })
          res = r and r.status == 200 and json.decode(r.body)
          if not res or res.error then failures[#failures + 1] = r and (r.status .. " " .. r.body) or "no answer" end
        end
        if res and res.slots and res.slots.name == name and res.slots.phone then kept = kept + 1 end
        done = done + 1
      end)
    end
    while done < n do time.sleep(0.02) end
    return kept, failures
  end

  -- the greeting of four new conversations shows marker (over several connections)
  local function greetings_show(marker)
    local ok, done = true, 0
    for _ = 1, 8 do
      host.spawn(function()
        local r = say("probe-" .. crypto.random_hex(6), { text = "hi" })
        if not r or r.status ~= 200 or not r.body:find(marker, 1, true) then ok = false end
        done = done + 1
      end)
    end
    while done < 8 do time.sleep(0.01) end
    return ok
  end

  it("runs the tenant's turns on both workers, and its conversations stay whole", function()
    local st = status()
    assert.are.equal(1, #st.copies, json.encode(st.copies) .. " " .. tostring(st.version) .. " " .. json.encode(st.last_error))
    assert.are_not.equal(st.worker, st.copies[1].worker)
    assert.are.equal(st.version, st.copies[1].version)
    local calls0, copy0 = st.calls, st.copies[1].calls
    local kept, failures = conversations(48)
    assert.are.same({}, failures)
    assert.are.equal(48, kept)
    st = status()
    local owner_turns, copy_turns = st.calls - calls0, st.copies[1].calls - copy0
    io.stderr:write(("\n  144 turns: %d on the owner worker, %d on the other\n"):format(owner_turns, copy_turns))
    assert.truthy(owner_turns > 0, "no turn ran on the owner worker")
    assert.truthy(copy_turns > 0, "no turn ran on the other worker")
    assert.are.equal(144, owner_turns + copy_turns)
  end)

  it("takes a new version live on both copies, and keeps both on the last good one after a broken edit", function()
    local path = dir .. "/flows/carwash/messages.lua"
    local old = status().version
    proc.write_file(path, (base_messages:gsub("Hi! Welcome to", "Hi (both)! Welcome to", 1)))
    local t0, st = time.monotonic(), nil
    repeat
      time.sleep(0.05)
      st = status()
      assert.truthy(time.monotonic() - t0 < 3, "the new version was not serving after 3 s")
    until st.version ~= old
    assert.are.equal(st.version, st.copies[1].version)        -- no worker serves the old one
    assert.truthy(greetings_show("(both)"))
    local good = st.version

    proc.write_file(path, base_messages .. "\nthis line is not lua\n")
    t0 = time.monotonic()
    repeat
      time.sleep(0.05)
      st = status()
      assert.truthy(time.monotonic() - t0 < 3, "the broken version was not reported")
    until st.last_error ~= json.null
    assert.are.equal(good, st.version)
    assert.are.equal(good, st.copies[1].version)
    assert.truthy(greetings_show("(both)"))
  end)

  it("rolls back on both copies", function()
    local st = status()
    local before = st.history[2].version
    local r = assert(http.request{ method = "POST", url = s.url .. "/admin/tenants/carwash/rollback",
      headers = { Authorization = "Bearer " .. TOKEN }, body = json.encode{ version = before } })
    assert.are.equal(200, r.status, r.body)
    st = status()
    assert.are.equal(before, st.version)
    assert.are.equal(before, st.copies[1].version)
  end)

  it("drops the copy when the tenant goes back to one worker, and makes it again for \"all\"", function()
    local cfg = dir .. "/tenants/carwash.lua"
    proc.write_file(dir .. "/flows/carwash/messages.lua", base_messages)     -- (the last spec left it broken)
    proc.write_file(cfg, (base_config:gsub('workers = "all"', "workers = 1", 1)))
    local t0, st = time.monotonic(), nil
    repeat
      time.sleep(0.05)
      st = status()
      assert.truthy(time.monotonic() - t0 < 3, "the copy was not dropped")
    until #st.copies == 0 and st.last_error == json.null
    local calls0 = st.calls
    local kept, failures = conversations(16)
    assert.are.same({}, failures)
    assert.are.equal(16, kept)
    assert.are.equal(48, status().calls - calls0)           -- every turn on the owner

    proc.write_file(cfg, base_config)
    t0 = time.monotonic()
    repeat
      time.sleep(0.05)
      st = status()
      assert.truthy(time.monotonic() - t0 < 3, "the copy was not made again")
    until #st.copies == 1
    assert.are.equal(st.version, st.copies[1].version)
  end)
end)
