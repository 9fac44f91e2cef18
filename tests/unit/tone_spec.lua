-- tone: a tenant's house style as an ordered list of rules. Each rule on its
-- own, then composed the way flows/<tenant>/tone.lua uses them, then the
-- errors the flow loader reports for a bad rule list.
local tone = require "tone"

local function run(rules, text, vars) return tone.pipeline(rules)(text, vars) end

describe("tone rules", function()
  for _, c in ipairs({
    -- { rule, input, expected, what }
    { { "no_em_dashes" }, "Your car is ready — come pick it up.", "Your car is ready, come pick it up.", "a spaced em dash" },
    { { "no_em_dashes" }, "We wash—then polish.", "We wash, then polish.", "an unspaced em dash" },
    { { "no_em_dashes" }, "Open Mon–Fri, 10–6.", "Open Mon-Fri, 10-6.", "ranges" },
    { { "no_em_dashes" }, "From ₹499 – ₹999", "From ₹499 - ₹999", "a price range" },
    { { "no_em_dashes" }, "Done. — See you!", "Done. See you!", "a dash after a full stop" },
    { { "no_em_dashes" }, "— first item\nWait —", "- first item\nWait", "a dash opening or closing a line" },
    { { "no_em_dashes" }, "Great -- see you", "Great, see you", "a double hyphen" },
    { { "no_em_dashes" }, "Booked — , thanks", "Booked, thanks", "a dash before a comma" },

    { { "max_sentences", 2 }, "One. Two! Three? Four.", "One. Two!", "prose" },
    { { "max_sentences", 1 }, "Price is Rs. 499, e.g. for a sedan. Mr. Rao will call.",
      "Price is Rs. 499, e.g. for a sedan.", "abbreviations" },
    { { "max_sentences", 1 }, "Full detailing takes 1.5 hours. Wash takes 30 min.",
      "Full detailing takes 1.5 hours.", "a decimal" },
    { { "max_sentences", 2 }, "Pick one. Thanks! Bye.\n1) Wash - Rs. 499\n2) Detailing\n- Polish\n• Wax\n* Vacuum\nReply with a number.",
      "Pick one. Thanks!\n1) Wash - Rs. 499\n2) Detailing\n- Polish\n• Wax\n* Vacuum", "list items kept and not counted" },
    { { "max_sentences", 1 }, "👋 Hi Rahul! Your booking is confirmed.\n🚗 Basic wash - ₹499\n✨ Full detailing - ₹2,999",
      "👋 Hi Rahul!\n🚗 Basic wash - ₹499\n✨ Full detailing - ₹2,999", "emoji-labelled items" },
    { { "max_sentences", 1 }, "Booked! 🎉 See you tomorrow.", "Booked! 🎉", "emoji after the punctuation" },
    { { "max_sentences", 2 }, "Hi Rahul\nYour booking is set\nSee you", "Hi Rahul\nYour booking is set", "lines without full stops" },
    { { "max_sentences", 1 }, "बुक हो गया। कल मिलते हैं।", "बुक हो गया।", "a Devanagari danda" },

    { { "max_chars", 20 }, "Your booking is confirmed for tomorrow", "Your booking is…", "at a word boundary" },
    { { "max_chars", 10 }, "Supercalifragilistic", "Supercali…", "inside one long word" },
    { { "max_chars", 40 }, "Short enough.", "Short enough.", "short text untouched" },
    { { "max_chars", 9 }, "Booked, see you soon", "Booked…", "trailing punctuation dropped" },
    { { "max_chars", 6 }, "₹₹₹₹₹₹₹₹", "₹₹₹₹₹…", "characters, not bytes" },

    { { "emoji", "none" }, "Booked! ✅ See you 🙏", "Booked! See you", "strip all" },
    { { "emoji", "none" }, "🚗 Wash\nHi🙏there", "Wash\nHi there", "at line starts and between words" },
    { { "emoji", "none" }, "1️⃣ Wash 👍🏽 👨‍👩‍👧 🇮🇳 done", "Wash done", "keycaps, skin tones, ZWJ families and flags" },
    { { "emoji", "none" }, "₹499 • नमस्ते — ok", "₹499 • नमस्ते — ok", "rupee signs, bullets and Devanagari" },
    { { "emoji", 2 }, "A 🎉 B 🚗 C 🙏 D 👍", "A 🎉 B 🚗 C D", "keep the first two" },
    { { "emoji", "keep" }, "A 🎉 B 🚗", "A 🎉 B 🚗", "keep all" },

    { { "formal", "en" }, "Hey you guys, gonna be there? Yeah! HEY", "Hello you, going to be there? Yes! HELLO", "English" },
    { { "formal" }, "wanna book? thx", "want to book? thanks", "English by default" },
    { { "formal", "hi" }, "Tum kal aao, tumhara number batao. तुम्हारा नाम?",
      "Aap kal aaiye, aapka number bataiye. आपका नाम?", "Hinglish and Hindi" },
    { { "formal", "en" }, "They say heyday, not hey.", "They say heyday, not hello.", "whole words only" },

    { { "replace", { car = "vehicle", ["full detailing"] = "deep clean" } }, "Your Car gets Full Detailing. CAR carpet",
      "Your Vehicle gets Deep clean. VEHICLE carpet", "words and phrases, keeping case" },
    { { "replace", { a = "b", b = "c" } }, "a b", "b c", "in one pass (no chains)" },

    { { "capitalize" }, "hello rahul. your booking is set! see you at 10 a.m. tomorrow.",
      "Hello rahul. Your booking is set! See you at 10 a.m. tomorrow.", "sentence starts" },
    { { "capitalize" }, "- wash\n1) polish\nvisit www.sparkle.in now. iPhone users too",
      "- Wash\n1) Polish\nVisit www.sparkle.in now. iPhone users too", "list items, not URLs or mixed case" },

    { { "trim" }, "  Hello   there  \n\n\n\n  next\tline  \n\n", "Hello there\n\nnext line", "spaces and blank lines" },
    { { "trim" }, "a\r\nb", "a\nb", "Windows line ends" },
  }) do
    it(("%s: %s"):format(c[1][1], c[4]), function()
      assert.are.equal(c[3], run({ c[1] }, c[2]))
    end)
  end
end)

describe("tone.pipeline", function()
  local SPARKLE = { { "no_em_dashes" }, { "max_sentences", 4 }, { "emoji", 2 }, { "trim" } }

  it("applies a tenant's rules in order", function()
    local text = "Booked! ✅ Your booking id is SR-1 — see you on Friday 🚗 at 10 a.m.  Thanks 🙏🙏. " ..
                 "We will send a reminder. Reply STOP to stop.\n\n\nHere is the summary:\n- Name: Rahul\n- Car: Honda City"
    assert.are.equal("Booked! ✅ Your booking id is SR-1, see you on Friday 🚗 at 10 a.m. Thanks. " ..
                     "We will send a reminder. Reply STOP to stop.\n\n- Name: Rahul\n- Car: Honda City",
                     run(SPARKLE, text))
  end)

  it("gives different results for different orders", function()
    local text = "hey, you guys are great. see you"
    assert.are.equal("Hello, you are great.", run({ { "formal" }, { "capitalize" }, { "max_sentences", 1 } }, text))
    assert.are.equal("hello…", run({ { "formal" }, { "max_chars", 10 } }, text))
    assert.are.equal("Hello, you…", run({ { "max_chars", 10 }, { "formal" }, { "capitalize" } }, text))
  end)

  it("returns the text unchanged for no rules", function()
    assert.are.equal("  as — is 🎉 ", run({}, "  as — is 🎉 "))
  end)

  it("fills {vars} before the rules run", function()
    assert.are.equal("Hi Rahul, your id is SR-1 {literal}",
      run({ { "trim" } }, "Hi  {name}, your id is {booking.id} {{literal}}", { name = "Rahul", booking = { id = "SR-1" } }))
    assert.are.equal("Hi Rahul…", run({ { "max_chars", 10 } }, "Hi {name} and welcome", { name = "Rahul" }))
  end)

  it("raises on a missing variable, bad vars or a text that is not a string", function()
    local fn = tone.pipeline({ { "trim" } })
    assert.has_error(function() fn("Hi {name}", {}) end, "tone: the text uses {name} but vars has no value for it")
    assert.has_error(function() fn("Hi", "Rahul") end, "tone: vars must be a table")
    assert.has_error(function() fn(nil) end, "tone: text must be a string")
  end)
end)

describe("tone.check", function()
  it("returns good rules as they are", function()
    local rules = { { "no_em_dashes" }, { "max_sentences", 4 }, { "emoji", 2 }, { "emoji", "none" }, { "formal", "hi" },
                    { "replace", { a = "b" } }, { "max_chars", 300 }, { "capitalize" }, { "trim" } }
    assert.are.equal(rules, tone.check(rules))
  end)

  for _, c in ipairs({
    { "x", "tone: rules must be a list of {\"rule_name\", args...}" },
    { { "trim" }, "tone: rule 1 must be a list like {\"trim\"}" },
    { { { "trim" }, { "shout" } }, "tone: rule 2: unknown rule 'shout' (known: capitalize, emoji, formal, max_chars, " ..
                                   "max_sentences, no_em_dashes, replace, trim)" },
    { { { "max_sentences", 0 } }, "tone: rule 1 (max_sentences): n must be a positive integer" },
    { { { "max_sentences", 2.5 } }, "tone: rule 1 (max_sentences): n must be a positive integer" },
    { { { "max_sentences" } }, "tone: rule 1 (max_sentences): takes 1 argument, got 0" },
    { { { "max_chars", 1 } }, "tone: rule 1 (max_chars): n must be an integer of 2 or more" },
    { { { "emoji", "some" } }, "tone: rule 1 (emoji): mode must be \"none\", \"keep\" or a number of emoji to keep" },
    { { { "emoji", -1 } }, "tone: rule 1 (emoji): mode must be \"none\", \"keep\" or a number of emoji to keep" },
    { { { "formal", "fr" } }, "tone: rule 1 (formal): lang must be \"en\", \"hi\" or \"ru\"" },
    { { { "replace", {} } }, "tone: rule 1 (replace): needs a table {from = \"to\", ...}" },
    { { { "replace", { [1] = "x" } } }, "tone: rule 1 (replace): every entry must be a non-empty string mapped to a string" },
    { { { "trim" }, { "trim", true } }, "tone: rule 2 (trim): takes 0 arguments, got 1" },
    { { { "capitalize" }, { "no_em_dashes", "all" } }, "tone: rule 2 (no_em_dashes): takes 0 arguments, got 1" },
  }) do
    it("raises " .. c[2], function()
      assert.has_error(function() tone.check(c[1]) end, c[2])
      assert.has_error(function() tone.pipeline(c[1]) end, c[2])
    end)
  end
end)
