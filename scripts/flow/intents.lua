--- flow.intents: what a customer can ask for in any state (cancel, start
--- over, talk to a human, help, reschedule, price), recognised by phrases in
--- English, romanized Hindi and Spanish (Mexico), with typo tolerance;
--- accents never matter ("cuánto" is "cuanto": words.fold on both sides).
--
--   intents.detect(text, extra?) -> name | nil
--       extra: {name = {phrase, ...}} a tenant's own phrases (business.intents)
--       on top of the built-in ones. A side question (help, price) is not
--       read in a message that says no ("no add-ons please", "no extras").
--       SHORT phrases ("ya no", "con alguien") count only in a message of
--       at most four words: "ya no puedo el jueves" moves, it does not cancel.
--   intents.resumes(text, extra?) -> true when a handed-off customer wants
--       the bot back ("continue", "bot", "go on with the booking")
--   intents.consumes(name) -> false for side questions (help, price): the
--       current question is asked again
--   intents.default(name) -> fn(c) used when the flow does not handle it
local fuzzy = require "text.fuzzy"
local extract = require "text.extract"
local fold = require("text.words").fold

local M = {}

local PHRASES = {
  cancel = { "cancel", "cancel it", "stop", "quit", "exit", "band karo", "rehne do", "mat karo" },
  restart = { "start over", "restart", "start again", "begin again", "from scratch", "new booking",
              "reset", "phir se", "shuru se" },
  human = { "human", "agent", "real person", "talk to a person", "talk to someone", "speak to someone",
            "customer care", "customer service", "representative", "call me", "manager", "insaan" },
  help = { "help", "what can you do", "how does this work", "madad" },
  reschedule = { "reschedule", "change my booking", "move my booking", "change my appointment",
                 "move my appointment", "postpone", "prepone", "different time for my booking" },
  price = { "price", "prices", "price list", "cost", "costs", "how much", "rate", "rates", "charges",
            "charge", "kitna", "kitne", "kya rate", "add-ons", "addons", "extras", "discount" },
}
-- Spanish (Mexico), written without accents (messages are folded before matching)
local ES = {
  cancel = { "cancelar", "cancela", "cancelo", "cancelala", "cancelar mi cita", "cancela mi cita",
             "cancelar la cita", "cancelar cita", "anular mi cita", "ya no voy a ir", "ya no puedo ir" },
  restart = { "empezar de nuevo", "empezar otra vez", "comenzar de nuevo", "volver a empezar",
              "desde el principio", "reiniciar", "nueva cita" },
  human = { "quiero hablar con una persona", "hablar con una persona", "persona real", "con un humano",
            "hablar con alguien", "hablar con la duena", "hablar con el dueno", "con el encargado",
            "con la encargada", "un asesor", "atencion al cliente", "hablar con un agente" },
  help = { "ayuda", "ayudame", "necesito ayuda", "que puedes hacer", "como funciona" },
  reschedule = { "reagendar", "reprogramar", "cambiar mi cita", "cambiar la cita", "mover mi cita",
                 "mover la cita", "recorrer mi cita", "posponer mi cita", "cambiar la hora de mi cita" },
  price = { "cuanto cuesta", "cuanto cuestan", "cuanto sale", "cuanto cobran", "cuanto es", "precio",
            "precios", "lista de precios", "costo", "costos", "tarifa", "tarifas" },
}
for name, list in pairs(ES) do
  for _, p in ipairs(list) do table.insert(PHRASES[name], p) end
end
-- phrases that are a command only as (nearly) the whole message
local SHORT = {
  cancel = { "ya no", "ya no quiero", "ya no gracias" },
  human = { "con alguien", "alguien", "una persona", "con una persona", "con la duena", "con el dueno",
            "la duena", "el dueno", "humano" },
}
local SHORT_WORDS = 4

local RESUME = { "continue", "bot", "resume", "go on", "carry on", "continue booking", "back to booking",
                 "continue with the booking", "aage badho", "chalo aage", "jari rakho",
                 "continuar", "seguir", "sigamos", "continuemos", "seguir con la cita", "volver al bot",
                 "regresar al bot" }

local function folded(list)
  local out = {}
  for i, p in ipairs(list) do out[i] = fold(p) end
  return out
end

-- the option list of the built-in phrases plus extra (kept per extra table)
local function options_of(extra)
  local out = {}
  for name, names in pairs(PHRASES) do
    local all = names
    if extra and extra[name] then
      all = { unpack(names) }
      for _, p in ipairs(extra[name]) do all[#all + 1] = fold(p) end
    end
    out[#out + 1] = { id = name, names = all }
  end
  if extra then
    for name, names in pairs(extra) do
      if not PHRASES[name] and name ~= "resume" then out[#out + 1] = { id = name, names = folded(names) } end
    end
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return fuzzy.seal(out)                       -- built here, never changed
end

local OPTIONS = options_of(nil)
local SHORT_OPTIONS = {}
for name, names in pairs(SHORT) do SHORT_OPTIONS[#SHORT_OPTIONS + 1] = { id = name, names = names } end
table.sort(SHORT_OPTIONS, function(a, b) return a.id < b.id end)
fuzzy.seal(SHORT_OPTIONS)
local for_extra = setmetatable({}, { __mode = "k" })

local SIDE = { help = true, price = true }

function M.detect(text, extra)
  if type(text) ~= "string" or text == "" then return nil end
  local options = OPTIONS
  if extra then
    options = for_extra[extra]
    if not options then options = options_of(extra); for_extra[extra] = options end
  end
  -- a long message that only mentions "cost" somewhere is still a question
  -- about price; commands must be most of a short message
  text = fold(text)
  local words = select(2, text:gsub("%S+", ""))
  local id, score = fuzzy.best(text, options, { min_score = 0.85 })
  if not id and words <= SHORT_WORDS then id, score = fuzzy.best(text, SHORT_OPTIONS, { min_score = 0.85 }) end
  if not id then return nil end
  if not SIDE[id] then
    if words > 8 and score < 1 then return nil end
  elseif extract.yes_no(text) == false then
    return nil                                     -- "no add-ons please" answers, it does not ask
  end
  return id
end

local RESUME_OPTIONS = fuzzy.seal{ { id = "resume", names = RESUME } }
local resume_for = setmetatable({}, { __mode = "k" })

function M.resumes(text, extra)
  if type(text) ~= "string" or text == "" then return false end
  local options = RESUME_OPTIONS
  if extra and extra.resume then
    options = resume_for[extra]
    if not options then
      local names = { unpack(RESUME) }
      for _, p in ipairs(extra.resume) do names[#names + 1] = fold(p) end
      options = fuzzy.seal{ { id = "resume", names = names } }
      resume_for[extra] = options
    end
  end
  local words = select(2, text:gsub("%S+", ""))
  return words <= 6 and fuzzy.best(fold(text), options, { min_score = 0.85 }) ~= nil
end

function M.consumes(name) return not SIDE[name] end

local DEFAULTS = {
  cancel = function(c)
    if c.t.flow.states.cancelled then c:go("cancelled") else c:say("not_understood") end
  end,
  restart = function(c)
    for k in pairs(c.slots) do c.slots[k] = nil end
    c:go(c.t.flow.start)
  end,
  human = function(c)
    c:handoff("asked")
    c.quiet = true
    c:say(c.t.catalog:has("handoff_asked") and "handoff_asked" or "handoff")
  end,
  help = function(c)
    if c.t.catalog:has("help") then c:say("help") end
  end,
  reschedule = function(c) c:say("not_understood") end,
  price = function(c)
    if c.t.catalog:has("prices") then c:say("prices") end
  end,
}

function M.default(name) return DEFAULTS[name] end

return M
