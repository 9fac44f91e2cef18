--- Helpers for integration specs: start the real flowhost binary (and
--- private Redis servers) as separate processes, wait for them, stop them.
local http = require "http"
local time = require "time"

local M = {}

M.BIN = os.getenv("FLOWHOST_BIN") or "build/flowhost"
local port_seq = 18100 + (os.time() % 40) * 20

-- A port nothing listens on (a host left over from an aborted run would
-- otherwise answer in place of the one a spec starts).
function M.free_port()
  for _ = 1, 200 do
    port_seq = port_seq + 1
    local _, err = http.request{ url = "http://127.0.0.1:" .. port_seq .. "/", timeout = 0.3 }
    if err == "connection refused" then return port_seq end
  end
  error("no free port near " .. port_seq)
end

local starts = 0

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end
M.sh = sh

function M.read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Writes text to path (replacing what was there).
function M.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- Replaces the first `from` (plain text) in the file with `to`; raises
--- when the file no longer has it (the spec's edit would test nothing).
function M.edit_file(path, from, to)
  local text = assert(M.read_file(path), "cannot read " .. path)
  local i = assert(text:find(from, 1, true), "the file no longer has: " .. from)
  M.write_file(path, text:sub(1, i - 1) .. to .. text:sub(i + #from))
end

--- A copy of tenant id (its config, the platform defaults and its flow
--- folder) in a fresh folder var/test/<label>-<random>, for a spec to edit:
--- -> dir, env {FLOWHOST_TENANTS_DIR, FLOWHOST_FLOWS_DIR}; remove it with
--- proc.sh("rm -rf " .. dir)
function M.copy_tenant(id, label)
  local dir = ("var/test/%s-%s"):format(label or id, require("crypto").random_hex(4))
  sh(("mkdir -p %s/tenants %s/flows && cp config/tenants/%s.lua config/tenants/_platform.lua %s/tenants/ && cp -r flows/%s %s/flows/")
    :format(dir, dir, id, dir, id, dir))
  return dir, { FLOWHOST_TENANTS_DIR = dir .. "/tenants", FLOWHOST_FLOWS_DIR = dir .. "/flows" }
end

--- Polls fn() every `every` seconds until it returns a truthy value or
--- `timeout` seconds pass; returns that value (or nil).
function M.wait_until(fn, timeout, every)
  local deadline = time.monotonic() + (timeout or 10)
  repeat
    local v = fn()
    if v then return v end
    time.sleep(every or 0.05)
  until time.monotonic() > deadline
  return nil
end

--- Starts `flowhost serve`. opts: config, env (table), port, wait (bool,
--- default true). Returns {pid, port, url, log, exitfile}.
function M.start(opts)
  opts = opts or {}
  local port = opts.port or M.free_port()
  os.execute("mkdir -p var/test")
  starts = starts + 1                              -- unique even for one port twice a second
  local base = ("var/test/fh-%d-%d-%d"):format(port, os.time(), starts)
  local s = { port = port, url = "http://127.0.0.1:" .. port, log = base .. ".log",
              pidfile = base .. ".pid", exitfile = base .. ".exit" }
  os.remove(s.pidfile)                             -- busted reloads this module per file:
  os.remove(s.exitfile)                            -- names can repeat within a second
  -- a spec drives its host from one address, with many pooled connections:
  -- the per-address limit is off unless the spec sets it; so is the wait
  -- for a burst of messages (specs answer message by message)
  -- specs share one Redis, each with its own copy of a tenant: a host
  -- serves its own files unless the spec asks for the version store
  -- (FLOWHOST_VERSIONS = "redis", tests/integration/versions_spec.lua)
  local env = { FLOWHOST_LISTEN = "127.0.0.1:" .. port, FLOWHOST_MAX_CONNECTIONS_PER_IP = 0,
                FLOWHOST_DEBOUNCE_MS = 0, FLOWHOST_VERSIONS = "disk" }
  for k, v in pairs(opts.env or {}) do env[k] = v end
  local prefix = ""
  for k, v in pairs(env) do prefix = prefix .. k .. "='" .. tostring(v) .. "' " end
  local inner = ("%s%s serve --config %s > %s 2>&1 & echo \\$! > %s; wait \\$!; echo \\$? > %s")
    :format(prefix, M.BIN, opts.config or "tests/support/config.lua", s.log, s.pidfile, s.exitfile)
  os.execute("setsid sh -c \"" .. inner .. "\" > /dev/null 2>&1 &")
  s.pid = M.wait_until(function() return tonumber(M.read_file(s.pidfile)) end, 5)
  if not s.pid then error("could not start " .. M.BIN) end
  if opts.wait ~= false then
    local ok = M.wait_until(function()
      local res = http.request{ url = s.url .. "/healthz", timeout = 0.5 }
      return res and res.status == 200
    end, 10)
    if not ok or M.read_file(s.exitfile) then
      os.execute("kill -9 " .. s.pid .. " 2>/dev/null")   -- never leave it behind
      error("flowhost did not start; log:\n" .. (M.read_file(s.log) or ""))
    end
  end
  return s
end

--- Sends a signal ("TERM", "KILL", ...) and waits for the exit; returns the
--- exit status sh recorded (a number) or nil if it did not exit in time.
function M.stop(s, sig, timeout)
  os.execute("kill -" .. (sig or "TERM") .. " " .. s.pid .. " 2>/dev/null")
  return M.wait_exit(s, timeout)
end

function M.wait_exit(s, timeout)
  local code = M.wait_until(function()
    local t = M.read_file(s.exitfile)
    return t and tonumber(t)
  end, timeout or 15)
  return code
end

--- A private redis-server on port; returns {port, url, name}.
function M.redis_start(name, port)
  assert(os.execute("tools/redis.sh start " .. name .. " " .. port) == 0, "redis did not start")
  return { name = name, port = port, url = "redis://127.0.0.1:" .. port }
end

function M.redis_kill(r)
  os.execute("kill -9 $(cat var/" .. r.name .. "/redis.pid) 2>/dev/null; rm -f var/" .. r.name .. "/redis.pid")
end

function M.redis_stop(r)
  os.execute("tools/redis.sh stop " .. r.name)
end

return M
