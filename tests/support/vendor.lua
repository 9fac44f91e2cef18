--- Helpers for the channel specs: a fake vendor server (tests/fakes/<name>.py)
--- and its control API.
--
--   local fake = vendor.start("whatsapp", "/_control/sent")   -> {url, port, stop = fn}
--   vendor.attach(name, url) -> the same for a fake started elsewhere
--   fake:control(path, body?) -> decoded JSON (GET without body, POST with)
--   fake:sent(path, keep?) / fake:wait_sent(path, keep, n, secs?) -> the
--       records of a GET /_control/sent-like path that keep(record) accepts
--   vendor.wait_for(count_fn, n, secs, what) -> waits until count_fn() >= n
local proc = require "proc"
local http = require "http"
local json = require "json"
local time = require "time"

local M = {}
local Fake = {}
Fake.__index = Fake

-- the interpreter itself, not a version manager's shim (pyenv's runs python
-- as a child: the pid the shell gives back would not be the fake's)
local python
local function interpreter()
  if not python then
    local p = io.popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null")
    python = p and p:read("*l") or ""
    if p then p:close() end
    if python == "" then python = "python3" end
  end
  return python
end

function M.start(name, ready_path)
  -- a free port can be taken by another process before the fake binds it:
  -- then it says so and exits, and another port is tried
  for _ = 1, 3 do
    local port = proc.free_port()
    local f = setmetatable({ name = name, port = port, url = "http://127.0.0.1:" .. port }, Fake)
    local out = ("var/test/%s-fake-%d.out"):format(name, port)
    local started = io.popen(("%s tests/fakes/%s.py --port %d > %s 2>&1 & echo $!"):format(interpreter(), name, port, out))
    f.pid = tonumber(started:read("*l"))
    started:close()
    local lost = false
    local ok = proc.wait_until(function()
      if (proc.read_file(out) or ""):find("address already in use", 1, true) then lost = true; return true end
      -- (generous: on a loaded shared machine a fake's first answer can take seconds)
      local r = http.request{ url = f.url .. (ready_path or "/_control/sent"), timeout = 2 }
      return r and r.status == 200
    end, 20)                   -- (python starts in 10 s and more on a machine under load)
    if ok and not lost then return f end
    if not lost then
      f:stop()                                 -- not left behind
      error("the fake " .. name .. " did not start (" .. out .. ")")
    end
  end
  error("the fake " .. name .. " found no free port in 3 tries")
end

--- A fake some script started already (bench/cluster.sh), at url.
function M.attach(name, url)
  return setmetatable({ name = name, url = url, port = tonumber(url:match(":(%d+)$")) }, Fake)
end

function Fake:control(path, body)
  local r = assert(http.request{ method = body and "POST" or "GET", url = self.url .. path,
    headers = { ["Content-Type"] = "application/json" }, body = body and json.encode(body), timeout = 30 })
  return (json.decode(r.body))
end

--- The records of GET `path` ({"sent": [...]}) that keep(record) accepts.
function Fake:sent(path, keep)
  local out = {}
  for _, m in ipairs(self:control(path).sent) do
    if not keep or keep(m) then out[#out + 1] = m end
  end
  return out
end

--- Waits until at least n records of Fake:sent(path, keep) exist (secs,
--- default 5) and returns them; the error lists every record of path.
function Fake:wait_sent(path, keep, n, secs)
  local t0 = time.monotonic()
  local got = self:sent(path, keep)
  while #got < n do
    if time.monotonic() - t0 > (secs or 5) then
      error(("%d matching records at %s, expected %d: %s"):format(#got, path, n,
        json.encode(self:control(path).sent)), 2)
    end
    time.sleep(0.05)
    got = self:sent(path, keep)
  end
  return got
end

function Fake:stop()
  -- only the process this helper started, by its pid (a fake attached to
  -- is stopped by whoever started it)
  if self.pid then os.execute(("kill %d 2>/dev/null"):format(self.pid)) end
  self.pid = nil
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
