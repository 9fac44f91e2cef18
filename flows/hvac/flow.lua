-- The HVAC voice dispatcher: the Vapi assistant's five tools (docs/hvac.md
-- has their JSON definitions). Each returns the result Vapi reads: status
-- (scheduled, rescheduled, cancelled, found, available, not_found,
-- NEEDS_HUMAN), appointment_id (the Odoo calendar.event id), start/end
-- (ISO 8601 with offset), technician_name, message (what the assistant
-- says), and where they apply suggested_times and missing_fields.
-- Odoo is the source of truth; anything that cannot be done for certain
-- is NEEDS_HUMAN, captured for a dispatcher (c:handoff), never a promise.
local tz = require "tz"
local json = require "json"
local log = require "log"
local dispatch = use("dispatch")
local records = use("records")
local urgent = use("emergency")

local function say(c, key, vars) return c.t.catalog:render(key, c.lang, vars or {}) end
local function iso(c, t) return tz.format_iso(t, c.t.timezone) end
local function spoken(c, t) return os.date("!%A %B %d at %I:%M %p", t + (tz.zone(c.t.timezone):offset(t))):gsub(" 0", " ") end
local function utc(s) return tz.parse_iso(s, "UTC") end

-- a dispatcher calls back: recorded with the conversation (and sent to
-- the tenant's handoff.to person when it names one)
local function needs_human(c, call, why, captured, extra)
  local out = { status = "NEEDS_HUMAN", reason = why, message = say(c, "needs_human_" .. why, extra and extra.vars) }
  for k, v in pairs(extra or {}) do if k ~= "vars" then out[k] = v end end
  c.data.needs_human = c.data.needs_human or {}
  table.insert(c.data.needs_human, { tool = call.name, id = call.id, reason = why, captured = captured, at = c:now() })
  c:handoff{ reason = "needs_human " .. why .. ": " .. json.encode(captured or {}) }
  log.warn("hvac: NEEDS_HUMAN", { reason = why, tool = call.name })
  return out
end

local function suggestions(c, free)
  local out = {}
  for i = 1, math.min(3, #free) do out[i] = iso(c, free[i].start) end
  return out
end

-- the caller's phone (the call's number unless given) and email
local function who(args, call)
  return records.phone(args.phone) or records.phone(call.phone), args.email ~= "" and args.email or nil
end

local function event_result(c, status, ev, key, again)
  local uid = type(ev.user_id) == "table" and ev.user_id[1] or ev.user_id
  local tech = dispatch.tech_by_user(c, uid)
  local s, e = utc(ev.start), utc(ev.stop)
  local vars = { when = spoken(c, s), tech = tech and tech.name or "a technician" }
  -- a change reaches the caller in writing too, when the tenant has SMS (Twilio)
  -- (not again for a visit the caller had already booked)
  if not again and (status == "scheduled" or status == "rescheduled" or status == "cancelled") then
    c:text_caller("sms_" .. status, vars)
  end
  return { status = status, appointment_id = ev.id, start = iso(c, s), ["end"] = iso(c, e),
           technician_name = tech and tech.name or nil, message = say(c, key, vars) }
end

-- the event a reschedule or cancel is about: by id, else the caller's next one
local function target(c, args, call)
  if args.appointment_id and args.appointment_id ~= "" then return records.event(c, args.appointment_id) end
  local phone, email = who(args, call)
  local ids, err = records.partners(c, phone, email)
  if not ids then return nil, err end
  local evs, eerr = records.events_of(c, ids, dispatch.odoo_time(c:now()), dispatch.odoo_time(c:now() + 90 * 86400))
  if not evs then return nil, eerr end
  return evs[1] or nil, evs[1] == nil and "not found" or nil
end

local function field_of(ev, name) return type(ev.description) == "string" and ev.description:match(name .. ": ([%w_]+)") end

local function book(c, args, call)
  if call.handed_over() then return needs_human(c, call, "transferred", args) end
  local phone, email = who(args, call)
  local a = { customer_name = args.customer_name, phone = phone, email = email, address = args.address,
              zip = args.zip and tostring(args.zip), notes = args.notes, urgency = args.urgency }
  local missing = {}
  for _, f in ipairs{ "customer_name", "address", "zip", "service_type", "preferred_time" } do
    if args[f] == nil or args[f] == "" then missing[#missing + 1] = f end
  end
  if not phone and not email then missing[#missing + 1] = "phone" end
  local service = dispatch.service(c, args.service_type)
  if args.service_type and args.service_type ~= "" and not service then missing[#missing + 1] = "service_type" end
  if #missing > 0 then return needs_human(c, call, "missing", a, { missing_fields = missing }) end
  local zone = dispatch.zone(c, a.zip)
  if not zone then return needs_human(c, call, "area", a, { vars = { zip = a.zip } }) end
  a.service_title = c.tenant.booking.services[service].name
  local emergency = urgent.is(args)
  local from, to, exact = dispatch.window(c, args.preferred_time)
  if emergency then from, to, exact = c:now(), tz.add_days(tz.start_of_day(c:now(), c.t.timezone), 1, c.t.timezone), false end
  if not from then return needs_human(c, call, "missing", a, { missing_fields = { "preferred_time" } }) end
  local free, err = dispatch.free(c, service, zone, from, exact and from + 1 or to, 1)
  if not free then return needs_human(c, call, "odoo", a) end
  if not free[1] and not dispatch.fits(c, service, zone) and c.tenant.dispatch.allow_unassigned and exact then
    -- no technician does this here: the dispatch user owns the visit at the
    -- asked time, for a dispatcher to assign (allow_unassigned)
    local svc = c.tenant.booking.services[service]
    free = { { start = from, ["end"] = from + svc.duration * 60,
               tech = { user_id = c.tenant.dispatch.user_id, name = "our dispatcher" } } }
  end
  if not free[1] then
    local later = dispatch.free(c, service, zone, exact and from - 3 * 3600 or to, c:now() + 21 * 86400, 3) or {}
    return needs_human(c, call, emergency and "emergency" or "no_slot", a, { suggested_times = suggestions(c, later),
      urgency = emergency and "urgent" or nil })
  end
  local slot = free[1]
  local partner, perr = records.partner(c, a, call.id)
  if not partner then return needs_human(c, call, perr == "forbidden" and "odoo_refused" or "odoo", a) end
  -- the same caller at the same time already has it (a repeated call): that one
  local same = records.events_of(c, { partner }, dispatch.odoo_time(slot.start), dispatch.odoo_time(slot.start))
  if same and same[1] then return event_result(c, "scheduled", same[1], "scheduled", true) end
  local lead, lerr = records.lead(c, a, partner, call.id)
  if lead == nil then return needs_human(c, call, lerr == "forbidden" and "odoo_refused" or "odoo", a) end
  if call.handed_over() then return needs_human(c, call, "transferred", a) end
  local vals = { name = a.service_title .. " - " .. a.customer_name, start = dispatch.odoo_time(slot.start),
    stop = dispatch.odoo_time(slot["end"]), partner_ids = { { 6, 0, { partner } } }, user_id = slot.tech.user_id,
    location = a.address .. ", Austin, TX " .. a.zip, res_model = lead and "crm.lead" or false, res_id = lead or false,
    description = ("service: %s | zip: %s | urgency: %s | phone: %s | notes: %s"):format(service, a.zip,
      emergency and "urgent" or (a.urgency or "normal"), phone or "-", a.notes or "-") }
  local id, cerr = c.connectors.odoo:create("calendar.event", vals, { key = "event:" .. call.id })
  if not id then
    if cerr ~= "forbidden" and cerr ~= "invalid" then c:after(c.tenant.dispatch.undo_after, "undo_create", { vals = vals, key = call.id }) end
    return needs_human(c, call, cerr == "forbidden" and "odoo_refused" or "odoo", a)
  end
  if call.handed_over() then        -- answered "a dispatcher will call" meanwhile: nothing stays booked
    c.connectors.odoo:unlink("calendar.event", { id }, { key = "undo:" .. call.id })
    return needs_human(c, call, "transferred", a)
  end
  records.stage(c, lead, "scheduled", call.id)
  vals.id = id
  local out = event_result(c, "scheduled", vals, emergency and "scheduled_urgent" or "scheduled")
  out.urgency = emergency and "urgent" or (a.urgency or "normal")
  return out
end

return {
  start = "talk",
  states = { talk = { reply = function(c) c:say("voice_only") end } },

  tools = {
    schedule_appointment = book,

    reschedule_appointment = function(c, args, call)
      if call.handed_over() then return needs_human(c, call, "transferred", args) end
      local ev, err = target(c, args, call)
      if not ev then
        if err == "not found" then return { status = "not_found", message = say(c, "not_found") } end
        return needs_human(c, call, "odoo", args)
      end
      local from, to, exact = dispatch.window(c, args.new_time)
      if not from then return needs_human(c, call, "missing", args, { missing_fields = { "new_time" } }) end
      local service, zip = field_of(ev, "service"), field_of(ev, "zip")
      local zone = dispatch.zone(c, zip)
      if not service or not zone then return needs_human(c, call, "odoo", args) end
      local free, ferr = dispatch.free(c, service, zone, from, exact and from + 1 or to, 1, { except = ev.id })
      if not free then return needs_human(c, call, ferr == "forbidden" and "odoo_refused" or "odoo", args) end
      if not free[1] then
        local later = dispatch.free(c, service, zone, exact and from - 3 * 3600 or to, c:now() + 21 * 86400, 3, { except = ev.id }) or {}
        return needs_human(c, call, "no_slot", args, { suggested_times = suggestions(c, later) })
      end
      local vals = { start = dispatch.odoo_time(free[1].start), stop = dispatch.odoo_time(free[1]["end"]),
                     user_id = free[1].tech.user_id }
      local ok, werr = c.connectors.odoo:write("calendar.event", { ev.id }, vals, { key = "move:" .. call.id })
      if not ok then return needs_human(c, call, werr == "forbidden" and "odoo_refused" or "odoo", args) end
      for k, v in pairs(vals) do ev[k] = v end
      return event_result(c, "rescheduled", ev, "rescheduled")
    end,

    cancel_appointment = function(c, args, call)
      if call.handed_over() then return needs_human(c, call, "transferred", args) end
      local ev, err = target(c, args, call)
      if not ev then
        if err == "not found" then return { status = "not_found", message = say(c, "not_found") } end
        return needs_human(c, call, "odoo", args)
      end
      local ok, werr
      if c.tenant.dispatch.cancel == "unlink" then
        ok, werr = c.connectors.odoo:unlink("calendar.event", { ev.id }, { key = "cancel:" .. call.id })
      else
        ok, werr = c.connectors.odoo:write("calendar.event", { ev.id }, { active = false }, { key = "cancel:" .. call.id })
      end
      if not ok then return needs_human(c, call, werr == "forbidden" and "odoo_refused" or "odoo", args) end
      if ev.res_model == "crm.lead" and ev.res_id then records.stage(c, ev.res_id, "cancelled", call.id) end
      local out = event_result(c, "cancelled", ev, "cancelled")
      out.reason = args.reason
      return out
    end,

    find_appointment = function(c, args, call)
      local phone, email = who(args, call)
      if not phone and not email then return needs_human(c, call, "missing", args, { missing_fields = { "phone" } }) end
      local from = args.from and tz.parse_iso(args.from, c.t.timezone) or c:now()
      local to = args.to and tz.parse_iso(args.to, c.t.timezone) or from + 90 * 86400
      local ids = records.partners(c, phone, email)
      local evs = ids and records.events_of(c, ids, dispatch.odoo_time(from), dispatch.odoo_time(to))
      if not evs then return needs_human(c, call, "odoo", args) end
      if not evs[1] then return { status = "not_found", message = say(c, "not_found") } end
      local out = event_result(c, "found", evs[1], "found")
      out.appointments = {}
      for i, ev in ipairs(evs) do
        local r = event_result(c, "found", ev, "found")
        out.appointments[i] = { appointment_id = r.appointment_id, start = r.start, ["end"] = r["end"],
                                technician_name = r.technician_name, name = ev.name }
      end
      return out
    end,

    check_availability = function(c, args, call)
      local service, zone = dispatch.service(c, args.service_type), dispatch.zone(c, args.zip)
      local missing = {}
      if not service then missing[#missing + 1] = "service_type" end
      if not zone then missing[#missing + 1] = "zip" end
      if #missing > 0 then return needs_human(c, call, "missing", args, { missing_fields = missing }) end
      local from, to = dispatch.window(c, args.preferred_time)
      from, to = from or c:now(), to or c:now() + 7 * 86400
      local free = dispatch.free(c, service, zone, from, math.max(to, from + 1), 3)
      if not free then return needs_human(c, call, "odoo", args) end
      if not free[1] then return needs_human(c, call, "no_slot", args, { suggested_times = {} }) end
      return { status = "available", start = iso(c, free[1].start), ["end"] = iso(c, free[1]["end"]),
               technician_name = free[1].tech.name, suggested_times = suggestions(c, free),
               message = say(c, "available", { when = spoken(c, free[1].start) }) }
    end,
  },

  timers = {
    -- a create left in doubt (Odoo too slow): the ledger finds it by its key
    -- (or makes it, once), and it is removed: the caller was told a
    -- dispatcher would call, so nothing may stay booked
    undo_create = function(c, data)
      local id = c.connectors.odoo:create("calendar.event", data.vals, { key = "event:" .. data.key })
      if id then c.connectors.odoo:unlink("calendar.event", { id }, { key = "undo:" .. data.key }) end
    end,
  },
}
