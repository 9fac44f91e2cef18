--- flow.admission: how many calls run in one tenant state at once; the
--- rest wait their turn in arrival order.
--
--   admission.enter(gate)   waits (yields) until the call may run
--   admission.leave(gate)   the call ended: the next waiting one runs
--   gate: any table (a tenant's entry); its fields inside, first, last
--   and the waiting task ids are this module's
--
-- Why: a state that runs hundreds of turns at once shares its worker
-- among all of them, so each turn's latency is the sum of every other's
-- work between its Redis round trips, and the heap holds all of them at
-- once (more to collect). Beyond RUNNING, a turn that waits in a queue
-- and then runs alone finishes as soon, on average, and the slowest
-- turns finish much sooner (bench/README.md, the car-service bench at
-- 1,000 concurrent conversations).
local host = require "host"

local M = {}

M.RUNNING = 32

function M.enter(gate)
  local inside = (gate.inside or 0) + 1
  gate.inside = inside
  if inside <= M.RUNNING then return end
  if not gate.first then gate.first, gate.last = 1, 0 end
  gate.last = gate.last + 1
  gate[gate.last] = host.task_id()
  repeat until host.park(60)                   -- leave() wakes it
end

function M.leave(gate)
  gate.inside = gate.inside - 1
  while gate.first and gate.first <= gate.last do
    local id = gate[gate.first]
    gate[gate.first], gate.first = nil, gate.first + 1
    if host.wake(id) then return end           -- (a task gone meanwhile: the next one)
    gate.inside = gate.inside - 1
  end
end

return M
