-- How each rep sells: when the assistant follows up a quiet prospect, how
-- much discount it may talk about before the rep takes over, and what makes
-- a prospect worth a call (BANT). Keyed by rep id; `default` for the rest.
return {
  default = {
    follow_ups = { 24 * 3600, 3 * 24 * 3600 },   -- 24 h after the last question, then 3 days later
    max_discount = 0,                              -- any discount talk goes to the rep
    min_budget = 1000,                             -- USD: below it the budget does not count
    max_months = 6,                                -- a timeline further out does not count
    call_at = 3,                                   -- BANT points (of 4) that earn a call
    -- what an LLM-written answer must keep to (answer.lua); the tone rules repair the rest
    voice = { max_sentences = 3, forbid = { "ты", "тебе", "тебя", "твой", "твоя", "твои" } },
  },
  -- words that hand the prospect to the rep in any language (small letters)
  call_me = { "call me", "позвоните", "позвони мне", "перезвоните", "поговорить с человеком",
              "живой человек", "с менеджером" },
  anna = { follow_ups = { 24 * 3600, 3 * 24 * 3600 }, max_discount = 10 },
  ben = { follow_ups = { 12 * 3600, 2 * 24 * 3600 }, max_discount = 0, min_budget = 5000,
          voice = { max_sentences = 2, forbid = { "ты", "тебе", "тебя", "твой", "твоя", "твои" } } },
}
