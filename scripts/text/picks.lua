--- text.picks: how a customer answers "which one?" without naming an
--- option: "any of them" ("cualquiera", "me da igual", "koi bhi") or a
--- number in words ("el dos", "la segunda", "option 3"). Reached through
--- text.extract; the rules are in docs/language.md.
--
--   picks.any(text)    -> true | false
--       true when the message says the customer has no preference; a
--       message that negates it ("no cualquiera", "not anyone") is false
--   picks.number(text) -> n | nil
--       the number a short message picks: "2", "2.", "dos", "el 2",
--       "la dos", "opción 3", "la segunda", "1ro", "the second one";
--       nil when the message says anything else
--
-- Words are looked up with accents folded ("opción" is "opcion"). Linear in
-- the length of the text; pure; neither yields.
local words = require "text.words"

local M = {}

local type, ipairs, tonumber = type, ipairs, tonumber
local fold = words.fold

-- phrases meaning "no preference" (folded, lowercase), any language
local ANY = {}
for p in ([[cualquiera, cualquier, cualquiera esta bien, me da igual, da igual, me es igual, quien sea,
  con quien sea, el que sea, la que sea, lo que sea, el que tenga lugar, la que tenga lugar,
  no importa, sin preferencia, no tengo preferencia, el que este libre, la que este libre,
  anyone, anybody, any one, whoever, whichever, any of them, either, either one, doesnt matter,
  does not matter, no preference, dont mind, i dont mind, anyone is fine, any is fine,
  koi bhi, koi bhi chalega, kisi se bhi, kisi ke saath bhi]]):gmatch("[^,]+") do
  local seq = {}
  for w in p:gmatch("%S+") do seq[#seq + 1] = w end
  ANY[seq[1]] = ANY[seq[1]] or {}
  table.insert(ANY[seq[1]], seq)
end
local NOT = words.set("no not nunca never")
local LOOK = 10                                    -- words read from the start

local function seq_at(toks, i, seq)
  for k = 1, #seq do
    local t = toks[i + k - 1]
    if not t or fold(t.w) ~= seq[k] then return false end
  end
  return true
end

function M.any(text)
  if type(text) ~= "string" then error("extract.any: text must be a string", 2) end
  local toks = words.cached(text)
  for i = 1, math.min(#toks, LOOK) do
    for _, seq in ipairs(ANY[fold(toks[i].w)] or {}) do
      if seq_at(toks, i, seq) then
        return not (toks[i - 1] and NOT[toks[i - 1].w] and seq[1] ~= "no")
      end
    end
  end
  return false
end

local NUMBER_WORDS = {
  uno = 1, una = 1, un = 1, dos = 2, tres = 3, cuatro = 4, cinco = 5, seis = 6, siete = 7, ocho = 8,
  nueve = 9, diez = 10,
  one = 1, two = 2, three = 3, four = 4, five = 5, six = 6, seven = 7, eight = 8, nine = 9, ten = 10,
  primero = 1, primera = 1, primer = 1, segundo = 2, segunda = 2, tercero = 3, tercera = 3, tercer = 3,
  cuarta = 4, quinto = 5, quinta = 5,
  first = 1, second = 2, third = 3, fourth = 4, fifth = 5,
}
-- words around the number that say nothing more ("el", "option", "please")
local AROUND = words.set([[el la los las lo opcion numero num option number nr the one please pls plz
  por favor porfa quiero want i take]])

function M.number(text)
  if type(text) ~= "string" then error("extract.number: text must be a string", 2) end
  local toks = words.cached(text)
  if #toks > 6 then return nil end
  local n
  for i, t in ipairs(toks) do
    local w = fold(t.w)
    local k = (t.digits and tonumber(w)) or NUMBER_WORDS[w]
    local d, suffix = w:match("^(%d+)(%a+)$")             -- 1ro, 2da, 3er, 2nd
    if d and (suffix == "ro" or suffix == "ra" or suffix == "o" or suffix == "a" or suffix == "do"
              or suffix == "da" or suffix == "er" or suffix == "st" or suffix == "nd" or suffix == "rd"
              or suffix == "th") then
      k = tonumber(d)
    end
    if k and (n == nil or (w == "one" and i > 1)) then
      if n == nil then n = k end                          -- "the second one": one says nothing
    elseif k or not AROUND[w] then
      return nil
    end
  end
  return n
end

return M
