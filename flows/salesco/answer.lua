-- Answers a prospect's question with the LLM, from the knowledge topics the
-- question is about, in the rep's voice. Every answer is checked against
-- the voice rules (playbook.lua, `voice`) before it may be said: what the
-- tone rules repair (em-dashes, emoji, too many sentences) is repaired when
-- it is said; what they cannot (the informal Russian "ты") makes the LLM
-- write it again, once; an answer still wrong, or no answer in time, is
-- never sent (the caller falls back to its rules).
local bant = use "bant"
-- the knowledge base: flows/salesco/knowledge/*.md, one topic a file (flow.knowledge)
local knowledge = tenant.knowledge or {}

local M = {}

local DEADLINE = 4             -- seconds for all the LLM's attempts of one turn

local OPENERS = { "how", "what", "which", "do", "does", "can", "is", "are", "will", "сколько", "как", "что",
                  "есть", "можно" }

--- Whether a message asks something ("?" or a question word first)
function M.is_question(text)
  if text:find("?", 1, true) then return true end
  local first = bant.lower(text):match("^%s*([^%s%p]+)")
  for _, w in ipairs(OPENERS) do if first == w then return true end end
  return false
end

--- The topics a message is about -> list of topics (maybe empty)
function M.topics(text)
  local s, out = bant.lower(text), {}
  for _, t in ipairs(knowledge) do
    for _, w in ipairs(t.words) do
      if s:find(w, 1, true) then out[#out + 1] = t; break end
    end
  end
  return out
end

--- What in text breaks the voice rules -> list of {rule, repairable}
function M.violations(text, voice)
  local out = {}
  local s = " " .. bant.lower(text) .. " "
  for _, w in ipairs(voice.forbid or {}) do
    if s:find("[%s%p]" .. w .. "[%s%p]") then out[#out + 1] = { rule = "forbidden word " .. w } end
  end
  if text:find("\226\128\148", 1, true) or text:find("\226\128\147", 1, true) then
    out[#out + 1] = { rule = "em-dash", repairable = true }
  end
  local _, n = text:gsub("[%.!?]+%s", "")
  if n + 1 > voice.max_sentences then out[#out + 1] = { rule = "too long", repairable = true } end
  return out
end

local function unrepairable(v)
  for _, x in ipairs(v) do if not x.repairable then return true end end
  return false
end

local function system(rep, topics, voice, again)
  local facts = {}
  for i, t in ipairs(topics) do facts[i] = t.text end
  return table.concat({
    ("You write Telegram replies for %s to a prospect."):format(rep),
    ("Reply in at most %d short sentences, in the prospect's language, without dashes or emoji."):format(voice.max_sentences),
    "In Russian always use the formal Вы, capitalised, never ты.",
    "Use only these facts; if they do not answer the question, say the rep will answer it on a call.",
    table.concat(facts, "\n"),
    again and "Your last reply broke these rules; write it again following them." or nil,
  }, "\n")
end

--- -> the answer text | nil, why ("no llm", "no topic", "llm failed", "voice")
function M.ask(c, text, voice)
  local llm = c:llm()
  if not llm then return nil, "no llm" end
  local topics = M.topics(text)
  if #topics == 0 then return nil, "no topic" end
  local deadline = c:now() + DEADLINE
  for attempt = 1, 2 do
    local r, err = llm:chat{ system = system(c.tenant.name, topics, voice, attempt > 1),
                             messages = { { role = "user", content = text } }, deadline = deadline }
    if not r or type(r.text) ~= "string" or r.text == "" then return nil, "llm failed: " .. tostring(err) end
    if not unrepairable(M.violations(r.text, voice)) then return r.text end
  end
  return nil, "voice"
end

return M
