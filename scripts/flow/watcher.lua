--- flow.watcher: hot reload triggers. Watches config/tenants, flows/ and
--- scripts/ with inotify (libuv), and the process-wide reload counter that
--- SIGHUP and POST /admin/reload raise; reloads what a change concerns: one
--- tenant, or every tenant when the runtime library (scripts/) or the
--- platform defaults change. Runs as a task of each worker, for the tenants
--- pinned to it.
local fswatch = require "fswatch"
local tenant = require "flow.tenant"
local host = require "host"
local time = require "time"

local M = {}

local function is_dir(path) return host.listdir(path) ~= nil end

-- which tenants a changed path concerns: {id} or "all" (runtime library)
local function concerned(tenants, path)
  local tdir, fdir = tenant.dirs()
  if path:sub(1, #tenants.scripts_dir() + 1) == tenants.scripts_dir() .. "/" then return "all" end
  if path == tenant.platform_file() then return "all" end
  local id = path:match("^" .. tdir:gsub("%p", "%%%0") .. "/([%w_%-]+)%.lua$")
    or path:match("^" .. tdir:gsub("%p", "%%%0") .. "/([%w_%-]+)%.reps%.lua$")     -- flow.rep_registry
  if id then return { id } end
  id = path:match("^" .. fdir:gsub("%p", "%%%0") .. "/([%w_%-]+)")
  if id then return { id } end
end

local function watch_tree(dir)
  fswatch.add(dir)
  for _, name in ipairs(host.listdir(dir) or {}) do
    local path = dir .. "/" .. name
    if is_dir(path) then watch_tree(path) end
  end
end

function M.run(tenants)
  local tdir, fdir = tenant.dirs()
  for _, d in ipairs{ tdir, fdir, tenants.scripts_dir() } do watch_tree(d) end
  local generation = host.reload_generation()
  while true do
    fswatch.notify(host.task_id())
    host.park(0.5)
    time.sleep(0.05)                            -- let an editor finish writing
    local changed = fswatch.take()
    local all = host.reload_generation() ~= generation
    generation = host.reload_generation()
    local ids = {}
    for _, path in ipairs(changed) do
      local c = concerned(tenants, path)
      if c == "all" then all = true
      elseif c and tenants.owner(c[1]) == host.worker() then ids[c[1]] = true end
      if is_dir(path) then watch_tree(path) end   -- a new tenant folder
    end
    if all then tenants.reload_all()
    else for id in pairs(ids) do tenants.reload(id) end end
  end
end

return M
