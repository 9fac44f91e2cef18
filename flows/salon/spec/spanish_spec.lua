-- The salon in Spanish: 20 ways customers write a day and a time, read as
-- instants in America/Mexico_City (from a fixed "now": Tuesday 1 Dec 2026,
-- 10:00), and a cita booked, moved and cancelled in a Spanish conversation.
-- Like the car service's specs: over HTTP with FLOWHOST_CHAT_URL set, else
-- in this process; Redis is real.
local talk = require "flow.talk"
local extract = require "text.extract"
local http = require "http"
local json = require "json"
local tz = require "tz"
local crypto = require "crypto"

local URL = os.getenv("FLOWHOST_CHAT_URL")
local ZONE = "America/Mexico_City"
local NOW = tz.parse_iso("2026-12-01T10:00:00", ZONE)           -- a Tuesday

local function chat()
  if not URL then return talk.new("salon", { id = "chat:spec-" .. crypto.random_hex(16) }) end
  local r = assert(http.request{ method = "POST", url = URL .. "/v1/tenants/salon/conversations" })
  assert(r.status == 201, "creating a conversation: HTTP " .. r.status .. " " .. r.body)
  return talk.new("salon", { url = URL, id = json.decode(r.body).id })
end

local PHRASES = {
  { "mañana a las 5", "2026-12-02T17:00" },
  { "mañana a las 5 de la tarde", "2026-12-02T17:00" },
  { "mañana a las 10 de la mañana", "2026-12-02T10:00" },
  { "manana a las 4", "2026-12-02T16:00" },
  { "el jueves a las 4 de la tarde", "2026-12-03T16:00" },
  { "el jueves a las 16:00", "2026-12-03T16:00" },
  { "el viernes a las 11", "2026-12-04T11:00" },
  { "el sábado a las 12", "2026-12-05T12:00" },
  { "el sabado a las 9 am", "2026-12-05T09:00" },
  { "el lunes a las 3 pm", "2026-12-07T15:00" },
  { "hoy a las 6", "2026-12-01T18:00" },
  { "hoy a las 18:30", "2026-12-01T18:30" },
  { "pasado mañana a las 2", "2026-12-03T14:00" },
  { "el 10 de diciembre a las 5", "2026-12-10T17:00" },
  { "10/12 a las 11:30", "2026-12-10T11:30" },
  { "el miércoles a las 1 de la tarde", "2026-12-02T13:00" },
  { "el domingo a las 10", "2026-12-06T10:00" },
  { "mañana a las 7 de la noche", "2026-12-02T19:00" },
  { "el martes que viene a las 12:30", "2026-12-08T12:30" },
  { "el viernes 4 a las 17 hrs", "2026-12-04T17:00" },
}

describe("salon in Spanish", function()
  it("reads 20 ways of saying a day and a time as the expected instants in Mexico City", function()
    local wrong = {}
    for _, p in ipairs(PHRASES) do
      local date = extract.date(p[1], { now = NOW, zone = ZONE })
      local minutes = extract.time(p[1])
      local got = date and minutes and tz.parse_iso(("%sT%02d:%02d:00"):format(date, math.floor(minutes / 60), minutes % 60), ZONE)
      local want = tz.parse_iso(p[2] .. ":00", ZONE)
      if got ~= want then
        wrong[#wrong + 1] = ("%q: %s %s, expected %s"):format(p[1], tostring(date), tostring(minutes), p[2])
      end
    end
    assert.are.same({}, wrong)
  end)

  it("books with 'cualquiera' at a location, moves the cita and cancels it, in Spanish", function()
    local c = chat()
    c:says("hola"):hears("cómo te llamas")
    c:says("me llamo Eva Ruiz"):has_slot("name", "Eva Ruiz")
    c:says("55 1234 5678"):has_slot("phone", "5512345678")
    c:says("quiero un corte"):has_slot("service", "corte")
    c:says("en el centro"):has_slot("location", "centro")
    c:says("cualquiera"):has_slot("stylist", "any")
    c:says("pasado mañana"):in_state("pick_time")
    c:says("1"):in_state("summary"):hears("$250")
    c:says("sí"):in_state("booked")
    local id = c:said():match("(SL%-%w+)")
    assert.truthy(id, c:transcript())
    -- move it
    c:says("quiero cambiar mi cita"):hears(id)
    c:says("el jueves que viene"):in_state("resched_time")
    c:says("1"):in_state("rescheduled"):hears(id)
    -- cancel it
    c:says("cancelar mi cita"):in_state("cancel_existing")
    c:says("sí"):in_state("booking_cancelled"):hears("cancelada")
  end)
end)
