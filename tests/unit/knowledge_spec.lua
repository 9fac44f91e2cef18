-- flow.knowledge: a knowledge base as markdown files, one topic a file.
local knowledge = require "flow.knowledge"
local source = require "flow.source"

describe("flow.knowledge", function()
  after_each(function() source.files = nil end)

  it("reads each topic's title, words and text, sorted by file name", function()
    source.files = {
      ["f/t/knowledge/pricing.md"] = "# Pricing\nWords: Price, how much , цена\n\nIt costs 49 USD.\nYearly: two months free.\n",
      ["f/t/knowledge/api.md"] = "# The API\nwords: api,rest\nREST and webhooks.",
      ["f/t/knowledge/notes.txt"] = "not a topic",
      ["f/t/flow.lua"] = "return {}",
    }
    local list, texts = knowledge.load("f/t")
    assert.are.equal(2, #list)
    assert.are.equal(2, #texts)
    assert.are.same({ id = "api", title = "The API", words = { "api", "rest" }, text = "REST and webhooks." }, list[1])
    assert.are.same({ "price", "how much", "цена" }, list[2].words)
    assert.are.equal("It costs 49 USD.\nYearly: two months free.", list[2].text)
  end)

  it("says what a topic lacks, with the file and line", function()
    source.files = { ["f/t/knowledge/x.md"] = "Words: a\n\ntext" }
    assert.are.same({ nil, "f/t/knowledge/x.md:1: start the topic with its title, like # Pricing" }, { knowledge.load("f/t") })
    source.files = { ["f/t/knowledge/x.md"] = "# X\n\ntext" }
    local _, problem = knowledge.load("f/t")
    assert.truthy(problem:find("x.md:2: add a line like Words:", 1, true), problem)
    source.files = { ["f/t/knowledge/x.md"] = "# X\nWords: a\n" }
    _, problem = knowledge.load("f/t")
    assert.truthy(problem:find("has no text", 1, true), problem)
  end)

  it("is empty without a knowledge folder", function()
    source.files = { ["f/t/flow.lua"] = "return {}" }
    assert.are.same({}, (knowledge.load("f/t")))
  end)
end)
