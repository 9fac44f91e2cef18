-- The pieces the flow engine understands customers with: questions,
-- a tenant's words and FAQ, side questions, numbered choices, Hindi times.
local question = require "text.question"
local clock = require "text.clock"
local dates = require "text.dates"
local intents = require "flow.intents"
local lexicon = require "flow.lexicon"
local types = require "flow.slot_types"

describe("text.question", function()
  it("reads a message that opens with a question word or 'do you' as a question", function()
    for _, q in ipairs{ "where are you located?", "whats the price of detailing?", "are you open on sunday?",
                        "can you do it at my home?", "hi, do you do ceramic coating", "kitna lagega",
                        "what is the difference between foam and basic?", "क्या आप रविवार को खुले हैं?" } do
      assert.is_true(question.is(q), q)
    end
  end)

  it("reads answers, even with a question mark, as answers", function()
    for _, a in ipairs{ "tomorrow at 5?", "foam?", "Rahul", "my name is priya", "no add ons please",
                        "9876543210", "is fine", "tomorrow 5pm" } do
      assert.is_false(question.is(a), a)
    end
  end)

  it("takes a tenant's own question words", function()
    assert.is_false(question.is("wo bist du?"))
    assert.is_true(question.is("wo bist du?", { wo = true }))
  end)
end)

describe("flow.lexicon", function()
  local t = { settings = { business = {
    words = { tomorrow = { "tmrw", "tomoro" }, name = { "naem" }, swift = { "swfit" } },
    faq = { { answer = "faq_hours", asks = { "are you open", "opening hours" } },
            { answer = "faq_location", asks = { "where are you located", "address" } } },
    intents = { human = { "malik se baat" } },
  } } }

  it("spells a customer's typos as the library reads them, keeping the rest", function()
    local lex = lexicon.of(t)
    assert.are.equal("my name is Priya", lex.rewrite("my naem is Priya"))
    assert.are.equal("Tomorrow, a swift", lex.rewrite("Tmrw, a swfit"))
    assert.are.equal("nameless", lex.rewrite("nameless"))
  end)

  it("answers an FAQ by its message key, typos tolerated, and nothing else", function()
    local lex = lexicon.of(t)
    assert.are.equal("faq_hours", lex.faq("are you open on sunday?"))
    assert.are.equal("faq_location", lex.faq("where are you locatd"))
    assert.is_nil(lex.faq("Honda City"))
  end)

  it("is built once per tenant version", function()
    assert.are.equal(lexicon.of(t), lexicon.of(t))
    assert.are_not.equal(lexicon.of(t), lexicon.of{ settings = {} })
  end)

  it("adds a tenant's phrases to the built-in intents", function()
    assert.is_nil(intents.detect("malik se baat"))
    assert.are.equal("human", intents.detect("malik se baat", lexicon.of(t).intents))
  end)
end)

describe("flow.intents", function()
  it("does not take 'no add ons please' for a price question", function()
    assert.is_nil(intents.detect("no add ons please"))
    assert.is_nil(intents.detect("no addons"))
    assert.are.equal("price", intents.detect("what add-ons do you have?"))
  end)

  it("knows when a handed-off customer wants the bot back", function()
    assert.is_true(intents.resumes("continue"))
    assert.is_true(intents.resumes("ok bot"))
    assert.is_false(intents.resumes("Honda City"))
  end)
end)

describe("choice numbers", function()
  local slot = { options = { { id = "wax" }, { id = "tyre" }, { id = "vacuum" } } }
  it("picks add-ons by the numbers of the buttons shown", function()
    assert.are.same({ "vacuum" }, types.choices.extract({ text = "3" }, slot, nil, true))
    assert.are.same({ "wax", "vacuum" }, types.choices.extract({ text = "1 and 3" }, slot, nil, true))
    assert.are.same({ "tyre", "wax" }, types.choices.extract({ text = "2, 1" }, slot, nil, true))
    assert.is_nil(types.choices.extract({ text = "7" }, slot, nil, true))
    assert.is_nil(types.choices.extract({ text = "3" }, slot, nil, false))
  end)
end)

describe("Hindi times and dates", function()
  local now, zone = 1796180000, "Asia/Kolkata"          -- Wed 2 Dec 2026, morning in Kolkata
  it("reads शाम 6 बजे, aaj shaam 6 baje and subah 9 baje", function()
    assert.are.equal(18 * 60, (clock.time("शाम 6 बजे")))
    assert.are.equal(18 * 60, (clock.time("aaj shaam 6 baje")))
    assert.are.equal(9 * 60, (clock.time("subah 9 baje")))
  end)
  it("reads कल, kal, parson and aaj as days", function()
    assert.are.equal("2026-12-03", (dates.date("कल शाम 6 बजे", { now = now, zone = zone })))
    assert.are.equal("2026-12-03", (dates.date("kal", { now = now, zone = zone })))
    assert.are.equal("2026-12-04", (dates.date("parson subah", { now = now, zone = zone })))
    assert.are.equal("2026-12-02", (dates.date("aaj shaam 6 baje", { now = now, zone = zone })))
  end)
end)
