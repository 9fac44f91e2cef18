-- Runs inside a tenant's own Lua state (core/lua_api_tstate.c): loads the
-- tenant from the snapshot of its files its manager took, and defines the
-- functions the host calls across states (arguments and results are JSON):
--   turn{tenant?, id, msg}        -> {res} | {err}          one customer message
--   conversation{id} / reset{id}  -> the conversation / done
--   bookings{date} / booking{id} / cancel_booking{id, reason}
--   studio_booking{op = "create", service, start, resource?, customer, key?} |
--                 {op = "reschedule", id, start, resource?}   -> the booking | {err}
--   calendar_sync{tenant?, id}    -> {res = true} | {err}   a booking to its calendars
require "host.tenant_guard"      -- first: no module may keep LuaJIT's own string.find
local json = require "json"
local tenant = require "flow.tenant"

local M = {}

local function answer(fn)
  return function(payload)
    local req = json.decode(payload) or {}
    local res, err = fn(req)
    if res == nil then return json.encode{ err = err or "failed" } end
    return json.encode{ res = res }
  end
end

function M.load(arg)
  local a = json.decode(arg)
  tenant.only = a.id
  local t, problems = tenant.load(a.id, { files = a.files, version = a.version })
  if not t then return json.encode{ ok = false, problems = problems } end
  tenant.cache[a.id] = t
  local turn = require "flow.turn"
  local store = require "flow.store"
  for rep, v in pairs(t.reps or {}) do tenant.cache[a.id .. "." .. rep] = v end
  -- r.tenant: the tenant or one of its reps ("<tenant>.<rep>"); the state
  -- serves a.id only, whatever a payload names. The caller (channels.turn,
  -- in the worker's main state) holds the conversation's lock.
  local function routed(r)
    local id = r.tenant or a.id
    if id ~= a.id and (type(id) ~= "string" or id:sub(1, #a.id + 1) ~= a.id .. ".") then
      error(("tenant state of '%s' asked to serve '%s'"):format(a.id, tostring(id)), 0)
    end
    return id
  end
  _G.turn = answer(function(r) return turn.run(routed(r), r.id, r.msg, { mid = r.mid, locked = true, fence = r.fence }) end)
  _G.conversation = answer(function(r)
    local conv, how = store.load(routed(r), r.id)
    if not conv then return nil, how end
    if how ~= "found" then return nil, "not found" end
    return conv
  end)
  _G.reset = answer(function(r) return store.reset(routed(r), r.id) end)
  _G.bookings = answer(function(r)
    if not t.booking then return nil, "no booking engine" end
    return t.booking:by_day(r.date)
  end)
  _G.booking = answer(function(r)
    if not t.booking then return nil, "no booking engine" end
    return t.booking:get(r.id)
  end)
  -- a rep being registered (POST /admin/tenants/{t}/reps): its integrations
  -- tried live through the tenant's connectors -> {calendar?, zoom?} = "ok" | why
  _G.rep_checks = answer(function(r)
    local view = require("connectors.view").new(t.settings.connectors or {}, a.id)
    local out = {}
    if type(r.calendar) == "string" then
      local gc = view.google_calendar
      if not gc then out.calendar = "the tenant declares no google_calendar connector"
      else
        local tz = require "tz"
        local now = require("time").now()
        local cals, word = gc:free_busy({ r.calendar }, tz.format_iso(now, "UTC"), tz.format_iso(now + 3600, "UTC"))
        local one = cals and cals[r.calendar]
        if not cals then out.calendar = "not reachable: " .. tostring(word)
        elseif type(one) ~= "table" or one.errors then out.calendar = "not readable by the service account"
        else out.calendar = "ok" end
      end
    end
    if r.zoom then
      local zoom = view.zoom
      if not zoom then out.zoom = "the tenant declares no zoom connector"
      else
        -- any answer past the token (a meeting that does not exist) proves it works
        local _, word = zoom:get_meeting(1)
        out.zoom = (word == nil or word == "not found") and "ok" or ("token refused: " .. tostring(word))
      end
    end
    return out
  end)
  -- the studio's bookings (studio.bookings): made or moved by the owner,
  -- through the engine like every booking (its checks, its calendars)
  _G.studio_booking = answer(function(r)
    if not t.booking then return nil, "no booking engine" end
    if r.op == "create" then
      return t.booking:reserve{ service = r.service, start = r.start, resource = r.resource, customer = r.customer,
                                channel = "studio", idempotency_key = r.key }
    elseif r.op == "reschedule" then
      return t.booking:reschedule(r.id, r.start, r.resource)
    end
    return nil, "unknown op"
  end)
  _G.cancel_booking = answer(function(r)
    if not t.booking then return nil, "no booking engine" end
    return t.booking:cancel(r.id, r.reason or "cancelled by an operator")
  end)
  -- the "calendar_sync" timer (booking.calendar_sync.fire): writes a booking to its calendars
  _G.calendar_sync = answer(function(r)
    local v = tenant.get(routed(r))
    if not v or not v.calendar then return true end
    return v.calendar.sync(r.id)
  end)
  local settings = {}
  for k, v in pairs(t.settings) do
    if type(v) ~= "function" then settings[k] = v end
  end
  local okset = pcall(json.encode, settings)
  collectgarbage()                              -- what compiling left behind
  collectgarbage()
  return json.encode{ ok = true, version = t.version, name = t.name,
    fallback = t.tone(t.catalog:render("fallback", t.languages[1], { tenant = t.name })),
    limits = t.settings.limits, settings = okset and settings or nil }
end

return M
