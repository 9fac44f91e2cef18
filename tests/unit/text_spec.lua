-- text: fuzzy option matching, fact extraction and sentiment on the kind of
-- messages a WhatsApp car-service bot gets (English, Hinglish, Devanagari,
-- typos). Every table row is one spec.
local fuzzy = require "text.fuzzy"
local extract = require "text.extract"
local sentiment = require "text.sentiment"
local utf8 = require "text.utf8"
local tz = require "tz"

local IST = "Asia/Kolkata"
local function at(y, m, d, h, mi) return tz.to_utc({ year = y, month = m, day = d, hour = h or 10, min = mi or 0 }, IST) end
-- Wednesday 25 November 2026, 10:00 IST
local NOW = at(2026, 11, 25)
local ON_NOW = { now = NOW, zone = IST }

local SERVICES = {
  { id = "basic", names = { "Basic Wash", "car wash", "wash" } },
  { id = "detail", names = { "Full Detailing", "full detail" } },
  { id = "interior", names = { "Interior Cleaning" } },
  { id = "polish", names = { "Polish", "polishing" } },
  { id = "dhulai", names = { "gaadi dhulai", "धुलाई" } },
}
local ADDONS = {
  { id = "wax", names = { "wax", "waxing" } },
  { id = "vacuum", names = { "interior vacuum", "vacuum" } },
  { id = "tyre", names = { "tyre shine", "tire shine" } },
  { id = "none", names = { "no" } },
}
local DETAILING = {
  { id = "short", names = { "detailing" } },
  { id = "long", names = { "full detailing" } },
}

describe("text.fuzzy", function()
  for _, c in ipairs({
    { "", "", 0 }, { "abc", "", 3 }, { "wash", "wash", 0 }, { "tommorow", "tomorrow", 2 },
    { "abcd", "acbd", 1 }, { "wendesday", "wednesday", 1 }, { "kitten", "sitting", 3 },
    { "ca", "abc", 3 },                                   -- restricted: no edit of a swapped pair
  }) do
    it(("counts %d edits between %q and %q"):format(c[3], c[1], c[2]), function()
      assert.are.equal(c[3], fuzzy.distance(c[1], c[2]))
      assert.are.equal(c[3], fuzzy.distance(c[2], c[1]))
    end)
  end

  for _, c in ipairs({
    { "I want a full detailing tomorrow", SERVICES, "detail", "full detailing", true },
    { "FULL-DETAILING, please!", SERVICES, "detail", "FULL-DETAILING", true },
    { "ful detailing", SERVICES, "detail", "ful detailing", false },
    { "fulldetailing", SERVICES, "detail", "fulldetailing", false },
    { "basic wsh pls", SERVICES, "basic", "basic wsh", false },
    { "POLISH!!!", SERVICES, "polish", "POLISH", true },
    { "polishing karna hai", SERVICES, "polish", "polishing", true },
    { "cars washing", SERVICES, "basic", "cars washing", false },
    { "gadi dhulai karni hai", SERVICES, "dhulai", "gadi dhulai", false },
    { "गाड़ी की धुलाई", SERVICES, "dhulai", "धुलाई", true },
    { "full detailing please", DETAILING, "long", "full detailing", true },
    { "just detailing", DETAILING, "short", "detailing", true },
    { "no", ADDONS, "none", "no", true },
    { "Tire shine", ADDONS, "tyre", "Tire shine", true },
  }) do
    it(("matches %q to %s"):format(c[1], c[3]), function()
      local id, score, matched = fuzzy.best(c[1], c[2])
      assert.are.equal(c[3], id)
      assert.are.equal(c[4], matched)
      if c[5] then assert.are.equal(1, score) else assert.is_true(score > 0.7 and score < 1) end
    end)
  end

  for _, c in ipairs({
    { "I was thinking about it", SERVICES },                -- "was" is no typo of "wash"
    { "I wish to know", SERVICES },
    { "nothing", ADDONS },                                  -- "no" inside "nothing"
    { "not now", ADDONS },
    { "exterior cleaning", SERVICES },                      -- a different first letter is a different word
    { "hello", SERVICES },
    { "", SERVICES },
  }) do
    it(("finds no option in %q"):format(c[1]), function()
      assert.is_nil(fuzzy.best(c[1], c[2]))
      assert.are.same({}, fuzzy.all(c[1], c[2]))
    end)
  end

  it("prefers an exact match to a near one", function()
    local options = { { id = "near", names = { "detailling" } }, { id = "exact", names = { "detailing" } } }
    assert.are.equal("exact", (fuzzy.best("detailing", options)))
    assert.are.equal("near", (fuzzy.best("detailling", options)))
  end)

  it("drops matches under opts.min_score", function()
    assert.are.equal("detail", (fuzzy.best("ful detailng", SERVICES)))
    assert.is_nil(fuzzy.best("ful detailng", SERVICES, { min_score = 0.9 }))
    assert.are.equal("polish", (fuzzy.best("polish", SERVICES, { min_score = 1 })))
  end)

  for _, c in ipairs({
    { "wax and interior vacuum", { "wax", "vacuum" } },
    { "vacuum, wax", { "vacuum", "wax" } },
    { "waxing and vaccum please", { "wax", "vacuum" } },
    { "wax, wax and more wax", { "wax" } },
    { "tyre shine + wax", { "tyre", "wax" } },
  }) do
    it(("lists %s in message order for %q"):format(table.concat(c[2], ", "), c[1]), function()
      assert.are.same(c[2], fuzzy.all(c[1], ADDONS))
    end)
  end

  it("gives a span of the message to one option only", function()
    assert.are.same({ "long" }, fuzzy.all("full detailing", DETAILING))
  end)

  it("matches an option list changed in place with its new names", function()
    local options = { { id = "a", names = { "wax" } } }
    assert.are.equal("a", (fuzzy.best("wax please", options)))
    options[1].names[1] = "polish"
    assert.is_nil(fuzzy.best("wax please", options))
    options[1].id = "b"
    assert.are.equal("b", (fuzzy.best("polish please", options)))
  end)

  it("trusts a sealed list (a library's own phrases) without checking it each call", function()
    local options = fuzzy.seal{ { id = "a", names = { "wax" } } }
    assert.are.equal("a", (fuzzy.best("wax please", options)))
    options[1].names[1] = "polish"                       -- (a sealed list is never changed)
    assert.are.equal("a", (fuzzy.best("wax please", options)))
  end)

  it("a prepared lookup answers as fuzzy.lookup does, from a copy of the map", function()
    local map = { tomorrow = 1, today = 0, tuesday = 2, thursday = 4 }
    local near = fuzzy.lookup_fn(map)
    for _, w in ipairs{ "tommorow", "today", "tusday", "thurday", "monkey", "t", "" } do
      assert.are.same({ fuzzy.lookup(w, map) }, { near(w) })
    end
    map.monkey = 9
    assert.is_nil(near("monkey"))
  end)

  it("counts the edits of a near word as fuzzy.distance does, within the tolerance", function()
    local state = 1
    local function rnd(k) state = (state * 1103515245 + 12345) % 2147483648; return math.floor(state / 65536) % k end
    local LETTERS = { "a", "b", "c", "d" }
    -- a word of x and a to d (no common word, no ending), and one 0 to 3
    -- random swaps, insertions, deletions or changes after its first letter
    local function pair()
      local w = { "x" }
      for i = 2, 2 + rnd(12) do w[i] = LETTERS[rnd(4) + 1] end
      local v = { unpack(w) }
      for _ = 1, rnd(4) do
        local at, kind = 2 + rnd(math.max(1, #v - 1)), rnd(4)
        if kind == 0 and v[at + 1] then v[at], v[at + 1] = v[at + 1], v[at]
        elseif kind == 1 then table.insert(v, at, LETTERS[rnd(4) + 1])
        elseif kind == 2 and #v > 2 then table.remove(v, at)
        else v[at] = LETTERS[rnd(4) + 1] end
      end
      return table.concat(v), table.concat(w)
    end
    local function tolerance(n) return n <= 3 and 0 or n <= 6 and 1 or n <= 11 and 2 or 3 end
    local seen = {}
    for _ = 1, 4000 do
      local a, key = pair()
      local d = fuzzy.distance(a, key)
      local _, edits = fuzzy.lookup(a, { [key] = true })
      if d <= tolerance(#key) and (d == 0 or tolerance(#key) > 0) then
        assert.are.equal(d, edits, a .. " / " .. key)
        seen[d] = true
      else
        assert.is_nil(edits, a .. " / " .. key)
      end
    end
    assert.is_true(seen[0] and seen[1] and seen[2] and seen[3])
  end)

  it("looks a word up with the same tolerance", function()
    assert.are.same({ 1, 2 }, { fuzzy.lookup("tommorow", { tomorrow = 1, today = 0 }) })
    assert.are.same({ 0, 0 }, { fuzzy.lookup("today", { tomorrow = 1, today = 0 }) })
    assert.are.same({ 2, 1 }, { fuzzy.lookup("tusday", { tuesday = 2, thursday = 4 }) })
    assert.is_nil(fuzzy.lookup("monkey", { monday = 1 }))
  end)

  for _, c in ipairs({
    { "distance of a non-string", function() fuzzy.distance(nil, "a") end, "a and b must be strings" },
    { "text that is not a string", function() fuzzy.best(42, SERVICES) end, "text must be a string" },
    { "options without ids", function() fuzzy.best("x", { { names = { "a" } } }) end, "options%[1%] needs an id" },
    { "names that are not strings", function() fuzzy.all("x", { { id = "a", names = { "a", 1 } } }) end,
      "options%[1%]%.names must be a non%-empty list of strings" },
    { "empty names", function() fuzzy.best("x", { { id = "a", names = {} } }) end, "names must be a non%-empty list" },
    { "a min_score above 1", function() fuzzy.best("x", SERVICES, { min_score = 2 }) end, "min_score must be 0..1" },
  }) do
    it("raises on " .. c[1], function()
      local ok, err = pcall(c[2])
      assert.is_false(ok)
      assert.truthy(tostring(err):find(c[3]), err)
    end)
  end
end)

describe("text.extract phones and plates", function()
  for _, c in ipairs({
    { "9876543210", "9876543210" },
    { "+91 98765 43210", "9876543210" },
    { "098765-43210", "9876543210" },
    { "91-9876543210", "9876543210" },
    { "(+91) 98765-43210", "9876543210" },
    { "0091 98765 43210", "9876543210" },
    { "Mob. No.9876543210", "9876543210" },
    { "my number is 98765 43210, call after 5", "9876543210" },
    { "I'm Rahul, 9876543210, Honda City MH12AB1234", "9876543210" },
    { "25/12/2026 9876543210", "9876543210" },
    { "MH 12 AB 1234 9876543210", "9876543210" },
    { "call 9876543210 10am", "9876543210" },
    { "12 98765 43210", "9876543210" },
  }) do
    it(("reads the mobile in %q"):format(c[1]), function()
      assert.are.same({ c[2] }, { extract.phone_in(c[1]) })
    end)
  end

  for _, text in ipairs({ "12345678901", "5876543210", "987654321", "+1 415 555 0100", "9999999999",
                          "my number is 98765 4321" }) do
    it(("says %q is an invalid phone number"):format(text), function()
      assert.are.same({ nil, "invalid" }, { extract.phone_in(text) })
    end)
  end

  for _, text in ipairs({ "MH12AB1234", "22BH1234AB", "25/12/2026", "25-12-2026", "25.12.26", "2026-12-25",
                          "at 10:30", "pin 411001", "Rs 1500-2000", "98765", "no number here", "" }) do
    it(("finds no phone number in %q"):format(text), function()
      assert.are.same({}, { extract.phone_in(text) })
    end)
  end

  for _, c in ipairs({
    { "MH12AB1234", "MH12AB1234" },
    { "MH 12 AB 1234", "MH12AB1234" },
    { "mh-12-ab-1234", "MH12AB1234" },
    { "MH12 AB 1234", "MH12AB1234" },
    { "DL3CAF0001", "DL3CAF0001" },
    { "22BH1234AB", "22BH1234AB" },
    { "22 BH 1234 AB", "22BH1234AB" },
    { "car: KA 05 MN 2023, white", "KA05MN2023" },
    { "TN09BX1234 and 9876543210", "TN09BX1234" },
    { "old one MH-01-1234", "MH011234" },
    { "OD 02 AB 1234", "OD02AB1234" },
    { "I'm Rahul, 9876543210, Honda City MH12AB1234", "MH12AB1234" },
  }) do
    it(("reads the plate in %q"):format(c[1]), function()
      assert.are.same({ c[2] }, { extract.plate_in(c[1]) })
    end)
  end

  for _, text in ipairs({ "MH12AB123", "XX12AB1234", "MH123AB1234", "MH12ABCD1234", "MH00AB1234", "MH12AB0000",
                          "22BH123AB", "MH12", "mh12ab", "XY 12 AB 1234" }) do
    it(("says %q is an invalid plate"):format(text), function()
      assert.are.same({ nil, "invalid" }, { extract.plate_in(text) })
    end)
  end

  for _, text in ipairs({ "9876543210", "+91 98765 43210", "ka 25 dec 2026 ko", "on 25 dec 2026", "up to 5000",
                          "hello there", "SR12345678", "at 10:30", "kal ka 10 baje", "send the mp3", "at 10 am 2026", "" }) do
    it(("finds no plate in %q"):format(text), function()
      assert.are.same({}, { extract.plate_in(text) })
    end)
  end

  for _, c in ipairs({
    { "Mail me at Rahul.Sharma@Gmail.com.", "rahul.sharma@gmail.com" },
    { "x@y.co.in ok", "x@y.co.in" },
    { "a@b", nil }, { "rahul@gmail", nil }, { "no email", nil },
  }) do
    it(("reads %s from %q"):format(tostring(c[2]), c[1]), function()
      assert.are.equal(c[2], extract.email(c[1]))
    end)
  end
end)

describe("text.extract names", function()
  local A = { asked = true }
  for _, c in ipairs({
    { "I'm Rahul, 9876543210, Honda City MH12AB1234", nil, "Rahul" },
    { "my name is Rahul Sharma", nil, "Rahul Sharma" },
    { "hello, my name is amit kumar and I want a wash", nil, "Amit Kumar" },
    { "this is Priya", nil, "Priya" },
    { "myself Vikram", nil, "Vikram" },
    { "call me Raj", nil, "Raj" },
    { "Name: Anil Kapoor", nil, "Anil Kapoor" },
    { "hi, Rahul here", nil, "Rahul" },
    { "Rahul this side", nil, "Rahul" },
    { "mera naam Rahul hai", nil, "Rahul" },
    { "mera naam hai Suresh", nil, "Suresh" },
    { "main Rahul hoon", nil, "Rahul" },
    { "मेरा नाम राहुल है", nil, "राहुल" },
    { "I'm Ratan Tata", nil, "Ratan" },                      -- a brand ends the name unless asked
    { "I am Rahul Kumar Sharma Verma", nil, "Rahul Kumar Sharma" },
    { "rahul", A, "Rahul" },
    { "Rahul Sharma", A, "Rahul Sharma" },
    { "ok rahul", A, "Rahul" },
    { "it's Neha", A, "Neha" },
    { "Rahul K Sharma", A, "Rahul K Sharma" },
    { "mary-ann d'souza", A, "Mary-Ann D'Souza" },
    { "Rahul Sharma 9876543210", A, "Rahul Sharma" },
    { "rahul, tomorrow 10am", A, "Rahul" },
    { "राहुल", A, "राहुल" },
    { "Honda City", A, "Honda City" },
  }) do
    it(("reads %q from %q%s"):format(c[3], c[1], c[2] and " when asked" or ""), function()
      assert.are.equal(c[3], extract.name(c[1], c[2]))
    end)
  end

  for _, c in ipairs({
    { "rahul", nil }, { "it's Neha", nil }, { "this is urgent", nil }, { "I am looking for a car wash", nil },
    { "i am in pune", nil }, { "I'm good thanks", nil }, { "Anyone here?", nil },
    { "hi", A }, { "yes", A }, { "no", A }, { "tomorrow", A }, { "cancel", A }, { "ok", A },
    { "rahul wants a wash", A }, { "full detailing", A },
  }) do
    it(("finds no name in %q%s"):format(c[1], c[2] and " when asked" or ""), function()
      assert.is_nil(extract.name(c[1], c[2]))
    end)
  end
end)

describe("text.extract dates", function()
  for _, c in ipairs({
    { "today", "2026-11-25", "today" },
    { "aaj shaam", "2026-11-25", "aaj" },
    { "आज", "2026-11-25", "आज" },
    { "tomorrow", "2026-11-26", "tomorrow" },
    { "tommorow pls", "2026-11-26", "tommorow" },
    { "tmrw 10am", "2026-11-26", "tmrw" },
    { "kal subah", "2026-11-26", "kal" },
    { "day after tomorrow", "2026-11-27", "day after tomorrow" },
    { "parso", "2026-11-27", "parso" },
    { "परसों सुबह", "2026-11-27", "परसों" },
    { "yesterday", "2026-11-24", "yesterday" },
    { "in 3 days", "2026-11-28", "in 3 days" },
    { "in a week", "2026-12-02", "in a week" },
    { "3 din baad", "2026-11-28", "3 din baad" },
    { "wednesday", "2026-11-25", "wednesday" },             -- today counts for a bare weekday
    { "wendesday", "2026-11-25", "wendesday" },
    { "next wednesday", "2026-12-02", "next wednesday" },   -- next: never today
    { "friday", "2026-11-27", "friday" },
    { "can I come fri", "2026-11-27", "fri" },
    { "this sat", "2026-11-28", "this sat" },
    { "on sun", "2026-11-29", "sun" },
    { "agle somvar", "2026-11-30", "agle somvar" },
    { "शुक्रवार", "2026-11-27", "शुक्रवार" },
    { "25th", "2026-11-25", "25th" },
    { "the 24th", "2026-12-24", "the 24th" },              -- passed this month: next month
    { "30th", "2026-11-30", "30th" },
    { "31st", "2026-12-31", "31st" },                      -- November has no 31st
    { "on 1st of jan", "2027-01-01", "1st of jan" },
    { "25 dec", "2026-12-25", "25 dec" },
    { "dec 25", "2026-12-25", "dec 25" },
    { "decmber 5th", "2026-12-05", "decmber 5th" },
    { "25 December 2026", "2026-12-25", "25 December 2026" },
    { "Dec 25, 2027", "2027-12-25", "Dec 25, 2027" },
    { "20 nov", "2027-11-20", "20 nov" },                  -- passed this year: next year
    { "25 December 2025", "2025-12-25", "25 December 2025" }, -- an explicit past date is returned
    { "29 feb", "2028-02-29", "29 feb" },
    { "25/12", "2026-12-25", "25/12" },
    { "25-12-2026", "2026-12-25", "25-12-2026" },
    { "25.12.26", "2026-12-25", "25.12.26" },
    { "2026-12-25", "2026-12-25", "2026-12-25" },
    { "12/25/2026", "2026-12-25", "12/25/2026" },           -- month first only when day first is impossible
    { "05/06/2027", "2027-06-05", "05/06/2027" },           -- day first
    { "friday 27th nov", "2026-11-27", "friday 27th nov" },
    { "book for tomorrow at 10, my number 9876543210", "2026-11-26", "tomorrow" },
  }) do
    it(("reads %q as %s"):format(c[1], c[2]), function()
      assert.are.same({ c[2], c[3] }, { extract.date(c[1], ON_NOW) })
    end)
  end

  for _, text in ipairs({ "I sat in the car", "next week", "may I come at 5", "9876543210", "MH12AB1234", "at 10",
                          "31 feb", "31/04/2027", "13/13/2026", "in december", "" }) do
    it(("finds no date in %q"):format(text), function()
      assert.is_nil(extract.date(text, ON_NOW))
    end)
  end

  it("counts days in the zone's calendar, not UTC's", function()
    local just_after_midnight = at(2026, 11, 25, 0, 30)          -- still 24 November in UTC
    assert.are.equal("2026-11-24", tz.date(just_after_midnight, "UTC"))
    assert.are.equal("2026-11-25", (extract.date("today", { now = just_after_midnight, zone = IST })))
    assert.are.equal("2026-11-26", (extract.date("kal", { now = just_after_midnight, zone = IST })))
  end)

  it("rolls over months and years", function()
    local nye = { now = at(2026, 12, 31, 23, 59), zone = IST }
    assert.are.equal("2027-01-01", (extract.date("tomorrow", nye)))
    assert.are.equal("2027-01-25", (extract.date("25th", nye)))
    assert.are.equal("2027-01-06", (extract.date("in 6 days", nye)))
    local end_of_jan = { now = at(2027, 1, 31), zone = IST }
    assert.are.equal("2027-03-30", (extract.date("30th", end_of_jan)))   -- February has no 30th
    assert.are.equal("2027-02-28", (extract.date("28th", end_of_jan)))
  end)

  for _, c in ipairs({
    { "no opts", function() extract.date("today") end, "opts.now must be epoch seconds" },
    { "a string now", function() extract.date("today", { now = "today", zone = IST }) end, "opts.now" },
    { "no zone", function() extract.date("today", { now = NOW }) end, "opts.zone must be" },
    { "an unknown zone", function() extract.date("today", { now = NOW, zone = "Mars/Base" }) end, "unknown zone" },
    { "a text that is not a string", function() extract.date(nil, ON_NOW) end, "text must be a string" },
  }) do
    it("raises on " .. c[1], function()
      local ok, err = pcall(c[2])
      assert.is_false(ok)
      assert.truthy(tostring(err):find(c[3]), err)
    end)
  end
end)

describe("text.extract times", function()
  for _, c in ipairs({
    { "10am", 600, "10am" }, { "10 am", 600, "10 am" }, { "10 a.m.", 600, "10 a.m." },
    { "10:30", 630, "10:30" }, { "10:30 pm", 1350, "10:30 pm" }, { "2 pm", 840, "2 pm" },
    { "14:00", 840, "14:00" }, { "14:00 hrs", 840, "14:00 hrs" }, { "07:30", 450, "07:30" },
    { "12am", 0, "12am" }, { "12 pm", 720, "12 pm" }, { "noon", 720, "noon" }, { "12 noon", 720, "12 noon" },
    { "midnight", 0, "midnight" },
    { "at 3", 900, "at 3" },                               -- 1-7 without am/pm: afternoon
    { "at 7", 1140, "at 7" },
    { "at 10", 600, "at 10" },                             -- 8-11: morning
    { "at 12", 720, "at 12" },
    { "at 7 am", 420, "at 7 am" },
    { "at 10.30", 630, "at 10.30" },
    { "by 5.30", 1050, "by 5.30" },
    { "3:30", 930, "3:30" },
    { "3 o'clock", 900, "3 o'clock" },
    { "tomorrow evening at 6", 1080, "at 6" },
    { "tomorrow morning at 6", 360, "at 6" },
    { "good morning, can I come at 4", 960, "at 4" },      -- a greeting is no part of the day
    { "5 in the evening", 1020, "5" },
    { "shaam 5 baje", 1020, "5 baje" },
    { "subah 10 baje", 600, "10 baje" },
    { "5 baje", 1020, "5 baje" },
    { "saade 10", 630, "saade 10" },
    { "paune 5 baje", 1005, "paune 5 baje" },
    { "dedh baje", 810, "dedh baje" },
    { "half past 10", 630, "half past 10" },
    { "quarter to 6", 1065, "quarter to 6" },
    { "10-11am", 600, "10-11am" },
    { "from 10 to 11 am", 600, "from 10 to 11 am" },
    { "kal 25/12 ko 11am, 9876543210", 660, "11am" },
  }) do
    it(("reads %q as %d minutes"):format(c[1], c[2]), function()
      assert.are.same({ c[2], c[3] }, { extract.time(c[1]) })
    end)
  end

  for _, text in ipairs({ "10.30", "after 2 days", "25/12 9876543210", "10 amazing cars", "25.12.26", "MH12AB1234",
                          "2 cars in the evening", "14 pm", "at 25", "morning", "" }) do
    it(("finds no time in %q"):format(text), function()
      assert.is_nil(extract.time(text))
    end)
  end

  for _, c in ipairs({
    { "morning", "morning" }, { "tomorrow mrng", "morning" }, { "evning please", "evening" },
    { "shaam ko", "evening" }, { "raat 8 baje", "evening" }, { "afternon", "afternoon" }, { "दोपहर", "afternoon" },
    { "good morning", nil }, { "i want a wash", nil },
  }) do
    it(("reads the part of the day %s from %q"):format(tostring(c[2]), c[1]), function()
      assert.are.equal(c[2], extract.daypart(c[1]))
    end)
  end
end)

describe("text.extract answers", function()
  for _, c in ipairs({
    { "yes", true }, { "Yes please book it", true }, { "yess", true }, { "yea", true }, { "okkk", true },
    { "sure, why not", true }, { "no problem", true }, { "haan", true }, { "haan ji", true }, { "theek hai", true },
    { "👍", true }, { "hmm ok", true }, { "I think yes", true }, { "k", true }, { "that's right", true },
    { "no", false }, { "noo", false }, { "nope", false }, { "nahi", false }, { "nahi chahiye", false },
    { "no, my number is 9876543210", false }, { "please no", false }, { "not ok", false }, { "ji nahi", false },
    { "❌", false }, { "no thanks", false },
    { "nothing", nil }, { "cancel", nil }, { "not sure", nil }, { "no idea", nil }, { "hmm", nil },
    { "book karo na", nil }, { "I want to book a full detailing tomorrow at 10 yes", nil }, { "", nil },
    { "Is 3pm tomorrow ok?", nil }, { "ok so it's confirmed for 12/12?", nil }, { "ok?", true },
  }) do
    it(("reads %q as %s"):format(c[1], tostring(c[2])), function()
      assert.are.equal(c[2], extract.yes_no(c[1]))
    end)
  end

  it("leaves Hindi words out when lang is en", function()
    assert.is_true(extract.yes_no("haan", "hi"))
    assert.is_nil(extract.yes_no("haan", "en"))
    assert.is_false(extract.yes_no("nope", "en"))
    local ok, err = pcall(extract.yes_no, "yes", "fr")
    assert.is_false(ok)
    assert.truthy(err:find("lang must be"))
  end)

  for _, c in ipairs({
    { "no, my number is 9876543210", true }, { "actually make it 11", true }, { "sorry, I meant friday", true },
    { "change the date to 25th", true }, { "not 10, 11", true }, { "that's wrong", true },
    { "saturday instead", true }, { "make it 11am", true }, { "update my number", true }, { "11 not 10", true },
    { "no, tomorrow", true }, { "nahi nahi, kal", true }, { "galat number", true },
    { "no thanks", false }, { "no", false }, { "yes please", false }, { "I want a wash tomorrow", false },
    { "not interested", false }, { "any update on my booking?", false }, { "I'm not available at 10", false },
  }) do
    it(("%s %q as a correction"):format(c[2] and "reads" or "does not read", c[1]), function()
      assert.are.equal(c[2], extract.correction(c[1]))
    end)
  end

  for _, name in ipairs({ "phone_in", "plate_in", "email", "name", "time", "daypart", "yes_no", "correction" }) do
    it(("raises when extract.%s gets no text"):format(name), function()
      local ok, err = pcall(extract[name], nil)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("text must be a string"), err)
    end)
  end
end)

describe("text.sentiment", function()
  for _, text in ipairs({
    "I want a wash tomorrow at 10", "Hi, I need full detailing for my Honda City",
    "kal subah 10 baje aa sakta hu?", "What is the price for ceramic coating?", "Rahul", "9876543210",
    "yes please", "ok", "MH12AB1234", "not bad, thanks", "My email is ankit.k@yahoo.co.in, phone 9988776655",
    "k I will come at 5 then",
  }) do
    it(("reads %q as calm and engaged"):format(text), function()
      local s = sentiment.score(text)
      assert.are.equal(0, s.anger)
      assert.is_true(s.boredom <= 1)
      assert.is_nil(sentiment.disengage(s))
    end)
  end

  for _, text in ipairs({
    "This is the worst service ever!!! Pathetic.", "you guys are useless, I'm fed up", "FUCK THIS",
    "bakwas service, bekar", "I am very disappointed and frustrated, still waiting since 2 hours",
    "HOW MANY TIMES DO I HAVE TO TELL YOU, USELESS", "🤬 wtf", "ghatiya service, dhokha hai",
  }) do
    it(("reads %q as angry"):format(text), function()
      local s = sentiment.score(text)
      assert.is_true(s.anger >= 7 and s.anger <= 10, tostring(s.anger))
      assert.are.equal("angry", sentiment.disengage(s))
    end)
  end

  for _, text in ipairs({ "whatever", "leave it", "not interested", "forget it, I'll go elsewhere", "chhodo yaar",
                          "rehne do", "interest nahi hai", "stop messaging me", "kkk" }) do
    it(("reads %q as bored"):format(text), function()
      local s = sentiment.score(text)
      assert.is_true(s.boredom >= 8, tostring(s.boredom))
      assert.are.equal("bored", sentiment.disengage(s))
    end)
  end

  for _, text in ipairs({ "k", "idk", "bas", "hmm", "nvm" }) do
    it(("raises boredom for %q without disengaging"):format(text), function()
      local s = sentiment.score(text)
      assert.is_true(s.boredom >= 2 and s.boredom < 8, tostring(s.boredom))
      assert.is_nil(sentiment.disengage(s))
    end)
  end

  for _, c in ipairs({
    { "very bad service", "bad service", "an intensifier" },
    { "THIS SERVICE IS BAD", "this service is bad", "shouting" },
    { "bad service!!!", "bad service", "exclamation marks" },
    { "baaaad service", "bad service", "a stretched word" },
    { "not happy with the service", "happy with the service", "negating a good word" },
    { "bad service", "not bad service", "negating a bad word (the other way)" },
    { "shit service", "bad service", "profanity" },
  }) do
    it(("scores %q angrier than %q (%s)"):format(c[1], c[2], c[3]), function()
      assert.is_true(sentiment.score(c[1]).anger > sentiment.score(c[2]).anger)
    end)
  end

  it("reads interest in a booking request", function()
    assert.is_true(sentiment.score("I want to book a full detailing, how much?").interest >= 4)
    assert.are.equal(0, sentiment.score("k").interest)
  end)

  it("takes the tenant's thresholds", function()
    local s = { anger = 5, boredom = 6, interest = 0 }
    assert.is_nil(sentiment.disengage(s))
    assert.are.equal("angry", sentiment.disengage(s, { anger = 5 }))
    assert.are.equal("bored", sentiment.disengage(s, { boredom = 6 }))
    assert.are.equal("angry", sentiment.disengage({ anger = 9, boredom = 9 }))   -- anger first
  end)

  it("raises on misuse", function()
    assert.has_error(function() sentiment.score(nil) end, "sentiment.score: text must be a string")
    assert.has_error(function() sentiment.disengage("angry") end,
      "sentiment.disengage: scores must be a table from sentiment.score")
    assert.has_error(function() sentiment.disengage({ anger = 1, boredom = 1 }, { anger = "high" }) end,
      "sentiment.disengage: thresholds.anger and thresholds.boredom must be numbers")
  end)
end)

describe("text.utf8", function()
  for _, c in ipairs({
    { "👍", true }, { "👍🏽", true }, { "1️⃣", true }, { "🇮🇳", true }, { "👨‍👩‍👧", true }, { "❤️", true },
    { "☀", true }, { "⭐", true }, { "₹", false }, { "न", false }, { "•", false }, { "—", false }, { "1", false },
  }) do
    it(("%s %s as one emoji"):format(c[2] and "reads" or "does not read", c[1]), function()
      local stop = utf8.emoji_at(c[1], 1)
      if c[2] then assert.are.equal(#c[1] + 1, stop) else assert.is_nil(stop) end
    end)
  end

  it("counts characters, not bytes", function()
    assert.are.equal(6, utf8.len("नमस्ते"))                     -- न म स ् त े
    assert.are.equal(4, utf8.len("₹499"))
    assert.are.equal("₹", utf8.encode(0x20B9))
    assert.are.same({ 0x20B9, 4 }, { utf8.decode("₹", 1) })
  end)

  it("cuts by characters, never inside one", function()
    assert.are.equal("Confirm", utf8.cut("Confirm", 20))
    assert.are.equal("नमस्…", utf8.cut("नमस्ते", 5))              -- 4 characters and the ellipsis
    assert.are.equal("₹₹₹₹₹", utf8.cut("₹₹₹₹₹", 5))
    assert.are.equal("₹₹…", utf8.cut("₹₹₹₹₹₹", 3))
  end)
end)

describe("text.words", function()
  local words = require "text.words"

  it("splits words on anything but letters and digits, keeping apostrophes inside", function()
    local toks = words.tokens("I'm at MH12, café—नमस्ते don't' 10am")
    local ws = {}
    for i, t in ipairs(toks) do ws[i] = t.w end
    assert.are.same({ "im", "at", "mh12", "café", "नमस्ते", "dont", "10am" }, ws)
    assert.are.same({ 1, 3 }, { toks[1].s, toks[1].e })
    assert.is_true(toks[2].alpha and not toks[2].digits)
    assert.is_true(not toks[3].alpha and not toks[3].digits)
  end)

  it("shares one list per text, the same for its lowercase", function()
    local text = "Full DETAILING tomorrow, 10AM"
    assert.are.same(words.tokens(text), words.cached(text))
    assert.are.equal(words.cached(text), words.cached(text:lower()))
  end)

  it("trims white space at both ends only", function()
    assert.are.equal("a  b", words.trim(" \t a  b \n"))
    assert.are.equal("", words.trim("  \r\n"))
    assert.are.equal("x", words.trim("x"))
  end)
end)
