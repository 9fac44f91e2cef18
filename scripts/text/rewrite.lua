--- text.rewrite: whole-word replacements for the tone rules "replace" and
--- "formal".
--
--   rewrite.words(map) -> fn(text) -> text
--       map = {from = "to", ...}: whole words or phrases, matched in any case
--       (spaces in a key match any run of white space), in one pass, longest
--       key first, so replacements never chain. ALL CAPS stay caps, a capital
--       first letter stays capital.
--   rewrite.formal(lang) -> fn(text) -> text      lang: "en" | "hi" | "ru"
--       "en": hey -> hello, gonna -> going to, yeah -> yes ...; "hi": those
--       plus tum -> aap, tumhara -> aapka, karo -> kijiye, तुम -> आप ...
--
-- Time is linear in the length of the text (only the keys that start with
-- the letter at hand are tried there). Pure.
local words = require "text.words"

local M = {}

local find, sub, lower, upper, gsub, concat, byte = string.find, string.sub, string.lower, string.upper,
                                                    string.gsub, table.concat, string.byte
local word_byte_at = words.word_byte_at

function M.words(map)
  local entries = {}
  for from, to in pairs(map) do
    local key = lower(from):gsub("^%s+", ""):gsub("%s+$", "")
    local pat = "^" .. key:gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"):gsub("%s+", "%%s+")
    entries[#entries + 1] = { key = key, pat = pat, to = to }
  end
  table.sort(entries, function(a, b) return #a.key > #b.key or (#a.key == #b.key and a.key < b.key) end)
  local by_byte = {}                              -- the entries by their first byte, in that order
  for _, e in ipairs(entries) do
    local b = byte(e.key, 1)
    if b then
      by_byte[b] = by_byte[b] or {}
      table.insert(by_byte[b], e)
    end
  end
  return function(text)
    local lowered, out, i, n = lower(text), {}, 1, #text
    while i <= n do
      local done = false
      local cands = by_byte[byte(lowered, i)]
      if cands and not word_byte_at(text, i - 1) then
        for _, e in ipairs(cands) do
          local a, b = find(lowered, e.pat, i)
          if a and not word_byte_at(text, b + 1) then
            local orig, to = sub(text, a, b), e.to
            if find(orig, "%a%a") and not find(orig, "%l") then to = upper(to)
            elseif find(orig, "^%u") then to = gsub(to, "^%l", upper) end
            out[#out + 1] = to
            i, done = b + 1, true
            break
          end
        end
      end
      if not done then
        out[#out + 1] = sub(text, i, i)
        i = i + 1
      end
    end
    return concat(out)
  end
end

local FORMAL_EN = {
  hey = "hello", ["hey there"] = "hello", hiya = "hello", ["you guys"] = "you", ["u guys"] = "you",
  gonna = "going to", wanna = "want to", gotta = "have to", kinda = "kind of", sorta = "sort of",
  gimme = "give me", lemme = "let me", dunno = "don't know", yeah = "yes", yep = "yes", yup = "yes",
  nope = "no", nah = "no", thx = "thanks", thanx = "thanks", pls = "please", plz = "please",
  u = "you", ur = "your", coz = "because", cuz = "because", btw = "by the way",
}
local FORMAL_HI = {
  tum = "aap", tumhara = "aapka", tumhari = "aapki", tumhare = "aapke", tumhe = "aapko",
  tumhein = "aapko", tumko = "aapko", tujhe = "aapko", tu = "aap", tera = "aapka", teri = "aapki",
  tere = "aapke", ["tum ho"] = "aap hain", karo = "kijiye", batao = "bataiye", bhejo = "bhejiye",
  ruko = "rukiye", dekho = "dekhiye", aao = "aaiye", bolo = "boliye", suno = "suniye",
  ["तुम"] = "आप", ["तुम्हारा"] = "आपका", ["तुम्हारी"] = "आपकी", ["तुम्हारे"] = "आपके",
  ["तुम्हें"] = "आपको", ["तुमको"] = "आपको", ["तू"] = "आप", ["तेरा"] = "आपका", ["करो"] = "कीजिए",
  ["बताओ"] = "बताइए",
}
for k, v in pairs(FORMAL_EN) do FORMAL_HI[k] = FORMAL_HI[k] or v end
-- Russian to one person in writing: the formal "Вы", capitalised, in every
-- form, and "ты" in its forms turned into it (verbs are left as they are:
-- write them formally in the texts). Cyrillic has no case folding here, so
-- both cases are listed.
local FORMAL_RU = {}
local RU = {
  ["вы"] = "Вы", ["вас"] = "Вас", ["вам"] = "Вам", ["вами"] = "Вами", ["ваш"] = "Ваш", ["ваша"] = "Ваша",
  ["ваше"] = "Ваше", ["ваши"] = "Ваши", ["вашего"] = "Вашего", ["вашей"] = "Вашей", ["вашему"] = "Вашему",
  ["вашим"] = "Вашим", ["вашими"] = "Вашими", ["ваших"] = "Ваших", ["вашу"] = "Вашу",
  ["ты"] = "Вы", ["тебя"] = "Вас", ["тебе"] = "Вам", ["тобой"] = "Вами", ["твой"] = "Ваш", ["твоя"] = "Ваша",
  ["твоё"] = "Ваше", ["твое"] = "Ваше", ["твои"] = "Ваши", ["твоего"] = "Вашего", ["твоей"] = "Вашей",
  ["твоему"] = "Вашему", ["твоим"] = "Вашим", ["твоих"] = "Ваших", ["твою"] = "Вашу",
}
local CAP = { ["т"] = "Т", ["в"] = "В" }
for from, to in pairs(RU) do
  FORMAL_RU[from] = to
  local first = from:sub(1, 2)                                   -- one Cyrillic letter, two bytes
  FORMAL_RU[CAP[first] .. from:sub(3)] = to
end
local FORMAL = { en = M.words(FORMAL_EN), hi = M.words(FORMAL_HI), ru = M.words(FORMAL_RU) }

function M.formal(lang)
  local fn = FORMAL[lang]
  if not fn then error("rewrite.formal: lang must be \"en\", \"hi\" or \"ru\"", 2) end
  return fn
end

return M
