-- Issue 13, sections 2 and 6: a worker is never lost to a tenant. Good Co
-- (tests/fixtures/flows/goodco/) is measured at a steady rate alone and
-- while the hostile tenant runs its escape, budget, pattern, allocation and
-- recursion attacks beside it (two attacking customers at once): Good Co's
-- p99 stays within 1.2x of its own baseline and /healthz's within 1.2x +
-- 0.5 ms (timer granularity on a sub-millisecond answer), no Good Co turn
-- fails, the host stays under 64 MB per tenant state + 200 MB, and SIGTERM
-- ends it within shutdown_grace. What holds it: the hostile tenant's first
-- broken budget puts it in quarantine, and its turns then run on the
-- quarantine worker (a thread of its own under SCHED_IDLE, each turn with
-- 25 ms of CPU, all of them within 4 % of a core), never on the workers
-- Good Co's requests use (docs/quarantine.md).
--
-- A 2-core virtual machine has stalls of its own (the hypervisor, the
-- kernel's memory monitor): a few times a minute every request in flight
-- waits 10-70 ms, which is what decides a p99 over a few hundred turns, so
-- a p99 of one short phase moves by 1.5-2x between two phases of the same
-- condition. An attempt therefore alternates the two conditions many
-- times: alone, beside, alone, ..., alone (ROUNDS beside phases between
-- ROUNDS + 1 alone ones), so that drift and bursts of other work fall on
-- both alike, and compares Good Co's p99 over all the turns of each
-- condition (some 2,500 each). Up to ATTEMPTS attempts: the first within
-- 1.2x passes; none within it fails the spec. Each attempt also reports
-- the machine's own noise (the same comparison between the alone phases,
-- odd against even; the median over phases of each phase's own p99; the
-- time the host's serving workers waited for a core while Good Co ran
-- alone, from /proc/<pid>/task/<tid>/schedstat), so that a failure on a
-- busy machine can be told from a failure of the host.
local security = require "security"
local host = require "host"
local time = require "time"
local crypto = require "crypto"
local proc = require "proc"

local RATE = 100           -- Good Co turns a second, sent at a steady pace
local HEALTH_RATE = 20     -- /healthz probes a second
local PHASE = 2            -- seconds of each condition
local ROUNDS = 12          -- beside phases in an attempt (and ROUNDS + 1 alone ones)
local ATTEMPTS = 2         -- (a run of the machine's stalls can still spoil one)
local ATTACKERS = 2        -- hostile customers at once
local RATIO = 1.2          -- the issue's bound on Good Co's p99
local HEALTH_SLACK = 0.0005
local NOISE = 1.1          -- reported: alone against alone within this, and
local CONTENTION = 0.5     -- the serving workers waited for a core at most this much of the
                           -- time they ran, alone: a quiet machine

local ATTACKS = {
  "spin:pcall", "pattern:match", "alloc:gsub", "recurse:pcall", "spin:xpcall", "pattern:find",
  "alloc:concat", "spin:sort", "pattern:gmatch", "alloc:dotdot", "recurse:deep", "spin:gsub",
  "pattern:gsub", "alloc:format", "spin:errobj", "pattern:balanced", "alloc:many", "alloc:table",
  "pattern:backref", "alloc:table_pcall", "pattern:pcall", "alloc:dotdot_wide", "alloc:json",
  "escape:prefix", "escape:self", "pattern:lib", "recurse:plain", "spin:loop",
}

describe("a good tenant beside the hostile one", function()
  local s, bound_kb, states

  setup(function()
    s = security.start()
    local _, list = security.admin(s, "GET", "/admin/tenants")
    states = 0
    for _, t in ipairs(type(list) == "table" and list.tenants or {}) do
      if type(t.version) == "string" then states = states + 1 end
    end
    bound_kb = (64 * states + 200) * 1024
  end)
  teardown(function() security.stop(s) end)

  -- Good Co turns and /healthz probes at a steady pace for secs (and then
  -- until more() is false); the latencies go to out.good / out.health,
  -- failures are counted
  local function drive(secs, out, more)
    local stop_at = time.monotonic() + secs
    local pending, n = 0, 0
    local t0 = time.monotonic()
    while time.monotonic() < stop_at or (more and more()) do
      n = n + 1
      pending = pending + 1
      local i = n
      host.spawn(function()
        local status, body, dt = security.say(s, "goodco", "load-" .. (i % 16), "ping", { timeout = 10 })
        if status == 200 and security.texts(body):find("pong$") then
          out.good[#out.good + 1] = dt
        else
          out.errors = out.errors + 1
          out.first_error = out.first_error or (tostring(status) .. " " .. security.texts(body))
        end
        if i % math.floor(RATE / HEALTH_RATE) == 0 then
          local hs, _, hdt = security.api(s, "GET", "/healthz", { timeout = 10 })
          if hs == 200 then out.health[#out.health + 1] = hdt else out.errors = out.errors + 1 end
        end
        pending = pending - 1
      end)
      local next_at = t0 + n / RATE
      local wait = next_at - time.monotonic()
      if wait > 0 then time.sleep(wait) end
    end
    while pending > 0 do time.sleep(0.01) end
  end

  local next_attack = 0
  local function attack_loop(state)
    while not state.stop do
      next_attack = next_attack % #ATTACKS + 1
      local status, body, dt = security.say(s, "hostile", "atk-" .. crypto.random_hex(4), ATTACKS[next_attack],
                                            { timeout = security.BOUND + 3 })
      state.turns = state.turns + 1
      if status ~= 200 or dt > security.BOUND then state.slow = state.slow + 1 end
    end
    state.done = state.done + 1
  end

  local function phase() return { good = {}, health = {}, errors = 0 } end

  -- nanoseconds the serving worker threads ran and waited for a core so far
  local function workers_sched()
    local run, wait = 0, 0
    for _, tid in ipairs(host.listdir("/proc/" .. s.pid .. "/task") or {}) do
      local dir = "/proc/" .. s.pid .. "/task/" .. tid
      if (proc.read_file(dir .. "/comm") or ""):find("^fh%-worker") then
        local r, w = (proc.read_file(dir .. "/schedstat") or ""):match("^(%d+) (%d+)")
        run, wait = run + (tonumber(r) or 0), wait + (tonumber(w) or 0)
      end
    end
    return run, wait
  end

  -- an alone phase, with the workers' run and wait over it
  local function drive_alone(out)
    local r0, w0 = workers_sched()
    drive(PHASE, out)
    local r1, w1 = workers_sched()
    out.run, out.wait = r1 - r0, w1 - w0
  end

  -- the q-quantile of list `field` over all the turns of the phases
  local function pooled(phases, field, q)
    local all = {}
    for _, r in ipairs(phases) do
      for _, v in ipairs(r[field]) do all[#all + 1] = v end
    end
    return security.p(all, q) or math.huge
  end

  -- the median over phases of each phase's q-quantile of list `field`
  local function median_of(phases, field, q)
    local per = {}
    for i, r in ipairs(phases) do per[i] = security.p(r[field], q) or math.huge end
    return security.p(per, 0.5)
  end

  -- alone, beside, alone, ..., alone: ROUNDS beside phases, ROUNDS + 1 alone
  local function one_attempt()
    local alone, beside = {}, {}
    local attacks = { turns = 0, slow = 0 }
    local peak_rss = 0
    alone[1] = phase()
    drive_alone(alone[1])
    for round = 1, ROUNDS do
      beside[round] = phase()
      local state = { stop = false, done = 0, turns = 0, slow = 0 }
      for _ = 1, ATTACKERS do host.spawn(function() attack_loop(state) end) end
      local sampling = true
      host.spawn(function()
        while sampling do
          local m = security.memory(s.pid)
          if m then peak_rss = math.max(peak_rss, m.rss_kb) end
          time.sleep(0.1)
        end
      end)
      -- beside: PHASE seconds of attacks, then until the last attack turn
      -- has ended (what an attack leaves behind counts against it)
      local deadline = time.monotonic() + PHASE + security.BOUND + 4
      drive(PHASE, beside[round], function()
        state.stop = true
        return state.done < ATTACKERS and time.monotonic() < deadline
      end)
      sampling = false
      attacks.turns, attacks.slow = attacks.turns + state.turns, attacks.slow + state.slow
      alone[round + 1] = phase()
      drive_alone(alone[round + 1])
    end
    return alone, beside, attacks, peak_rss
  end

  -- the alone phases split in two interleaved halves (odd, even)
  local function halves(alone)
    local odd, even = {}, {}
    for i, r in ipairs(alone) do
      if i % 2 == 1 then odd[#odd + 1] = r else even[#even + 1] = r end
    end
    return odd, even
  end

  it("Good Co's p99 stays within 1.2x of its own (/healthz's within 1.2x + 0.5 ms) while the hostile tenant attacks", function()
    drive(1, phase())                                          -- warm up
    local verdicts = {}
    local met, last = false, nil
    for attempt = 1, ATTEMPTS do
      local alone, beside, attacks, peak = one_attempt()
      local g0, g1 = pooled(alone, "good", 0.99), pooled(beside, "good", 0.99)
      local h0, h1 = pooled(alone, "health", 0.99), pooled(beside, "health", 0.99)
      local m0, m1 = pooled(alone, "good", 0.5), pooled(beside, "good", 0.5)
      local odd, even = halves(alone)
      local noise = pooled(odd, "good", 0.99) / pooled(even, "good", 0.99)
      noise = math.max(noise, 1 / noise)
      local per0, per1 = median_of(alone, "good", 0.99), median_of(beside, "good", 0.99)
      local run, wait = 0, 0
      for _, r in ipairs(alone) do run, wait = run + r.run, wait + r.wait end
      local contention = run > 0 and wait / run or math.huge
      local n0, n1, errors, first_error = 0, 0, 0, nil
      for _, r in ipairs(alone) do n0, errors = n0 + #r.good, errors + r.errors end
      for _, r in ipairs(beside) do
        n1, errors = n1 + #r.good, errors + r.errors
        first_error = first_error or r.first_error
      end
      for _, r in ipairs(alone) do first_error = first_error or r.first_error end
      local robust = noise <= NOISE and contention <= CONTENTION
      local line = ("attempt %d: Good Co p99 %.1f ms alone (p50 %.1f, %d turns), %.1f ms beside (p50 %.1f, %d turns): "
        .. "%.2fx; alone against alone %.2fx, median of the phases' p99s %.1f -> %.1f ms, workers waited %.2f of their CPU (%s); /healthz p99 %.2f -> %.2f ms: %.2fx; %d turns failed; "
        .. "%d attack turns (%d slow); peak RSS %d MB")
        :format(attempt, g0 * 1000, m0 * 1000, n0, g1 * 1000, m1 * 1000, n1, g1 / g0, noise, per0 * 1000, per1 * 1000, contention,
                robust and "a quiet machine" or "a noisy machine", h0 * 1000, h1 * 1000, h1 / h0,
                errors, attacks.turns, attacks.slow, math.floor(peak / 1024))
      io.stderr:write("\n  ", line)
      verdicts[#verdicts + 1] = line .. (first_error and (" (first failure: " .. first_error .. ")") or "")
      last = { peak = peak }
      local target = errors == 0 and g1 <= g0 * RATIO and h1 <= h0 * RATIO + HEALTH_SLACK
      if target then met = true end
      io.stderr:write(target and " [1.2x met]" or " [1.2x missed]")
      if met then break end
      if not security.healthy(s, 2) then break end            -- a lost host gets no second try
    end
    io.stderr:write("\n")
    assert.truthy(met, "in no attempt did Good Co's p99 beside the hostile tenant stay within 1.2x of its own "
      .. "(and /healthz's within 1.2x + 0.5 ms), with no turn failed:\n  " .. table.concat(verdicts, "\n  "))
    assert.truthy(last.peak <= bound_kb, ("the host's RSS reached %d MB (bound: 64 MB x %d states + 200 MB)")
      :format(math.floor(last.peak / 1024), states))
  end)

  it("the hostile tenant's turns ran in quarantine, Good Co's on its own worker", function()
    local _, hostile = security.admin(s, "GET", "/admin/tenants/hostile")
    local _, good = security.admin(s, "GET", "/admin/tenants/goodco")
    assert.are.equal(true, type(hostile) == "table" and hostile.quarantined)
    local copy
    for _, c in ipairs(hostile.copies or {}) do if c.quarantine then copy = c end end
    assert.truthy(copy, "no quarantine copy of the hostile tenant's state")
    assert.are.equal(hostile.version, copy.version)
    -- (its calls count from the copy's last rebuild: the log tells instead)
    local log = proc.read_file(s.log) or ""
    assert.truthy(log:find("(the limit is 25 ms)", 1, true) or log:find("(the limit is 250 ms,", 1, true),
      "no hostile turn was stopped at the quarantine's 25 ms budget")
    -- the quarantine thread runs under SCHED_IDLE (policy 5 in /proc/<pid>/task/<tid>/stat)
    local policy
    for _, tid in ipairs(host.listdir("/proc/" .. s.pid .. "/task") or {}) do
      local dir = "/proc/" .. s.pid .. "/task/" .. tid
      if (proc.read_file(dir .. "/comm") or ""):find("^fh%-quarantine") then
        local rest = (proc.read_file(dir .. "/stat") or ""):match("%) (.*)$") or ""
        local fields = {}
        for f in rest:gmatch("%S+") do fields[#fields + 1] = f end
        policy = tonumber(fields[39])                  -- field 41 of stat; rest starts at field 3
      end
    end
    assert.are.equal(5, policy, "the quarantine thread is not under SCHED_IDLE")
    assert.are.equal(false, type(good) == "table" and good.quarantined)
    for _, c in ipairs(good.copies or {}) do assert.falsy(c.quarantine, "Good Co has a quarantine copy") end
  end)

  it("the host's RSS stayed under 64 MB per tenant state + 200 MB through all of it", function()
    local m = security.memory(s.pid)
    assert.truthy(m, "the host is gone")
    assert.truthy(m.hwm_kb <= bound_kb, ("the host's RSS peaked at %d MB (bound: 64 MB x %d states + 200 MB = %d MB)")
      :format(math.floor(m.hwm_kb / 1024), states, math.floor(bound_kb / 1024)))
  end)

  it("SIGTERM after the attacks ends the host within shutdown_grace", function()
    local grace = tonumber(s.env.FLOWHOST_SHUTDOWN_GRACE)
    local took, code = security.stop(s, grace)
    assert.truthy(took, "the host did not exit within shutdown_grace + 2 s of SIGTERM: killed")
    assert.truthy(took <= grace + 0.5, ("the host exited %.2f s after SIGTERM (shutdown_grace %d s)"):format(took, grace))
    assert.are.equal(0, code)
  end)
end)
