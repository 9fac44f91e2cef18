--- text.question: is a message a question ("where are you located?",
--- "do you do ceramic", "kitna lagega") rather than an answer ("tomorrow?",
--- "Rahul")?
--
--   question.is(text, extra?) -> true | false
--       extra: {word = true} of more words that open a question (a
--       tenant's own, e.g. Spanish "donde"), or nil
--
-- A question opens with a question word ("what", "where", "kya", "kab"...),
-- or with an auxiliary followed by a person or thing ("do you", "can u",
-- "is there", "are you"); greetings and fillers before it are skipped
-- ("hi, what are your timings"). A message ending in "?" is a question only
-- when one of those words is among its first words: "tomorrow at 5?" and
-- "foam?" are answers. Linear in the length of the text; pure.
--
-- Spanish: an accented question word opens a question ("qué", "cuándo",
-- "dónde", "cuánto", "cómo", "quién", "cuál"), and so do "donde", "cuanto",
-- "cual" and a verb that asks ("tienen", "hay", "aceptan", "abren"...).
-- "que", "cuando", "como" and "quien" without the accent open one only in a
-- marked message ("¿" or a final "?"): "como a las 5" and "quien sea" are
-- answers. "¿" marks a message as "?" does ("¿mañana a las 5?" is an answer).
local words = require "text.words"

local M = {}

local find, type = string.find, type

local OPENERS = words.set([[what whats wat wht which where wheres when whens why who whos how hows
  kya kyaa kab kahan kahaan kaha kaise kaisa kitna kitne kitni kaun kyun kyu kidhar
  क्या कब कहाँ कहां कैसे कितना कितने कितनी कौन क्यों
  qué cuándo dónde cuánto cuánta cuántos cuántas cómo quién quiénes cuál cuáles
  donde cuanto cuanta cuantos cuantas cual cuales porque
  tienen hay aceptan abren cierran hacen manejan cobran atienden trabajan]])
-- open a question only in a message marked with "¿" or a final "?"
local MARKED_OPENERS = words.set("que cuando como quien quienes puedo pueden podrian")
local AUX = words.set("do does did can could will would should shall is are am was were may might have has")
local SUBJECTS = words.set("you u ya ye yall we i it its there this that these those they your ur the my any")
local SKIP = words.set([[hi hii hello hey hlo ok okay so and but also oh um hmm sir bhai ji please pls plz btw just
  hola buenas buenos buen dia dias días tardes noches oye oiga disculpa disculpe perdon perdón una pregunta y
  pero oigan y este eh mmm a para por de en]])

local LOOK = 6                                     -- words read from the start

local function opens(toks, i, extra, marked)
  local t = toks[i]
  if not t then return false end
  if OPENERS[t.w] or (extra and extra[t.w]) then return true end
  if marked and MARKED_OPENERS[t.w] then return true end
  return AUX[t.w] ~= nil and toks[i + 1] ~= nil and SUBJECTS[toks[i + 1].w] ~= nil
end

function M.is(text, extra)
  if type(text) ~= "string" then error("question.is: text must be a string", 2) end
  local toks = words.cached(text)
  local i = 1
  while toks[i] and SKIP[toks[i].w] and i < LOOK do i = i + 1 end
  local marked = find(text, "%?%s*$") or find(text, "\194\191", 1, true)       -- "?" at the end, or "¿"
  if opens(toks, i, extra, marked) then return true end
  if not marked then return false end
  for k = i + 1, math.min(#toks, LOOK) do
    if opens(toks, k, extra, marked) then return true end
  end
  return false
end

return M
