--- booking.dialog: the booking conversation every booking tenant shares,
--- as states a flow merges into its own. A flow says which of its slots
--- name the service, add-ons, date and customer, and which of its messages
--- to say; the kit holds a picked time, books it, and finds, moves and
--- cancels a customer's existing bookings. It acts only through the `c`
--- each handler is given (the customer's own view of the tenant's bookings).
--
--   local dialog = require "booking.dialog"      (flows may require it)
--   local kit = dialog.new{
--     slots = { service = "service", addons = "addons", date = "date",
--               name = "name", phone = "phone" },       (these are the defaults)
--     collect = "collect",     the flow's state that asks for a new day when
--                              the chosen one has no time (it fills the date)
--     edit = { { id = "name", slots = { "name" } }, ... },
--                              the summary's "change something" menu (optional):
--                              a button per entry (title: message btn_<id>, or
--                              title = "key"), clearing its slots, then collect
--     messages = { summary = "my_summary", ... },   another key for a kit message
--     max_times = 8,           time buttons offered, spread over the day
--     booking_words = { "booking", "appointment" },  "cancel my booking" cancels
--                              an existing booking, not the one being made
--     price = function(c, service, addons) -> number | nil
--                              the total the summary shows (nil: business.lua's)
--     on_booked = function(c, booking), on_rescheduled = ..., on_cancelled = ...
--                              called once the engine has confirmed, moved or
--                              cancelled a booking (write it to a back office,
--                              tell the owner with c:notify, set a reminder with
--                              c:at); an error in one is logged, the booking stands
--     slots.area, slots.resource   (optional) the flow's slots naming the
--                              location and the person: times are offered and
--                              booked there / with them; a person slot set to
--     any = "any",             this value leaves the pick to the engine's
--                              assignment policy (rules.assignment)
--   }
--   kit.states       pick_time, summary, edit (with `edit`), booked, cancelled,
--                    find_booking, resched_date, resched_time, rescheduled,
--                    cancel_existing, booking_cancelled, kept
--   kit.with(states) -> the kit's states with the flow's own on top
--   kit.changed(c, names) -> true when it moved (the flow's `changed`: a new
--                    service, add-ons or date lets the held time go and offers
--                    times again; a change made in `edit` returns to the summary)
--   kit.intents      { reschedule = fn, cancel = fn } for the flow's intents
--   kit.show_date(value, slot, c)   a date slot's `show`: "Tue 08 Dec" in c.lang
--   kit.total(c)     the price of the chosen service and add-ons
--   kit.messages     message key -> the variables the kit passes it (for checks)
--
-- Raises on a bad configuration (when the flow loads). The handlers yield
-- (Redis, through c.booking); they run in the turn like any handler.
local book = require "booking.dialog.book"
local manage = require "booking.dialog.manage"
local times = require "booking.dialog.times"
local readonly = require "flow.readonly"
local hooks = require "booking.dialog.hooks"

local pairs, ipairs = readonly.pairs, readonly.ipairs     -- the flow's tables may be views

local M = {}

-- the kit's messages and the variables it passes each (besides the slots)
M.MESSAGES = {
  pick_time = { "date" }, time_not_free = { "date" }, slot_taken = { "date" },
  no_times_day = { "date", "next" }, no_times_today = { "date", "next" }, day_closed = { "date", "next" },
  day_full = { "date", "next" }, no_free_time = {}, try_again = {}, busy_now = {}, hold_lost = {}, times_unavailable = {},
  summary = { "date", "time", "total", "id", "resource" }, booked = { "date", "time", "total", "id", "resource" },
  btn_confirm = {}, btn_edit = {}, btn_cancel = {}, what_to_change = {}, cancelled = {},
  ask_booking_ref = {}, booking_not_found = {}, bad_date = {}, date_past = {}, date_too_far = {},
  ask_new_date = { "id", "service", "when", "resource" }, rescheduled = { "id", "service", "when", "resource" },
  confirm_cancel_booking = { "id", "service", "when", "resource" },
  booking_cancelled = { "id", "service", "when", "resource" },
  btn_yes_cancel = {}, btn_keep = {}, kept = {},
}

local SLOTS = { "service", "addons", "date", "name", "phone" }

-- the kit's states -> the messages the kit says there, with their variables
-- (flowhost check reads them: the kit says messages from library code)
local SAID = setmetatable({}, { __mode = "k" })

--- The messages the kit says in this state (key -> list of variables), or nil.
function M.said(state) return SAID[state] end

local function name(v, what)
  if type(v) ~= "string" or v == "" then error(("booking.dialog.new: %s must be a name in quotes"):format(what), 3) end
  return v
end

local function words(list, default, what)
  if list == nil then return default end
  local out = {}
  for i, w in ipairs(list) do out[i] = name(w, what):lower() end
  return out
end

-- the configuration, copied: nothing the flow changes later changes the kit
local function configure(cfg)
  if type(cfg) ~= "table" then error("booking.dialog.new{...}: needs a table of settings", 3) end
  local k = { slots = {}, msg = {}, collect = name(cfg.collect or "collect", "collect"),
              max_times = cfg.max_times or 8 }
  if type(k.max_times) ~= "number" or k.max_times < 2 then error("booking.dialog.new: max_times must be 2 or more", 3) end
  for _, s in ipairs(SLOTS) do k.slots[s] = name(cfg.slots and cfg.slots[s] or s, "slots." .. s) end
  for _, s in ipairs{ "area", "resource" } do
    if cfg.slots and cfg.slots[s] ~= nil then k.slots[s] = name(cfg.slots[s], "slots." .. s) end
  end
  k.any = cfg.any == nil and "any" or name(cfg.any, "any")
  for key in pairs(M.MESSAGES) do k.msg[key] = key end
  for key, v in pairs(cfg.messages or {}) do
    if not M.MESSAGES[key] then error(("booking.dialog.new: messages.%s is not a message of the kit"):format(tostring(key)), 3) end
    k.msg[key] = name(v, "messages." .. key)
  end
  hooks.configure(k, cfg)
  k.booking_words = words(cfg.booking_words, { "booking", "appointment", "बुकिंग" }, "booking_words")
  if cfg.edit ~= nil then
    k.edit = {}
    for i, e in ipairs(cfg.edit) do
      local slots = {}
      for j, s in ipairs(e.slots or {}) do slots[j] = name(s, ("edit[%d].slots"):format(i)) end
      local id = name(e.id, ("edit[%d].id"):format(i))
      k.edit[i] = { id = id, slots = slots, title = name(e.title or ("btn_" .. id), ("edit[%d].title"):format(i)) }
    end
  end
  return k
end

local function states_of(k)
  local msg = k.msg
  local function h(fn) return function(c) return fn(k, c) end end
  local st = {
    pick_time = { enter = h(book.offer_times), reply = h(book.take_time), edits = true },
    summary = { say = msg.summary, vars = h(book.vars), edits = true,
                buttons = { { id = "confirm", title = msg.btn_confirm }, { id = "edit", title = msg.btn_edit },
                            { id = "cancel", title = msg.btn_cancel } },
                on = { confirm = h(book.confirm), edit = k.edit and "edit" or nil, cancel = "cancelled" } },
    booked = { say = msg.booked, vars = h(book.vars), final = true },
    cancelled = { enter = h(book.release), say = msg.cancelled, final = true },
    find_booking = { enter = h(manage.find), reply = h(manage.find) },
    resched_date = { say = msg.ask_new_date, vars = h(manage.vars), reply = h(manage.new_date) },
    resched_time = { enter = h(manage.offer), reply = h(manage.move) },
    rescheduled = { say = msg.rescheduled, vars = h(manage.vars), final = true },
    cancel_existing = { say = msg.confirm_cancel_booking, vars = h(manage.vars),
                        buttons = { { id = "yes", title = msg.btn_yes_cancel }, { id = "no", title = msg.btn_keep } },
                        on = { yes = h(manage.cancel), no = "kept" } },
    booking_cancelled = { say = msg.booking_cancelled, vars = h(manage.vars), final = true },
    kept = { say = msg.kept, final = true },
  }
  if not k.edit then
    st.summary.buttons[2] = st.summary.buttons[3]
    st.summary.buttons[3] = nil
    return st
  end
  local buttons, on = {}, {}
  for i, e in ipairs(k.edit) do
    buttons[i] = { id = e.id, title = e.title }
    on[e.id] = function(c)
      c:clear(unpack(e.slots))
      c:go(k.collect)
    end
  end
  st.edit = { say = msg.what_to_change, edits = true, buttons = buttons, on = on }
  return st
end

function M.new(cfg)
  local k = configure(cfg)
  local kit = { states = states_of(k), messages = {} }
  for key, vars in pairs(M.MESSAGES) do kit.messages[k.msg[key]] = vars end
  for _, e in ipairs(k.edit or {}) do kit.messages[e.title] = {} end
  if not k.edit then kit.messages[k.msg.btn_edit], kit.messages[k.msg.what_to_change] = nil, nil end
  for _, st in pairs(kit.states) do SAID[st] = kit.messages end

  function kit.with(own)
    local out = {}
    for n, s in pairs(kit.states) do out[n] = s end
    for n, s in pairs(own or {}) do out[n] = s end
    return out
  end

  local watched = { [k.slots.service] = true, [k.slots.addons] = true, [k.slots.date] = true }
  if k.slots.area then watched[k.slots.area] = true end
  if k.slots.resource then watched[k.slots.resource] = true end
  function kit.changed(c, names)
    for _, n in ipairs(names) do
      if watched[n] then
        book.release(k, c)
        c:go("pick_time")
        return true
      end
    end
    if c.state == "edit" and k.edit then
      c:go("summary")
      return true
    end
    return false
  end

  kit.intents = {
    reschedule = function(c) manage.start(c, "reschedule") end,
    cancel = function(c)
      local text = (c.msg.text or ""):lower():gsub("%s+", " ")   -- one space: a 4 KB message reads fast
      local existing = manage.mentions_id(c, text)
      for _, w in ipairs(k.booking_words) do existing = existing or text:find(w, 1, true) ~= nil end
      if existing and c.state ~= "summary" and c.state ~= "pick_time" then return manage.start(c, "cancel") end
      c:go("cancelled")
    end,
  }

  function kit.show_date(v, _, c) return times.day(c, v) end
  function kit.total(c) return book.total(k, c) end
  return kit
end

return M
