--- text.sentiment: how angry, bored and interested one message reads, from
--- word lists (English, romanized Hindi, some Devanagari and emoji).
--
--   sentiment.score(text) -> {anger = 0..10, boredom = 0..10, interest = 0..10}
--       (numbers with one decimal)
--   sentiment.disengage(scores, thresholds?) -> "angry" | "bored" | nil
--       thresholds default {anger = 7, boredom = 8}; anger is checked first.
--
-- How a score is built, word by word (phrases such as "fed up", "leave it",
-- "not interested", "rehne do" count as one word):
--   * each listed word adds its weight to one or more of the three scores;
--     profanity adds 5 to anger;
--   * an intensifier just before ("very", "so", "too", "really", "bahut",
--     "ekdum") or a stretched spelling ("sooo", "worsttt") multiplies it by 1.5
--     (1.3 for stretching);
--   * a negation within two words before ("not", "never", "don't", "mat") or
--     just after ("nahi") turns it around: "not bad" adds 1 interest instead
--     of anger, "not happy" adds 3 anger, "don't want" adds boredom;
--   * k, kk, hmm, bas, later, busy, stop, enough and skip count only in a
--     message of up to three words; email addresses and links are left out;
--   * then for the whole message: shouting (at least 6 letters, 70% or more
--     of them capitals, two words or more) makes anger x1.5 + 1; "!!" or more
--     makes anger x1.3 (when there is any); "???" adds 1 anger; a message of
--     one or two words makes boredom x1.5 ("k", "whatever", "leave it").
-- Scores are capped at 10. Time is linear in the length of the text. Pure;
-- none of these yield.
local words = require "text.words"
local utf8 = require "text.utf8"

local M = {}

local lower, find, sub, gsub, byte, floor, type, ipairs = string.lower, string.find, string.sub, string.gsub, string.byte, math.floor, type, ipairs
local squeeze = words.squeeze

-- entries: "word or phrase" = {anger, boredom, interest}
local LEX = {}
local function add(list, a, b, i)
  for item in list:gmatch("[^,]+") do
    item = item:gsub("^%s+", ""):gsub("%s+$", "")
    LEX[item] = { a, b, i }
  end
end

-- anger
add("worst, pathetic, useless, horrible, terrible, disgusting, ridiculous, nonsense, rubbish, fraud, " ..
    "scam, cheat, cheated, cheating, cheater, liar, liars, hate, unacceptable, shameful, fed up, " ..
    "what the hell, how many times, bakwas, bekar, bekaar, ghatiya, dhokha, chor, kya bakwas, " ..
    "kitni baar, bhaad mein, बकवास, बेकार, घटिया, धोखा", 4, 0, 0)
add("angry, stupid, pagal, bewakoof, gussa, still waiting, again and again, no response, idiot, faltu, " ..
    "loot, looted, गुस्सा, waste of time", 3, 0, 0)
add("annoyed, annoying, irritated, irritating, frustrated, frustrating, upset, disappointed, " ..
    "disappointing, poor, bad, slow, late, delay, delayed, rude, waste, wasted, nobody, no one, " ..
    "not working, complaint, complain, refund, pareshan, kab tak, परेशान, bloody, damn, crap", 2, 0, 0)
-- profanity
add("fuck, fucking, fucked, fck, fuk, fking, wtf, shit, shitty, bullshit, bastard, asshole, bitch, " ..
    "stfu, bc, mc, bsdk, bkl, chutiya, chutiye, madarchod, behenchod, bhenchod, gandu, harami, " ..
    "haramkhor, kamina, kameena, kutta, kutte, bhosdike, lodu, lavde, lawde, saala, sala, " ..
    "चूतिया, हरामी, कमीना", 5, 0, 0)
-- boredom
add("leave it, forget it, not interested, no interest, interest nahi, chhodo, chodo, chhod do, " ..
    "chod do, rehne do, rehne de, rahne do, jane do, jaane do, जाने दो, रहने दो, छोड़ो", 0, 8, 0)
add("unsubscribe, stop messaging, stop texting, dont message, dont text, stop sending", 0, 9, 0)
add("whatever, too many questions, so many questions, dont care, who cares", 0, 6, 0)
add("k, kk, nvm, nevermind, never mind, boring, bored, nahi chahiye", 0, 5, 0)
add("idk, meh, i dont know, dont know, bas, stop, enough, maybe later, not now, dont want", 0, 4, 0)
add("bye, busy, skip, later, some other time, dont need", 0, 3, 0)
add("hmm, hm, hmmm", 0, 2, 0)
-- interest
add("interested, excited, cant wait, very good, awesome, excellent, perfect, love, great, badhiya, " ..
    "mast, zaroor, sounds good, how much, kitna, kitne ka, chahiye, karna hai, karwana hai, " ..
    "want, need, book, booking, price, cost, available, availability, slot, appointment, चाहिए", 0, 0, 2)
add("please, pls, thanks, thank you, good, nice, sure, yes, wash, service, detailing, polish, rate, " ..
    "schedule, when, batao, accha, acha, dhanyavaad, shukriya, धन्यवाद, happy, satisfied, helpful, " ..
    "professional, polite, clean, acceptable, fine", 0, 0, 1)
add("working", 0, 0, 0)
-- Spanish (Mexico), with and without accents; "me da igual" and "cualquiera" are answers, not boredom
add("pésimo, pesimo, pésima, pesima, fraude, estafa, rateros, una vergüenza, una verguenza, estoy harta, " ..
    "estoy harto, que mal servicio, qué mal servicio", 4, 0, 0)
add("enojada, enojado, sigo esperando, nadie contesta, nadie responde", 3, 0, 0)
add("molesta, molesto, mal servicio, grosera, grosero, queja, reembolso, tardan mucho", 2, 0, 0)
add("pendejo, pendeja, pendejos, chingada, chingado, verga, mierda, puta, puto, cabrón, cabron, culero, " ..
    "culeros", 5, 0, 0)
add("olvídalo, olvidalo, déjalo, dejalo, no me interesa, ya no me interesa", 0, 8, 0)
add("dejen de escribir, ya no me escriban, no me escriban", 0, 9, 0)
add("quiero, necesito, cita, precio, disponible, agendar, reservar", 0, 0, 2)
add("por favor, gracias, muchas gracias, perfecto, corte, tinte", 0, 0, 1)

-- feelings that turn into anger when negated ("not happy")
local FEELING = words.set([[good happy satisfied great nice helpful fine professional working clean
  acceptable polite accha acha]])

-- emoji: UTF-8 bytes -> {anger, boredom, interest}
local EMOJI = {
  ["\240\159\152\161"] = { 3, 0, 0 }, ["\240\159\164\172"] = { 5, 0, 0 }, ["\240\159\152\160"] = { 3, 0, 0 }, -- 😡 🤬 😠
  ["\240\159\145\191"] = { 2, 0, 0 }, ["\240\159\152\164"] = { 2, 0, 0 },                                    -- 👿 😤
  ["\240\159\153\132"] = { 1, 2, 0 }, ["\240\159\152\146"] = { 0, 2, 0 },                                    -- 🙄 😒
  ["\240\159\152\180"] = { 0, 3, 0 }, ["\240\159\165\177"] = { 0, 3, 0 },                                    -- 😴 🥱
  ["\240\159\145\141"] = { 0, 0, 1 }, ["\240\159\152\138"] = { 0, 0, 1 }, ["\240\159\153\130"] = { 0, 0, 1 }, -- 👍 😊 🙂
  ["\240\159\152\128"] = { 0, 0, 1 }, ["\240\159\152\141"] = { 0, 0, 2 }, ["\240\159\153\143"] = { 0, 0, 1 }, -- 😀 😍 🙏
  ["\226\157\164"] = { 0, 0, 2 },                                                                            -- ❤
}

-- replies that show boredom only as (nearly) the whole message
local SHORT_ONLY = words.set("k kk hmm hm hmmm bas later busy stop enough skip")

local INTENSIFIERS = words.set("very so too really extremely totally absolutely bahut bohot bahot ekdum super most such")
local NEGATORS = words.set("not no never dont didnt doesnt isnt wasnt arent cant wont mat")
local POST_NEGATORS = words.set("nahi nahin nhi नहीं")

-- phrases by their first word, longest first: {[word] = {{seq = words, key}, ...}}
local PHRASES = {}
do
  local list = {}
  for item in pairs(LEX) do
    if find(item, " ") then
      local seq = {}
      for w in item:gmatch("%S+") do seq[#seq + 1] = w end
      list[#list + 1] = { seq = seq, key = item }
    end
  end
  table.sort(list, function(a, b) return #a.seq > #b.seq or (#a.seq == #b.seq and a.key < b.key) end)
  for _, p in ipairs(list) do
    local first = p.seq[1]
    PHRASES[first] = PHRASES[first] or {}
    table.insert(PHRASES[first], p)
  end
end

local function phrase_at(toks, i)
  local cands = PHRASES[toks[i].w]
  if not cands then return nil end
  for _, p in ipairs(cands) do
    local ok = true
    for k = 2, #p.seq do
      local t = toks[i + k - 1]
      if not t or t.w ~= p.seq[k] then ok = false; break end
    end
    if ok then return p.key, #p.seq end
  end
  return nil
end

-- a word with white space around it that is an address is no words: one
-- with an @ inside ("ankit.k@yahoo.in"), from letters and :// on
-- ("https://x.in/k"), from www. on. (As the patterns "%S+@%S+", "%a+://%S+"
-- and "www%.%S+" would replace it, without their backtracking.)
local function letter(b) return b and ((b >= 65 and b <= 90) or (b >= 97 and b <= 122)) end

local function unaddressed(word)
  local at = find(word, "@", 2, true)
  if at and at < #word then return " " end
  local head, tail = word, ""
  local sep = find(word, "://", 1, true)
  while sep do
    local a = sep
    while letter(byte(word, a - 1)) do a = a - 1 end
    if a < sep and sep + 3 <= #word then
      head, tail = sub(word, 1, a - 1), " "
      break
    end
    sep = find(word, "://", sep + 1, true)
  end
  local www = find(head, "www.", 1, true)
  if www and www + 4 <= #head then head = sub(head, 1, www - 1) .. " " end
  if head == word then return nil end
  return head .. tail
end

local function strip_addresses(text)
  if not (find(text, "@", 1, true) or find(text, "://", 1, true) or find(text, "www.", 1, true)) then
    return text
  end
  return (gsub(text, "%S+", unaddressed))
end

local function plain_gap(text, a, b) return not find(sub(text, a.e + 1, b.s - 1), "[,%.!%?;\n]") end

local function stretched(orig) return find(lower(orig), "(%a)%1%1") ~= nil end

local function round(x)
  if x > 10 then x = 10 end
  if x < 0 then x = 0 end
  return floor(x * 10 + 0.5) / 10
end

function M.score(text)
  if type(text) ~= "string" then error("sentiment.score: text must be a string", 2) end
  -- addresses are no words ("ankit.k@yahoo.in" holds a "k")
  text = strip_addresses(text)
  local toks = words.cached(text)
  local anger, boredom, interest = 0, 0, 0
  local i = 1
  while toks[i] do
    local t = toks[i]
    local key, len = phrase_at(toks, i)
    if not key then
      len = 1
      if LEX[t.w] then key = t.w
      elseif LEX[squeeze(t.w)] then key = squeeze(t.w) end
    end
    local e = key and LEX[key]
    if e and SHORT_ONLY[key] and #toks > 3 then e = nil end          -- "k" means something only alone
    if e then
      local factor = 1
      local prev = toks[i - 1]
      if prev and (INTENSIFIERS[prev.w] or INTENSIFIERS[squeeze(prev.w)]) and plain_gap(text, prev, t) then
        factor = 1.5
      end
      if stretched(sub(text, t.s, toks[i + len - 1].e)) then factor = factor * 1.3 end
      local negated = false
      for k = i - 1, math.max(1, i - 2), -1 do
        if NEGATORS[toks[k].w] and plain_gap(text, toks[k], t) then negated = true end
      end
      local nxt = toks[i + len]
      if nxt and POST_NEGATORS[nxt.w] and plain_gap(text, toks[i + len - 1], nxt) then negated = true end
      local a, b, n = e[1] * factor, e[2] * factor, e[3] * factor
      if negated and len == 1 then
        if a > 0 or b > 0 then a, b, n = 0, 0, 1                          -- "not bad"
        elseif FEELING[key] then a, n = 3 * factor, 0                     -- "not happy"
        else b, n = n, 0 end                                              -- "don't want"
      end
      anger, boredom, interest = anger + a, boredom + b, interest + n
    end
    i = i + len
  end
  -- emoji
  -- (an emoji starts at a non-ASCII byte, or is a keycap: # * 0-9)
  local p = find(text, "[#%*%d\128-\255]")
  while p do
    local stop = utf8.emoji_at(text, p)
    if stop then
      local cp_end = select(2, utf8.decode(text, p))
      local e = EMOJI[sub(text, p, cp_end - 1)]
      if e then anger, boredom, interest = anger + e[1], boredom + e[2], interest + e[3] end
      p = stop
    else
      p = select(2, utf8.decode(text, p))
    end
    p = find(text, "[#%*%d\128-\255]", p)
  end
  -- the whole message
  local upper_n, lower_n = select(2, gsub(text, "%u", "")), select(2, gsub(text, "%l", ""))
  if upper_n + lower_n >= 6 and upper_n >= 0.7 * (upper_n + lower_n) and #toks >= 2 then
    anger = anger * 1.5 + 1
  end
  if find(text, "!!") and anger > 0 then anger = anger * 1.3 end
  if find(text, "%?%?%?") then anger = anger + 1 end
  if #toks <= 2 then boredom = boredom * 1.5 end
  return { anger = round(anger), boredom = round(boredom), interest = round(interest) }
end

function M.disengage(scores, thresholds)
  if type(scores) ~= "table" or type(scores.anger) ~= "number" or type(scores.boredom) ~= "number" then
    error("sentiment.disengage: scores must be a table from sentiment.score", 2)
  end
  if thresholds ~= nil and type(thresholds) ~= "table" then
    error("sentiment.disengage: thresholds must be a table", 2)
  end
  local ta = thresholds and thresholds.anger or 7
  local tb = thresholds and thresholds.boredom or 8
  if type(ta) ~= "number" or type(tb) ~= "number" then
    error("sentiment.disengage: thresholds.anger and thresholds.boredom must be numbers", 2)
  end
  if scores.anger >= ta then return "angry" end
  if scores.boredom >= tb then return "bored" end
  return nil
end

return M
