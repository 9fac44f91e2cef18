--- flow.lexicon: the words a tenant's customers use, from its business data
--- (flows/<tenant>/business.lua, settings.business), indexed once per
--- tenant version.
--
--   lexicon.of(t) -> lex            (kept while t, one tenant version, lives)
--   lex.rewrite(text) -> text       typos and variants spelled as the
--       library reads them ("my naem is priya" -> "my name is priya")
--   lex.faq(text) -> message key | nil     the FAQ answer a message asks for
--   lex.intents -> {name = {phrase, ...}} the tenant's extra intent phrases
--   lex.question_words -> {word = true} | nil   extra words opening a question
--
-- business.words = { tomorrow = { "tmrw", "tomoro" }, name = { "naem" } }:
--   each key is the word (or phrase) the library understands, each list the
--   spellings customers use for it; whole words, any case.
-- business.faq = { { answer = "faq_hours", asks = { "are you open", ... } }, ... }:
--   a message matching a phrase (typos tolerated) is answered with the
--   message `answer` and the question on the table is asked again.
-- business.intents = { human = { "malik se baat" } }: more phrases for the
--   built-in intents (cancel, restart, human, help, reschedule, price, resume).
-- business.question_words = { "donde", "cuanto" }: more words that open a question.
--
-- Nothing here yields. Building is linear in the size of the lists; each
-- turn's rewrite looks up the message's words (shared tokens) and runs
-- text.rewrite only when one starts a variant; the FAQ lookup
-- is one fuzzy.best over the phrases (indexed by first letter).
local rewrite = require "text.rewrite"
local fuzzy = require "text.fuzzy"
local words = require "text.words"

local M = {}

local built = setmetatable({}, { __mode = "k" })    -- t -> lex

local function identity(text) return text end

local function list_of(v, where)
  if type(v) == "string" then return { v } end
  if type(v) ~= "table" then error(where .. " must be a list of words", 0) end
  return v
end

local function build(business)
  local lex = { rewrite = identity, faq = function() return nil end, intents = {} }
  if type(business) ~= "table" then return lex end
  if type(business.words) == "table" then
    local map, any = {}, false
    for canonical, variants in pairs(business.words) do
      for _, v in ipairs(list_of(variants, "business.words." .. tostring(canonical))) do
        map[v] = tostring(canonical):gsub("_", " ")
        any = true
      end
    end
    if any then
      -- the full rewrite runs only on a message holding a variant's first word
      local fn, first = rewrite.words(map), {}
      for v in pairs(map) do
        local t = words.tokens(v)[1]
        if t then first[t.w] = true end
      end
      lex.rewrite = function(text)
        for _, t in ipairs(words.cached(text)) do
          if first[t.w] then return fn(text) end
        end
        return text
      end
    end
  end
  if type(business.faq) == "table" then
    local options, answers = {}, {}
    for i, f in ipairs(business.faq) do
      local asks = type(f) == "table" and f.asks
      if type(f) == "table" and type(f.answer) == "string" and type(asks) == "table" and #asks > 0 then
        options[#options + 1] = { id = i, names = asks }
        answers[i] = f.answer
      end
    end
    if #options > 0 then
      fuzzy.seal(options)                      -- built here, never changed
      lex.faq = function(text)
        local id = fuzzy.best(text, options, { min_score = 0.85 })
        return id and answers[id] or nil
      end
    end
  end
  if type(business.intents) == "table" then
    for name, phrases in pairs(business.intents) do
      lex.intents[name] = list_of(phrases, "business.intents." .. tostring(name))
    end
  end
  if type(business.question_words) == "table" then
    lex.question_words = {}
    for _, w in ipairs(business.question_words) do lex.question_words[w:lower()] = true end
  end
  return lex
end

function M.of(t)
  local lex = built[t]
  if lex then return lex end
  lex = build(t.settings and t.settings.business)
  built[t] = lex
  return lex
end

return M
