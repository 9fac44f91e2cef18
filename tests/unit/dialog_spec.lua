-- booking.dialog, the booking kit, against a fake context and a fake
-- booking view: its configuration, the times it offers and reads, holds,
-- confirming and re-booking, what it says about days without times, and
-- the changed/intents handlers. (The car service's specs run it for real.)
local dialog = require "booking.dialog"
local times = require "booking.dialog.times"
local tz = require "tz"

local ZONE = "Asia/Kolkata"
local DATE = "2026-12-08"                                    -- a Tuesday
local NOW = tz.parse_iso("2026-12-07T09:00:00", ZONE)
local function at(hhmm) return tz.parse_iso(DATE .. "T" .. hhmm .. ":00", ZONE) end

-- a booking view that answers from `opts` and writes down every call
local function fake_booking(opts)
  local b = { calls = {} }
  local function note(name, arg) b.calls[#b.calls + 1] = { name, arg } end
  function b:slots(q)
    note("slots", q)
    if opts.slots_err then return nil, opts.slots_err end
    local out = {}
    for _, t in ipairs(opts.free or {}) do out[#out + 1] = { start = t } end
    return out
  end
  function b:next_free(q) note("next_free", q); return opts.next and { start = opts.next } or nil end
  function b:reserve(q)
    note("reserve", q)
    local r = table.remove(opts.reserve or {}, 1) or { id = "SR-NEW" }
    if r.err then return nil, r.err end
    return r
  end
  function b:get(id) note("get", id); return opts.held end
  function b:confirm(id) note("confirm", id); return { id = id } end
  function b:cancel(id, why) note("cancel", id); return { id = id } end
  return b
end

local function names(b, name)
  local out = {}
  for _, c in ipairs(b.calls) do if c[1] == name then out[#out + 1] = c[2] end end
  return out
end

local function fake(opts)
  opts = opts or {}
  local week = { "09:00-18:00" }
  local c = {
    slots = { service = "wash", addons = { "wax" }, date = DATE, name = "Asha", phone = "9876543210" },
    data = opts.data or {}, msg = opts.msg or {}, conv = { id = "chat:x", turns = 4 }, lang = opts.lang or "en",
    state = opts.state or "pick_time", said = {},
    tenant = { timezone = ZONE,
      catalogue = { services = { { id = "wash", title = "Wash", price = 400 } }, addons = { wax = { title = "Wax", price = 150 } } },
      booking = { id = { prefix = "SR-", length = 8 }, rules = { horizon_days = 14 },
                  resources = { bay = { hours = { mon = week, tue = opts.closed and {} or week } } } } },
    booking = fake_booking(opts),
  }
  function c:say(key, vars, o) self.said[#self.said + 1] = { key = key, vars = vars, buttons = o and o.buttons } end
  function c:go(s) self.went = s end
  function c:clear(...) for _, n in ipairs{ ... } do self.slots[n] = nil end end
  function c:now() return NOW end
  return c
end

local function said(c) return c.said[#c.said] or {} end

describe("booking.dialog", function()
  it("refuses a bad configuration in plain words", function()
    assert.has_error(function() dialog.new{ slots = { service = 5 } } end, "booking.dialog.new: slots.service must be a name in quotes")
    assert.has_error(function() dialog.new{ messages = { sumary = "x" } } end,
      "booking.dialog.new: messages.sumary is not a message of the kit")
    assert.has_error(function() dialog.new("x") end, "booking.dialog.new{...}: needs a table of settings")
  end)

  it("gives the states, with the edit menu when asked and message keys of the flow's choosing", function()
    local kit = dialog.new{ messages = { summary = "my_summary" },
                            edit = { { id = "name", slots = { "name" } }, { id = "car", slots = { "brand", "model" } } } }
    for _, s in ipairs{ "pick_time", "summary", "edit", "booked", "cancelled", "find_booking", "resched_date",
                        "resched_time", "rescheduled", "cancel_existing", "booking_cancelled", "kept" } do
      assert.truthy(kit.states[s], s)
    end
    assert.are.equal("my_summary", kit.states.summary.say)
    assert.are.same({ "date", "time", "total", "id", "resource" }, kit.messages.my_summary)
    assert.is_nil(kit.messages.summary)
    assert.are.equal("btn_car", kit.states.edit.buttons[2].title)
    local c = fake({ state = "edit" })
    c.slots.brand, c.slots.model = "honda", "City"
    kit.states.edit.on.car(c)
    assert.is_nil(c.slots.brand)
    assert.is_nil(c.slots.model)
    assert.are.equal("collect", c.went)
    local plain = dialog.new{}
    assert.is_nil(plain.states.edit)
    assert.are.same({ "confirm", "cancel" }, { plain.states.summary.buttons[1].id, plain.states.summary.buttons[2].id })
    local mine = plain.with{ summary = { say = "x", final = true }, collect = { say = "y", final = true } }
    assert.are.equal("x", mine.summary.say)
    assert.truthy(mine.pick_time and mine.collect)
  end)

  it("offers at most eight times, spread over the day, first and last included", function()
    local starts = {}
    for i = 0, 19 do starts[#starts + 1] = at("09:00") + i * 1800 end
    local c = fake()
    times.offer(c, starts, "pick_time", { date = "x" })
    local b = said(c).buttons
    assert.are.equal(8, #b)
    assert.are.equal("t" .. starts[1], b[1].id)
    assert.are.equal("t" .. starts[20], b[8].id)
    assert.are.equal("9:00 AM", b[1].title)
    assert.are.equal(20, #c.data.free)
  end)

  it("reads a time by button, clock time, '4 pm', number and 'earliest'", function()
    local free = { at("09:00"), at("10:30"), at("16:00") }
    local function pick(msg)
      local c = fake({ msg = msg, data = { free = free, offered = free } })
      return times.pick(c)
    end
    assert.are.equal(at("10:30"), pick{ button = "t" .. at("10:30") })
    assert.are.equal(at("10:30"), pick{ text = "10:30" })
    assert.are.equal(at("16:00"), pick{ text = "4 pm please" })
    assert.are.equal(at("10:30"), pick{ text = "2" })
    assert.are.equal(at("09:00"), pick{ text = "the earliest" })
    local none, why = pick{ text = "11:15" }
    assert.is_nil(none)
    assert.are.equal("not free", why)
    assert.is_nil(pick{ text = "my number is 9876543210" })
  end)

  it("holds the picked time with a key per turn and attempt, then shows the summary", function()
    local kit = dialog.new{}
    local c = fake({ msg = { text = "10:30" }, free = { at("10:30") }, data = { free = { at("10:30") } },
                     reserve = { { id = "SR-HOLD" } } })
    kit.states.pick_time.reply(c)
    local q = names(c.booking, "reserve")[1]
    assert.is_true(q.hold)
    assert.are.equal("chat:x:4:1", q.idempotency_key)
    assert.are.same({ name = "Asha", phone = "9876543210" }, q.customer)
    assert.are.equal("SR-HOLD", c.data.hold)
    assert.are.equal("wash|wax|" .. DATE .. "||", c.data.hold_for)
    assert.are.equal("summary", c.went)
    kit.states.pick_time.reply(c)
    assert.are.equal("chat:x:4:2", names(c.booking, "reserve")[2].idempotency_key)
  end)

  it("offers and holds times at the chosen location with the chosen person; 'any' leaves the person to the engine", function()
    local kit = dialog.new{ slots = { area = "location", resource = "stylist" }, any = "cualquiera" }
    local c = fake({ msg = { text = "10:30" }, free = { at("10:30") }, reserve = { { id = "SR-HOLD", resource = "ana" } } })
    c.slots.location, c.slots.stylist = "centro", "ana"
    kit.states.pick_time.enter(c)
    local q = names(c.booking, "slots")[1]
    assert.are.same({ "centro", "ana" }, { q.area, q.resource })
    kit.states.pick_time.reply(c)
    local r = names(c.booking, "reserve")[1]
    assert.are.same({ "centro", "ana" }, { r.area, r.resource })
    assert.are.equal("wash|wax|" .. DATE .. "|centro|ana", c.data.hold_for)
    assert.are.equal("ana", c.data.resource)
    -- "cualquiera": the engine picks (no resource), the location still holds
    c = fake({ msg = { text = "10:30" }, free = { at("10:30") }, data = { free = { at("10:30") } } })
    c.slots.location, c.slots.stylist = "norte", "cualquiera"
    kit.states.pick_time.reply(c)
    r = names(c.booking, "reserve")[1]
    assert.are.equal("norte", r.area)
    assert.is_nil(r.resource)
    -- a changed person offers times again
    c = fake({ state = "summary", data = { hold = "SR-HOLD" } })
    assert.is_true(kit.changed(c, { "stylist" }))
    assert.are.equal("pick_time", c.went)
  end)

  it("calls the flow's hooks after booking, moving and cancelling, and refuses a hook that is no function", function()
    local seen = {}
    local kit = dialog.new{
      on_booked = function(_, b) seen[#seen + 1] = "booked " .. b.id end,
      on_cancelled = function(_, b) seen[#seen + 1] = "cancelled " .. b.id end,
      on_rescheduled = function(_, b) seen[#seen + 1] = "rescheduled " .. b.id end }
    local held = { id = "SR-HOLD", status = "held", customer = { name = "Asha", phone = "9876543210" } }
    local c = fake({ held = held, data = { hold = "SR-HOLD", start = at("10:30") } })
    kit.states.summary.on.confirm(c)
    c = fake({ data = { manage = "SR-OLD" } })
    kit.states.cancel_existing.on.yes(c)
    c = fake({ msg = { text = "10:30" }, held = { id = "SR-OLD", service = "wash", resource = "ana", area = "centro" },
               data = { manage = "SR-OLD", new_date = DATE, free = { at("10:30") } } })
    function c.booking:reschedule(id, start) return { id = id, start = start } end
    kit.states.resched_time.reply(c)
    assert.are.same({ "booked SR-HOLD", "cancelled SR-OLD", "rescheduled SR-OLD" }, seen)
    assert.has_error(function() dialog.new{ on_booked = "tell the owner" } end,
      "booking.dialog.new: on_booked must be a function (c, ...)")
  end)

  it("answers a refused hold: busy, taken with others free, taken and the day full", function()
    local kit = dialog.new{}
    local c = fake({ msg = { text = "10:30" }, data = { free = { at("10:30") } }, reserve = { { err = "rate limited" } } })
    kit.states.pick_time.reply(c)
    assert.are.equal("busy_now", said(c).key)
    c = fake({ msg = { text = "10:30" }, data = { free = { at("10:30") } }, free = { at("11:00") },
               reserve = { { err = "slot taken" } } })
    kit.states.pick_time.reply(c)
    assert.are.equal("slot_taken", said(c).key)
    assert.are.equal("t" .. at("11:00"), said(c).buttons[1].id)
    c = fake({ msg = { text = "10:30" }, data = { free = { at("10:30") } }, next = at("12:00") + 86400,
               reserve = { { err = "slot taken" } } })
    kit.states.pick_time.reply(c)
    assert.are.equal("day_full", said(c).key)
    assert.are.equal("Wed 09 Dec, 12:00 PM", said(c).vars.next)
    assert.is_nil(c.slots.date)
    assert.are.equal("collect", c.went)
  end)

  it("invents no time when the free times cannot be known (an outside calendar is down)", function()
    local kit = dialog.new{}
    local c = fake({ slots_err = "calendar unavailable" })
    kit.states.pick_time.enter(c)
    assert.are.equal("times_unavailable", said(c).key)
    assert.is_nil(c.slots.date)                                   -- asked again, later
    assert.are.equal("collect", c.went)
    c = fake({ msg = { text = "10:30" }, data = { free = { at("10:30") } }, reserve = { { err = "calendar unavailable" } } })
    kit.states.pick_time.reply(c)
    assert.are.equal("times_unavailable", said(c).key)
  end)

  it("says a closed day is closed, a full one full, and when nothing is free at all", function()
    local kit = dialog.new{}
    local c = fake({ closed = true, next = at("09:00") + 86400 })
    kit.states.pick_time.enter(c)
    assert.are.equal("day_closed", said(c).key)
    assert.are.equal("Tue 08 Dec", said(c).vars.date)
    c = fake({ next = at("09:00") + 86400 })
    kit.states.pick_time.enter(c)
    assert.are.equal("no_times_day", said(c).key)
    c = fake({ lang = "hi", next = at("09:00") + 86400 })
    kit.states.pick_time.enter(c)
    assert.are.equal("बुधवार, 9 दिसंबर, सुबह 9:00", said(c).vars.next)
    c = fake({})
    kit.states.pick_time.enter(c)
    assert.are.equal("no_free_time", said(c).key)
  end)

  it("confirms a hold that is still the customer's, and re-books when it is not", function()
    local kit = dialog.new{}
    local held = { id = "SR-HOLD", status = "held", customer = { name = "Asha", phone = "9876543210" } }
    local c = fake({ held = held, data = { hold = "SR-HOLD", start = at("10:30") } })
    kit.states.summary.on.confirm(c)
    assert.are.same({ "SR-HOLD" }, names(c.booking, "confirm"))
    assert.are.equal("booked", c.went)
    assert.are.equal("SR-HOLD", c.data.booking_id)
    -- the number changed after the hold: book anew, let the hold go
    c = fake({ held = held, data = { hold = "SR-HOLD", start = at("10:30") }, reserve = { { id = "SR-NEW" } } })
    c.slots.phone = "9123456780"
    kit.states.summary.on.confirm(c)
    assert.are.same({}, names(c.booking, "confirm"))
    assert.are.equal("9123456780", names(c.booking, "reserve")[1].customer.phone)
    assert.are.same({ "SR-HOLD" }, names(c.booking, "cancel"))
    assert.are.equal("SR-NEW", c.data.booking_id)
    -- too busy: nothing let go, they confirm again in a minute
    c = fake({ data = { hold = "SR-OLD", start = at("10:30") }, reserve = { { err = "rate limited" } } })
    kit.states.summary.on.confirm(c)
    assert.are.equal("busy_now", said(c).key)
    assert.is_nil(c.went)
    -- the hold ran out and the time is gone
    c = fake({ held = { id = "SR-OLD", status = "expired" }, data = { hold = "SR-OLD", start = at("10:30") },
               reserve = { { err = "slot taken" }, { err = "slot taken" } } })
    kit.states.summary.on.confirm(c)
    assert.are.equal("hold_lost", said(c).key)
    assert.are.equal("pick_time", c.went)
    assert.is_nil(c.data.hold)
  end)

  it("lets the hold go when the service, add-ons or date change, and returns from edit to the summary", function()
    local kit = dialog.new{ edit = { { id = "name", slots = { "name" } } } }
    local c = fake({ data = { hold = "SR-HOLD", hold_for = "x", start = 1 }, state = "summary" })
    assert.is_true(kit.changed(c, { "date" }))
    assert.are.same({ "SR-HOLD" }, names(c.booking, "cancel"))
    assert.are.equal("pick_time", c.went)
    assert.is_nil(c.data.hold)
    c = fake({ state = "edit" })
    assert.is_true(kit.changed(c, { "name" }))
    assert.are.equal("summary", c.went)
    c = fake({ state = "summary" })
    assert.is_false(kit.changed(c, { "name" }))
  end)

  it("cancels an existing booking when the customer names one, else the booking being made", function()
    local kit = dialog.new{}
    local c = fake({ state = "collect", msg = { text = "Please cancel my booking" } })
    kit.intents.cancel(c)
    assert.are.equal("find_booking", c.went)
    assert.are.equal("cancel", c.data.manage_action)
    c = fake({ state = "collect", msg = { text = "cancel sr-ab12cd34" } })
    kit.intents.cancel(c)
    assert.are.equal("find_booking", c.went)
    c = fake({ state = "summary", msg = { text = "cancel my booking" } })
    kit.intents.cancel(c)
    assert.are.equal("cancelled", c.went)
    c = fake({ state = "collect", msg = { text = "cancel" } })
    kit.intents.cancel(c)
    assert.are.equal("cancelled", c.went)
  end)

  it("reaches a flow as a read-only module whose handlers act only through the c they get", function()
    local view = require("flow.source").env().require("booking.dialog")
    local ok, err = pcall(function() view.new = function() end end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("read-only", 1, true), err)
    local kit = view.new{}
    local c = fake({})
    kit.states.pick_time.enter(c)
    assert.are.same({ "slots", "next_free" }, { c.booking.calls[1][1], c.booking.calls[2][1] })
    assert.are.equal("no_free_time", said(c).key)
  end)

  it("totals the service and its add-ons from the catalogue", function()
    local kit = dialog.new{}
    assert.are.equal(550, kit.total(fake()))
    assert.are.equal("Tue 08 Dec", kit.show_date(DATE, nil, fake()))
    assert.are.equal("मंगलवार, 8 दिसंबर", kit.show_date(DATE, nil, fake({ lang = "hi" })))
  end)
  it("calls the flow's hooks once the engine booked, moved or cancelled; a failing hook leaves the booking standing", function()
    local seen = {}
    local kit = dialog.new{
      on_booked = function(_, b) seen[#seen + 1] = { "booked", b.id } end,
      on_rescheduled = function(_, b) seen[#seen + 1] = { "rescheduled", b.id, b.start } end,
      on_cancelled = function() error("back office down") end,
      price = function(_, service, addons) return service == "wash" and 1000 + #addons or nil end }
    local held = { id = "SR-HOLD", status = "held", customer = { name = "Asha", phone = "9876543210" } }
    local c = fake({ held = held, data = { hold = "SR-HOLD", start = at("10:30") } })
    kit.states.summary.on.confirm(c)
    assert.are.equal("booked", c.went)
    c = fake({ msg = { button = "t" .. at("11:00") }, data = { manage = "SR-HOLD", new_date = DATE } })
    function c.booking:reschedule(id, start) return { id = id, start = start, status = "confirmed" } end
    kit.states.resched_time.reply(c)
    assert.are.equal("rescheduled", c.went)
    c = fake({ data = { manage = "SR-HOLD" } })
    kit.states.cancel_existing.on.yes(c)
    assert.are.equal("booking_cancelled", c.went)
    assert.are.same({ { "booked", "SR-HOLD" }, { "rescheduled", "SR-HOLD", at("11:00") } }, seen)
    assert.are.equal(1001, kit.total(fake()))                   -- the flow's price
    local other = fake()
    other.slots.service = "polish"
    assert.are.equal(150, kit.total(other))                     -- no price from the flow: the catalogue's
    local ok, err = pcall(dialog.new, { on_booked = "write it" })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("on_booked must be a function", 1, true), err)
  end)
end)
