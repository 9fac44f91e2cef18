-- Where a car-service turn's Lua work goes: VM instructions sampled every
-- 100 (JIT off, as a tenant state runs) and counted by function and by
-- line over RUNS happy-path conversations. Deterministic, so it can be
-- compared between builds on a machine whose speed drifts. Run:
--   REDIS_URL=redis://127.0.0.1:<port> build/flowhost test bench/carwash_profile.lua
-- (a private Redis, flushed between runs, as for bench/carwash_instructions.lua;
-- CARWASH_PROFILE_RUNS conversations, default 10; CARWASH_PROFILE_TOP rows, default 30)
local talk = require "flow.talk"
local crypto = require "crypto"

local RUNS = tonumber(os.getenv("CARWASH_PROFILE_RUNS") or "10")
local TOP = tonumber(os.getenv("CARWASH_PROFILE_TOP") or "30")
local MESSAGES = { "hi", "Rahul Sharma", nil, "Honda City", "MH 12 AB 1234", "basic wash", "none", "tomorrow" }

describe("carwash turn", function()
  it("shows where the VM instructions of a happy-path turn go", function()
    jit.off()
    require("booking").spec_run = true
    local by_line, by_fn, samples, turns = {}, {}, 0, 0
    local getinfo = debug.getinfo
    local function sample()
      samples = samples + 1
      local i = getinfo(2, "Sl")
      if i then
        local l = i.short_src .. ":" .. (i.currentline or 0)
        local f = i.short_src .. ":" .. (i.linedefined or 0)
        by_line[l] = (by_line[l] or 0) + 1
        by_fn[f] = (by_fn[f] or 0) + 1
      end
    end
    -- run 0 loads the tenant (once per version, not per turn): not counted
    for run = 0, RUNS do
      local c = talk.new("carwash", { id = "chat:prof-" .. crypto.random_hex(8) })
      local counted = run > 0 and 1 or 0
      MESSAGES[3] = "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
      if run > 0 then debug.sethook(sample, "", 100) end
      for _, m in ipairs(MESSAGES) do
        c:says(m)
        turns = turns + counted
      end
      local b = c:buttons()[1]
      if b then c:taps(b.id); turns = turns + counted end
      c:taps("confirm")
      turns = turns + counted
      debug.sethook()
    end
    local function show(counts, title)
      local rows = {}
      for k, n in pairs(counts) do rows[#rows + 1] = { k, n } end
      table.sort(rows, function(a, b) return a[2] > b[2] end)
      io.stderr:write("\n  ", title, "\n")
      for i = 1, math.min(TOP, #rows) do
        io.stderr:write(("  %6.2f %%  %s\n"):format(rows[i][2] * 100 / samples, rows[i][1]))
      end
    end
    io.stderr:write(("\n  %d turns, %.1fk VM instructions per turn (JIT off)\n"):format(turns, samples * 100 / turns / 1000))
    show(by_fn, "by function (file:line where it is defined)")
    show(by_line, "by line")
    assert.truthy(samples > 0 and turns > 0)
  end)
end)
