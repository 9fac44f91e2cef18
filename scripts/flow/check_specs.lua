--- flow.check_specs: a tenant's own conversation specs (flows/<id>/spec),
--- run against a new version before it may replace the one serving.
--
--   check_specs.run(id, files) -> true | nil, problems        (yields)
--       files: the version's snapshot (flow.version): exactly those files
--       are written to a temporary folder with the specs as they are on
--       disk now, and `flowhost test <that folder>/flows/<id>/spec` runs
--       there in a process of its own. The caller's worker goes on serving
--       (the old version answers customers) while it polls for the end.
--       problems: "file:line: spec failed: ..." lines from busted's report.
--       No spec folder: true at once (output ""). output: busted's report.
--   check_specs.configure{config = path, timeout = seconds}
--       the host's config file (passed to the spec process), and how long
--       a run may take (default 120 s; then it counts as failed).
--
-- The spec process selects a Redis database of its own
-- (FLOWHOST_SPEC_DB, see host.test_runner), flushes it before and after,
-- and never writes into the database the host serves from. Runs on one
-- machine take turns (flock on $TMPDIR/flowhost-specs.lock) so that two
-- never share that database at once.
local host = require "host"
local time = require "time"
local crypto = require "crypto"
local log = require "log"

local M = {}

local cfg = { timeout = 120 }

function M.configure(opts)
  for k, v in pairs(opts or {}) do cfg[k] = v end
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function tmpdir() return (os.getenv("TMPDIR") ~= "" and os.getenv("TMPDIR")) or "/tmp" end

-- busted's failures as "file:line: spec failed: name: why" (the files named
-- as the tenant's own spec folder, not the temporary copy)
local function failures(out, tmp, spec_dir)
  local problems = {}
  local lines = {}
  for l in (out:gsub("\27%[[%d;]*m", "") .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  for i, l in ipairs(lines) do
    local file, line = l:match("^[FE]%a+ %S+ (%S+) @ (%d+)$")
    if file then
      file = file:gsub("^" .. tmp:gsub("%p", "%%%0") .. "/flows/[^/]+/spec", spec_dir)
      local why = (lines[i + 2] or ""):gsub("^%S+:%d+: ", "")
      problems[#problems + 1] = ("%s:%s: spec failed: %s: %s"):format(file, line, lines[i + 1] or "?", why)
    end
  end
  if #problems == 0 then
    problems[1] = ("%s:1: the specs did not pass: %s"):format(spec_dir .. "/", (out:match("([^\n]+)\n*$") or "no output"))
  end
  return problems
end

function M.run(id, files)
  local tenant = require "flow.tenant"
  local version = require "flow.version"
  local tdir, fdir = tenant.dirs()
  local spec_dir = fdir .. "/" .. id .. "/spec"
  local specs = version.tree(spec_dir, {})
  if not next(specs) then return true, nil, "" end
  local tmp = ("%s/flowhost-specs-%s-%s"):format(tmpdir(), id, crypto.random_hex(6))
  -- the version's files and the specs, in the folders the spec process reads
  local out, dirs = {}, {}
  local function place(path, text)
    local rel = path:sub(1, #tdir + 1) == tdir .. "/" and ("tenants/" .. path:sub(#tdir + 2))
      or path:sub(1, #fdir + 1) == fdir .. "/" and ("flows/" .. path:sub(#fdir + 2)) or nil
    if rel then
      out[tmp .. "/" .. rel] = text
      dirs[(tmp .. "/" .. rel):match("^(.*)/[^/]+$")] = true
    end
  end
  for path, text in pairs(files) do place(path, text) end
  for path, text in pairs(specs) do place(path, text) end
  local mk = {}
  for d in pairs(dirs) do mk[#mk + 1] = q(d) end
  os.execute("mkdir -p " .. table.concat(mk, " "))
  for path, text in pairs(out) do
    local f = io.open(path, "wb")
    if f then f:write(text); f:close() end
  end
  -- the spec process: this binary (its parent is this process), this config
  local cmd = table.concat({
    "exe=$(readlink /proc/$PPID/exe);",
    "(",
    "env -u FLOWHOST_CHAT_URL",
    "FLOWHOST_TENANTS_DIR=" .. q(tmp .. "/tenants"), "FLOWHOST_FLOWS_DIR=" .. q(tmp .. "/flows"),
    "FLOWHOST_SPEC_DB=" .. q(os.getenv("FLOWHOST_SPEC_DB") or "15"),
    "$(command -v flock >/dev/null && echo flock " .. q(tmpdir() .. "/flowhost-specs.lock") .. ")",
    "timeout " .. math.floor(cfg.timeout), '"$exe" test',
    cfg.config and ("--config " .. q(cfg.config)) or "",
    q(tmp .. "/flows/" .. id .. "/spec"),
    ">", q(tmp .. "/out"), "2>&1; echo $? >", q(tmp .. "/rc.tmp"), "; mv", q(tmp .. "/rc.tmp"), q(tmp .. "/rc"),
    ") </dev/null >/dev/null 2>&1 &",
  }, " ")
  local t0 = time.monotonic()
  os.execute(cmd)
  local rc
  while not rc do
    time.sleep(0.1)
    rc = tonumber(read(tmp .. "/rc") or "")
    if not rc and time.monotonic() - t0 > cfg.timeout * 3 then rc = -1 end
  end
  local output = read(tmp .. "/out") or ""
  os.execute("rm -rf " .. q(tmp))
  log.info("tenant specs ran", { tenant = id, rc = rc, seconds = ("%.2f"):format(time.monotonic() - t0) })
  if rc == 0 then return true, nil, output end
  if rc == 124 then
    return nil, { ("%s/:1: the specs did not finish in %d s"):format(spec_dir, cfg.timeout) }, output
  end
  return nil, failures(output, tmp, spec_dir), output
end

return M
