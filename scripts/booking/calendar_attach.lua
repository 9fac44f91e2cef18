--- booking.calendar_attach: builds a tenant's (or rep's) calendars for its
--- booking engine, at load in the tenant's state (flow.tenant.attach).
--
--   attach.build(settings, id) -> cal | nil | nil, problem
--       cal: a booking.calendar with
--         cal.busy(resource, from, to)   the engine's busy hook
--         cal.on_change(booking)         the engine's on_change hook (writes)
--         cal.sync(booking_id)           booking.calendar_sync.run (the retry timer)
--         cal.engine                     set by the caller once the engine exists
--       nil when nothing declares a calendar; problem = {msg, needle, after?}
--       for a load error (its line: the first with needle after the one with after)
-- Connector calls go through connectors.view, as c.connectors does: they
-- cross to the worker's main state, where the credentials are, under the
-- tenant's id (a rep's calls are its tenant's).
local calendar = require "booking.calendar"
local sync = require "booking.calendar_sync"

local M = {}

function M.build(settings, id)
  local list, problem = calendar.declared(settings)
  if not list then return nil, problem end
  if #list == 0 then return nil end
  local sources = {}
  for _, d in ipairs(list) do
    local src, err = calendar.parse(d.decl, d.where, settings.connectors)
    if not src then return nil, { msg = err, needle = d.needle, after = d.after } end
    sources[d.name] = src
  end
  local view = require("connectors.view").new(settings.connectors, (id:match("^[^.]+")))
  local zone = type(settings.booking.timezone) == "string" and settings.booking.timezone or settings.timezone
  local cal = calendar.new{ tenant = id, zone = zone, sources = sources,
    call = function(name, op, ...)
      local o = view[name]
      return o[op](o, ...)
    end }
  function cal.on_change(b) return sync.changed(cal, cal.engine, b) end
  function cal.sync(bid) return sync.run(cal, cal.engine, bid) end
  return cal
end

return M
