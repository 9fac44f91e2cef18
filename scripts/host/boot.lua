-- Boot script of a worker's Lua state (run once per worker by the C core).
-- Loads the route modules named in the config, starts the durable timer
-- poller, and returns the request handler the core calls for every request.
local opts = ...

local router = require "host.router"
local timer = require "timer"
require "connectors.host"       -- connector_op: tenants' connector calls run here, with the credentials

-- flow code reads straight down: sleep(1) yields this task only
_G.sleep = require("time").sleep

for name in opts.routes:gmatch("[^,%s]+") do
  local ok, err = pcall(require, "routes." .. name)
  if not ok then
    error(("route module '%s' (scripts/routes/%s.lua) failed to load: %s"):format(name, name, err), 0)
  end
end

if opts.mode == "serve" then
  local tenants = (package.loaded["routes.chat"] or package.loaded["routes.admin"]) and require("flow.tenants")
  local channels = package.loaded["routes.webhooks"] and {
    outbound = require("channels.outbound"), consumer = require("channels.consumer"),
    poller = require("channels.poller"),
  }
  -- the Redis scripts of every module loaded so far, sent before any task
  -- below uses one (this worker's commands reach Redis in order); later, a
  -- Redis that restarted gets each again on first use (NOSCRIPT, then EVAL)
  require("host").spawn(function()
    local ok, err = require("rscript").load_all()
    if not ok then
      require("log").info("redis scripts not loaded at start; they load on first use", { error = err })
    end
  end)
  -- a new tenant version's specs run with this host's config (flow.check_specs)
  require("flow.check_specs").configure{ config = opts.config_path }
  timer.start{ interval = opts.timer_poll, lease = opts.timer_lease }
  if tenants then
    tenants.start(opts.versions, opts.versions_poll)  -- tenant states, hot reload, the version store
    timer.handle("flow", require("flow.timers").fire)          -- c:after / c:at
    timer.handle("schedule", require("flow.schedules").fire)   -- schedules = { ... }
    timer.handle("handoff_timeout", require("flow.handoff").timeout_fire)
    timer.handle("calendar_sync", require("booking.calendar_sync").fire)  -- bookings to calendars
    require("flow.schedules").start()
  end
  if channels then
    timer.handle("outbound", channels.outbound.fire)   -- scheduled messages
    channels.consumer.start()                    -- answers the inbound streams
    channels.poller.start()                      -- Telegram by getUpdates where asked
  end
elseif opts.mode == "test" then
  require("host").spawn(require("host.test_runner").run, opts.argv or {})
elseif opts.mode == "chat" or opts.mode == "check" then
  local host = require "host"
  local run = require("host.cli_" .. opts.mode).run
  host.spawn(function(argv)
    local ok, err = xpcall(run, debug.traceback, argv)
    if not ok then                                -- never hang on a bug
      io.stderr:write("flowhost ", opts.mode, ": ", tostring(err), "\n")
      host.exit(1)
    end
  end, opts.argv or {})
end

return router.handle
