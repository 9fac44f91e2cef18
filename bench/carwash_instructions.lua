-- VM instructions per car-service turn, in-process with the JIT off (as a
-- tenant state runs): a stable measure of the Lua work of a turn on a
-- machine whose speed drifts. Run:
--   REDIS_URL=redis://127.0.0.1:<port> build/flowhost test bench/carwash_instructions.lua
-- (a private Redis: it books; CARWASH_BOOKINGS_PER_MINUTE is lifted by the test runner's spec mode;
-- flush it between runs: bookings left from earlier runs fill tomorrow's times and change the path)
local talk = require "flow.talk"
local crypto = require "crypto"

local RUNS = tonumber(os.getenv("CARWASH_INSTR_RUNS") or "20")

describe("carwash turn", function()
  it("counts VM instructions per happy-path turn", function()
    jit.off()
    require("booking").spec_run = true
    local count, turns = 0, 0
    -- run 0 loads the tenant (once per version, not per turn): not counted
    for run = 0, RUNS do
      local c = talk.new("carwash", { id = "chat:instr-" .. crypto.random_hex(8) })
      local phone = "9" .. tostring(tonumber(crypto.random_hex(4), 16) % 900000000 + 100000000)
      local n = run > 0 and 1 or 0
      if run > 0 then debug.sethook(function() count = count + 1 end, "", 100) end
      for _, m in ipairs{ "hi", "Rahul Sharma", phone, "Honda City", "MH 12 AB 1234", "basic wash", "none", "tomorrow" } do
        c:says(m)
        turns = turns + n
      end
      local b = c:buttons()[1]
      if b then c:taps(b.id); turns = turns + n end
      c:taps("confirm")
      turns = turns + n
      debug.sethook()
    end
    local per = count * 100 / turns
    io.stderr:write(("\n  %d turns, %.1fk VM instructions per turn (JIT off)\n"):format(turns, per / 1000))
    assert.truthy(per > 0)
  end)
end)
