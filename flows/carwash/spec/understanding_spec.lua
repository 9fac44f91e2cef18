-- Customers as they write: questions in the middle of a booking, typos,
-- Hinglish and Devanagari, bare numbers, changes of mind, asking for a
-- person. Each case was misread once (issue 14 §4). Like scenarios_spec,
-- over HTTP when FLOWHOST_CHAT_URL is set, else in this process.
local talk = require "flow.talk"
local http = require "http"
local json = require "json"
local tz = require "tz"
local time = require "time"

local URL = os.getenv("FLOWHOST_CHAT_URL")
local ZONE = "Asia/Kolkata"

local function chat()
  if not URL then return talk.new("carwash") end
  local r = assert(http.request{ method = "POST", url = URL .. "/v1/tenants/carwash/conversations" })
  assert(r.status == 201, "creating a conversation: HTTP " .. r.status .. " " .. r.body)
  return talk.new("carwash", { url = URL, id = json.decode(r.body).id })
end

local function day(n) return tz.date(tz.add_days(time.now(), n, ZONE), ZONE) end

-- a customer at the question for `slot`, everything before it answered
local STEPS = {
  { "name", "Rahul Sharma" }, { "phone", "98765 43210" }, { "model", "Honda City" },
  { "plate", "MH 12 AB 1234" }, { "service", "basic wash" }, { "addons", "none" },
}
local function at(slot)
  local c = chat()
  c:says("hi")
  for _, s in ipairs(STEPS) do
    if s[1] == slot then return c end
    c:says(s[2])
  end
  return c:in_state("collect")
end

-- one reply only, and it holds `piece`
local function one_reply(c, piece)
  assert(#c.last.replies == 1, "expected one reply\n" .. c:transcript())
  return c:hears(piece)
end

-- a date and time given together: booked for that time if it is free, or
-- told it is not and offered others; or, when the day has no free time
-- left (today, late in the day: the spec runs at any hour), told so, the
-- day read as the one asked for and the date asked again
-- (words: the texts to look for in another language)
local function took_time(c, date, label, words)
  words = words or { not_free = "isn't free", full = "fully booked", today = "no free times left today",
                     next = "earliest free time is", offered = "These times are free" }
  if c.last.state == "collect" then
    c:has_slot("date", nil)
    return c:hears(date == day(0) and words.today or words.full):hears(words.next)
  end
  c:has_slot("date", date)
  if c.last.state == "summary" then return c:hears(label):never_hears(words.offered) end
  return c:in_state("pick_time"):hears(words.not_free)
end

describe("carwash understands", function()
  it("'no add ons please' and 'no addons' as no add-ons, not as a price question", function()
    at("addons"):says("no add ons please"):has_slot("addons", {}):never_hears("Our prices"):hears("which day")
    at("addons"):says("no addons"):has_slot("addons", {}):never_hears("Our prices"):hears("which day")
  end)

  it("a question about a service or a price as a question: answered, then asked again", function()
    local c = at("service")
    c:says("whats the price of detailing?"):hears("Full Detailing costs Rs. 2499"):hears("which service")
    c:has_slot("service", nil)
    c:says("what is the difference between foam and basic?"):hears("Foam Wash adds"):hears("which service")
    c:has_slot("service", nil)
    local n = at("name")
    n:says("are you open on sunday?"):hears("open every day"):hears("your name"):has_slot("date", nil)
    n:has_slot("name", nil)
  end)

  it("a time given with the date: 'tomorrow 5pm' and 'aaj shaam 6 baje'", function()
    took_time(at("date"):says("tomorrow 5pm"), day(1), "5:00 PM")
    took_time(at("date"):says("aaj shaam 6 baje"), day(0), "6:00 PM")
    took_time(at("date"):says("parson subah 9 baje"), day(2), "9:00 AM")
  end)

  it("a bare number as the choice with that number", function()
    at("service"):says("3"):has_slot("service", "interior"):hears("add-ons")
    at("addons"):says("3"):has_slot("addons", { "vacuum" }):hears("which day")
  end)

  it("typos from the tenant's word list: 'my naem is priya', 'swfit', 'tmrw'", function()
    at("name"):says("my naem is priya"):has_slot("name", "Priya"):hears("mobile")
    at("model"):says("swfit"):has_slot("brand", "maruti"):has_slot("model", "Swift"):hears("registration")
    at("date"):says("tmrw"):has_slot("date", day(1)):in_state("pick_time")
  end)

  it("a wrong number with one complaint, and a question at the number question as a question", function()
    local c = at("name")
    one_reply(c:says("numbr is 98765 4321"), "doesn't look right")
    c:says("98765 43210"):has_slot("phone", "9876543210"):hears("your name")
    local h = at("phone")
    h:says("can you do it at my home?"):hears("only at our centre"):never_hears("doesn't look right")
    h:hears("mobile"):has_slot("phone", nil)
  end)

  it("a change of service, typed at the summary or picked after 'change', with an acknowledgement", function()
    local c = at("date")
    c:says("tomorrow"):taps(c:buttons()[1].id):in_state("summary")
    c:says("actually make it foam wash"):hears("OK, Foam Wash then"):has_slot("service", "foam_wash")
    c:taps(c:buttons()[1].id):in_state("summary")
    c:taps("edit"):taps("service"):taps("interior"):hears("OK, Interior Cleaning then")
    c:has_slot("service", "interior"):says("none")
    c:taps(c:buttons()[1].id):in_state("summary")
    c:says("no, day after tomorrow"):has_slot("date", day(2)):hears("OK, "):in_state("pick_time")
  end)

  it("a Devanagari message in Hindi, its date and time words too", function()
    local c = at("date")
    took_time(c:says("कल शाम 6 बजे"), day(1), "शाम 6:00",
              { not_free = "खाली नहीं", full = "भरी हुई", next = "सबसे पहला खाली समय", offered = "ये समय खाली हैं" })
    c:says("cancel"):hears("रद्द")
  end)

  it("'where are you located?' from the FAQ, the question asked again", function()
    at("plate"):says("where are you located?"):hears("1800-123-4567"):hears("registration"):has_slot("plate", nil)
  end)

  it("'I want a human': the booking pauses until the customer says continue", function()
    local c = at("phone")
    c:says("I want a human"):hears("person from our team"):never_hears("mobile number")
    c:says("9876543210"):hears("say 'continue'"):has_slot("phone", nil):never_hears("which car")
    c:says("continue"):hears("go on"):hears("mobile")
    c:says("9876543210"):has_slot("phone", "9876543210"):hears("which car")
  end)
end)
