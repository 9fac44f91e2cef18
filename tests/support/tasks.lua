--- Spec helper: run n concurrent tasks and wait for all of them.
local host = require "host"

local M = {}

--- Spawns n tasks running fn(i); waits (up to limit seconds, default 30)
--- until all finished. Returns the list of errors the tasks raised.
function M.run(n, fn, limit)
  local me, done, errors = host.task_id(), 0, {}
  for i = 1, n do
    host.spawn(function()
      local ok, err = pcall(fn, i)
      if not ok then errors[#errors + 1] = tostring(err) end
      done = done + 1
      if done == n then host.wake(me) end
    end)
  end
  if done < n then host.park(limit or 30) end
  assert(done == n, ("only %d of %d tasks finished"):format(done, n))
  return errors
end

return M
