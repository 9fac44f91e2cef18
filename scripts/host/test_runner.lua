-- Runs busted specs inside the host runtime (`flowhost test <paths>`), so
-- specs use the real http, redis, timer and lock modules. Ends the process
-- with busted's verdict: 0 when every spec passed.
local host = require "host"

local M = {}

local EXIT = {}

function M.run(argv)
  local code
  -- busted ends by calling os.exit (or error() on failure under Lua 5.1)
  local real_exit = os.exit
  os.exit = function(c)
    if c == true or c == nil then code = 0
    elseif c == false then code = 1
    else code = tonumber(c) or 1 end
    error(EXIT, 0)
  end
  local args = { "-o", "host.fh_output" }
  for _, a in ipairs(argv) do args[#args + 1] = a end
  _G.arg = args
  local ok, err = pcall(require("busted.runner"), { standalone = false })
  os.exit = real_exit
  if not ok and err ~= EXIT then
    if err ~= nil then io.stderr:write(tostring(err), "\n") end
    code = code or 1
  end
  -- busted returns normally (no os.exit) when every spec passed
  if ok then code = code or 0 end
  io.stdout:flush()
  host.exit(code or 1)
end

return M
