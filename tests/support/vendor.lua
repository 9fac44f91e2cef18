--- Helpers for the channel specs: a fake vendor server (tests/fakes/<name>.py)
--- and its control API.
--
--   local fake = vendor.start("whatsapp", "/_control/sent")   -> {url, port, stop = fn}
--   fake:control(path, body?) -> decoded JSON (GET without body, POST with)
--   vendor.wait_for(count_fn, n, secs, what) -> waits until count_fn() >= n
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"

local M = {}
local Fake = {}
Fake.__index = Fake

function M.start(name, ready_path)
  local port = proc.free_port()
  local f = setmetatable({ name = name, port = port, url = "http://127.0.0.1:" .. port }, Fake)
  os.execute(("python3 tests/fakes/%s.py --port %d > var/test/%s-fake-%d.out 2>&1 &"):format(name, port, name, port))
  local ok = proc.wait_until(function()
    local r = http.request{ url = f.url .. (ready_path or "/_control/sent"), timeout = 0.3 }
    return r and r.status == 200
  end, 5)
  if not ok then error("the fake " .. name .. " did not start (var/test/" .. name .. "-fake-" .. port .. ".out)") end
  return f
end

function Fake:control(path, body)
  local r = assert(http.request{ method = body and "POST" or "GET", url = self.url .. path,
    headers = { ["Content-Type"] = "application/json" }, body = body and json.encode(body), timeout = 30 })
  return (json.decode(r.body))
end

function Fake:stop()
  -- the python process itself (a pyenv shim's pid would leave it running)
  os.execute(("pkill -f 'tests/fakes/%s.py --port %d' 2>/dev/null"):format(self.name, self.port))
end

function M.wait_for(count, n, secs, what)
  local t0 = time.monotonic()
  while count() < n do
    if time.monotonic() - t0 > (secs or 5) then
      error(("%s: %d, expected %d"):format(what or "waited", count(), n), 2)
    end
    time.sleep(0.05)
  end
end

return M
