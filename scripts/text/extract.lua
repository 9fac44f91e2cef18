--- text.extract: the facts a booking conversation needs, read from one
--- message. Rules, examples and limits: docs/language.md.
--
--   extract.phone_in(text)      -> "9876543210" | nil, "invalid" | nil
--   extract.plate_in(text)      -> "MH12AB1234" | nil, "invalid" | nil
--   extract.email(text)         -> "rahul@example.com" | nil
--   extract.name(text, opts?)   -> "Rahul Sharma" | nil          (opts.asked)
--   extract.date(text, opts)    -> "YYYY-MM-DD", matched | nil   (opts.now, opts.zone)
--   extract.time(text, opts?)   -> minutes after midnight, matched | nil
--                                  (opts.hours, opts.prefer: am or pm for "a las 5")
--   extract.daypart(text)       -> "morning" | "afternoon" | "evening" | nil
--   extract.yes_no(text, lang?) -> true | false | nil   (lang: "en" | "hi" | "es" | nil)
--   extract.any(text)           -> true | false   ("cualquiera", "anyone": no preference)
--   extract.number(text)        -> n | nil        ("2", "el dos", "la segunda", "option 3")
--   extract.correction(text)    -> true | false
--
-- Every function raises when text is not a string (or opts are malformed)
-- and returns nil when the message holds nothing of the kind. All are pure
-- and deterministic (the date needs now and zone passed in); each takes time
-- linear in the length of the text (a long message costs what its words
-- cost, never words times words); none yields; they may be called anywhere.
local ids = require "text.ids"
local names = require "text.names"
local dates = require "text.dates"
local clock = require "text.clock"
local words = require "text.words"
local fuzzy = require "text.fuzzy"
local picks = require "text.picks"

local M = {
  phone_in = ids.phone_in, plate_in = ids.plate_in, email = ids.email,
  name = names.name, date = dates.date, time = clock.time, daypart = clock.daypart,
  any = picks.any, number = picks.number,
}

local lower, gsub, find, type, ipairs = string.lower, string.gsub, string.find, type, ipairs
local cached, squeeze, fold = words.cached, words.squeeze, words.fold

-- ---- yes / no ----------------------------------------------------------------

-- [word] = {polarity, strength, lang}: polarity true (yes) / false (no);
-- "weak" words count only at the start of the message
local LEX = {}
local function lex(list, polarity, strength, lang)
  for w in list:gmatch("%S+") do LEX[w] = { polarity, strength, lang } end
end
lex("yes yeah yea yep yup yas ya yah ok okay okey okie okk sure confirm confirmed correct " ..
    "absolutely definitely perfect alright certainly affirmative", true, "strong", "en")
lex("right fine done cool great good y k kk", true, "weak", "en")
lex("no nope nah nay negative", false, "strong", "en")
lex("n never", false, "weak", "en")
lex("haan han haa hanji haanji theek thik bilkul chalega zaroor jaroor zarur हाँ हां ठीक बिल्कुल",
    true, "strong", "hi")
lex("ha ji accha acha achha जी", true, "weak", "hi")
lex("nahi nahin nai nhi nahii नहीं नही", false, "strong", "hi")
lex("na naa mat ना", false, "weak", "hi")
-- Spanish (Mexico), looked up without accents ("sí" is "si")
lex("si sii claro obvio confirmo confirmado confirmada", true, "strong", "es")
lex("va dale orale andale listo perfecto correcto exacto bueno sip", true, "weak", "es")
lex("nel nop nones", false, "strong", "es")
lex("tampoco", false, "weak", "es")
-- which words a lang reads (nil: every language)
local READS = { en = { en = true }, hi = { en = true, hi = true }, es = { es = true, en = true } }
local SQUEEZED = {}
for w, v in pairs(LEX) do
  local s = squeeze(w)
  if not LEX[s] and (SQUEEZED[s] == nil or SQUEEZED[s][1] == v[1]) then SQUEEZED[s] = v end
end
local FUZZY_STRONG = {}
for w, v in pairs(LEX) do
  -- short Spanish words stay exact: "claro" must not take "clara"
  if v[2] == "strong" and #w >= 4 and w:match("^%a+$") and (v[3] ~= "es" or #w >= 6) then FUZZY_STRONG[w] = v end
end
local fuzzy_strong = fuzzy.lookup_fn(FUZZY_STRONG)

-- phrases (word sequences): polarity, or "none" when they mean neither
local PHRASES = {}
local function phrase(list, polarity, lang)
  for p in list:gmatch("[^,]+") do
    local seq = {}
    for w in p:gmatch("%S+") do seq[#seq + 1] = w end
    PHRASES[#PHRASES + 1] = { seq = seq, polarity = polarity, lang = lang }
  end
end
phrase("yes please, of course, go ahead, sounds good, why not, no problem, no problems, no worries, " ..
       "no issue, no issues, thats right, thats correct, all right, all good, please do, do it, " ..
       "go for it, book it, sure thing", true, "en")
phrase("ji haan, haan ji, theek hai, thik hai, ho jayega, kar do, kardo, ठीक है, जी हाँ, जी हां", true, "hi")
phrase("no thanks, no thank you, not now, not really, not yet, not interested, do not, dont, no need, " ..
       "not needed, dont think so", false, "en")
phrase("nahi chahiye, mat karo, rehne do, nahi chaiye", false, "hi")
phrase("not sure, no idea, dont know, i dont know, idk, maybe, not certain", "none", "en")
phrase("pata nahi, pta nahi, shayad", "none", "hi")
phrase("si por favor, claro que si, por supuesto, de acuerdo, esta bien, me parece bien, va que va, asi es, " ..
       "sin problema, no hay problema, no hay bronca, con gusto, adelante, me late", true, "es")
phrase("no gracias, mejor no, para nada, ya no, no quiero, no puedo, todavia no, aun no, no por ahora, " ..
       "no me interesa, ahorita no", false, "es")
phrase("no se, no lo se, tal vez, quizas, quiza, a lo mejor, no estoy seguro, no estoy segura, puede ser",
       "none", "es")
table.sort(PHRASES, function(a, b) return #a.seq > #b.seq end)

-- a list of word sequences -> {[first word] = {seq, ...}} (in list order)
local function by_first(list)
  local out = {}
  for _, p in ipairs(list) do
    local first = (p.seq or p)[1]
    out[first] = out[first] or {}
    table.insert(out[first], p)
  end
  return out
end
local PHRASES_BY_FIRST = by_first(PHRASES)

local NEGATORS = words.set("not dont never")
local FILLERS = words.set("oh ohh ah um umm uh well sir madam maam bhai bro dear hmm hm pues este eh mmm oye oiga senorita joven")
local EMOJI_WORDS = { { "\240\159\145\141", " yes " }, { "\240\159\145\140", " yes " },   -- 👍 👌
                      { "\226\156\133", " yes " }, { "\226\156\148", " yes " },            -- ✅ ✔
                      { "\240\159\145\142", " no " }, { "\226\157\140", " no " } }         -- 👎 ❌

local function word_mark(w, lang)
  local sq = squeeze(w)
  local v = LEX[w] or LEX[sq] or SQUEEZED[sq]
  if not v then
    local f = fold(w)
    if f ~= w then v = LEX[f] end
  end
  if not v and #w >= 4 then v = fuzzy_strong(w) end
  if v and (lang == nil or READS[lang][v[3]]) then return v end
  return nil
end

local NONE = {}

local function seq_at(toks, i, seq)
  for k = 1, #seq do
    if not toks[i + k - 1] or fold(toks[i + k - 1].w) ~= seq[k] then return false end
  end
  return true
end

function M.yes_no(text, lang)
  if type(text) ~= "string" then error("extract.yes_no: text must be a string", 2) end
  if lang ~= nil and not READS[lang] then error("extract.yes_no: lang must be \"en\", \"hi\", \"es\" or nil", 2) end
  local s = lower(text)
  for _, e in ipairs(EMOJI_WORDS) do s = gsub(s, e[1], e[2]) end
  local toks = cached(s)
  local first = 1
  while toks[first] and FILLERS[fold(toks[first].w)] do first = first + 1 end
  if not toks[first] then return nil end
  -- a message of more than four words answers only with its first words
  -- (below), so only a mark there is looked for
  local long = #toks - first + 1 > 4
  -- marks: {at = token index, polarity = true/false/"none", strong = bool}
  local marks, i = {}, first
  while toks[i] do
    local hit
    for _, p in ipairs(PHRASES_BY_FIRST[fold(toks[i].w)] or NONE) do
      if (lang == nil or READS[lang][p.lang]) and seq_at(toks, i, p.seq) then
        hit = { at = i, polarity = p.polarity, strong = true, len = #p.seq }
        break
      end
    end
    if not hit then
      local v = word_mark(toks[i].w, lang)
      if v then hit = { at = i, polarity = v[1], strong = v[2] == "strong", len = 1 } end
      if NEGATORS[toks[i].w] and toks[i + 1] then                     -- "not ok", "not correct"
        local v2 = word_mark(toks[i + 1].w, lang)
        if v2 then
          local pol = "none"                                           -- "not no": neither
          if v2[1] then pol = false end
          hit = { at = i, polarity = pol, strong = true, len = 2 }
        end
      end
    end
    if hit then marks[#marks + 1] = hit; i = i + hit.len else i = i + 1 end
    if long then break end
  end
  local m = marks[1]
  -- a question is no answer ("is 3pm ok?"), unless it is only the answer word ("ok?")
  if find(text, "%?%s*$") and not (m and m.at == first and #toks - first + 1 <= m.len) then return nil end
  if m and m.at == first then                                          -- starts with it
    local m2 = marks[2]
    if not m.strong and m2 and m2.strong and m2.polarity ~= m.polarity and #toks - first < 4 then
      m = m2                                                           -- "ji nahi", "k no"
    end
    if m.polarity == "none" then return nil end
    return m.polarity
  end
  if #toks - first + 1 > 4 then return nil end                         -- long, and not at the start
  local answer
  for _, mk in ipairs(marks) do
    if mk.strong then
      if mk.polarity == "none" or (answer ~= nil and answer ~= mk.polarity) then return nil end
      answer = mk.polarity
    end
  end
  return answer
end

-- ---- corrections ---------------------------------------------------------------

local LEADING = words.set("oh ohh oops sorry sry please pls plz ok okay no nope nahi hey hi wait ah um hmm sir bhai")
local ANYWHERE = words.set("wrong galat incorrect mistake typo galti instead correction")
local AFTER_NO = words.set([[my its it the mera meri mere not that thats this actually sorry wrong
  today tomorrow kal aaj parso monday tuesday wednesday thursday friday saturday sunday
  morning evening afternoon]])
local OPENERS = { { "actually" }, { "matlab" }, { "mtlb" }, { "make", "it" }, { "update" }, { "change" },
                  { "i", "meant" }, { "i", "mean" }, { "scratch", "that" }, { "my", "bad" }, { "i", "said" } }
local PHRASES_ANYWHERE = { { "i", "meant" }, { "meant", "to", "say" }, { "or", "rather" }, { "change", "my" },
                           { "change", "the" }, { "change", "it" }, { "change", "to" }, { "change", "karo" },
                           { "change", "kar" }, { "badal", "do" }, { "update", "my" }, { "update", "the" },
                           { "correct", "one", "is" }, { "correct", "is" }, { "no", "no" }, { "nahi", "nahi" } }
local ANYWHERE_BY_FIRST = by_first(PHRASES_ANYWHERE)

local function has_digit(t) return t and t.w:find("%d") ~= nil end

function M.correction(text)
  if type(text) ~= "string" then error("extract.correction: text must be a string", 2) end
  local toks = cached(text)
  for i, t in ipairs(toks) do
    if ANYWHERE[t.w] then return true end
    for _, p in ipairs(ANYWHERE_BY_FIRST[t.w] or NONE) do if seq_at(toks, i, p) then return true end end
    -- "11 not 10", "friday not thursday"
    if t.w == "not" and i > 1 and toks[i + 1] and (has_digit(toks[i - 1]) or AFTER_NO[toks[i - 1].w])
       and (has_digit(toks[i + 1]) or AFTER_NO[toks[i + 1].w]) then
      return true
    end
  end
  local first = 1
  while toks[first] and LEADING[toks[first].w] do
    local w = toks[first].w
    if (w == "no" or w == "nope" or w == "nahi") and toks[first + 1] then   -- "no, my number is ..."
      for k = first + 1, math.min(first + 3, #toks) do
        if AFTER_NO[toks[k].w] or has_digit(toks[k]) then return true end
      end
    end
    first = first + 1
  end
  for _, p in ipairs(OPENERS) do if seq_at(toks, first, p) then return true end end
  -- "not 10, 11" / "not friday but saturday"
  if toks[first] and toks[first].w == "not" then
    local rest = lower(text):sub(toks[first].e + 1)
    if rest:find(",") or rest:find("%f[%a]but%f[%A]") then return true end
  end
  return false
end

return M
