--- text.names: a person's name in a message. Reached through text.extract.
--
--   names.name(text, opts?) -> "Rahul Sharma" | nil
--       opts.asked = true: the bot just asked for the name, so a bare reply
--       of 1-3 name words counts ("rahul", "hi, Rahul Sharma here").
--       Without it only explicit cues count: "my name is", "I'm", "I am",
--       "this is", "myself", "call me", "mera naam ... (hai)", "main ... hoon",
--       "<name> here", "<name> this side", "मेरा नाम ...".
--
-- A name is 1-3 words of letters (apostrophes and hyphens inside allowed),
-- up to 20 letters each, none of them on the stoplist (yes/no words, days,
-- times, greetings, booking words, common English and Hinglish words). Car
-- brands end a name unless opts.asked. Latin names are title-cased
-- ("d'souza" -> "D'Souza"); Devanagari is returned as written. Time is
-- linear in the length of the text. Pure.
local words = require "text.words"

local M = {}

local lower, upper, sub, find, gsub = string.lower, string.upper, string.sub, string.find, string.gsub
local type, ipairs = type, ipairs

local STOP = words.set([[
  yes yeah yep yup ya yah no nope nah ok okay okk kk k sure fine done right correct wrong
  confirm confirmed cancel cancelled stop please pls plz thanks thank thankyou welcome sorry
  hi hii hello helo hey heya hlo namaste namaskar greetings dear sir madam maam mam bhai bhaiya
  ji bro boss buddy friend team good morning afternoon evening night noon today tonight
  tomorrow tmrw tmr yesterday kal aaj parso now later soon asap early late time date day
  week month year weekend weekday monday tuesday wednesday thursday friday saturday sunday
  mon tue tues wed thu thur thurs fri sat sun january february march april may june july
  august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
  am pm baje subah shaam raat dopahar
  i me my mine myself we us our you your he him his she her they them it its this that
  these those here there what who whom which where when why how whose
  a an the and or but if so to of in on at by for from with without about as into onto
  is am are was were be been being do does did have has had will would can could shall
  should may might must not also just only very really too still already again then than
  want wanted wants need needs needed like looking waiting calling coming going booking
  interested available free busy ready new back home outside inside nearby near far
  happy glad fine great nice cool awesome bad sad angry upset confused tired sick unwell
  sure unsure certain planning trying hoping thinking asking checking writing texting
  wash washing car cars bike bikes vehicle service servicing detailing polish polishing wax
  waxing interior exterior vacuum cleaning clean foam ceramic coating basic premium full
  package plan price cost rate charges amount payment pay paid cash upi card online offer
  discount slot slots appointment book booked reschedule change update number phone mobile
  name email address location plate registration model colour color white black red blue
  silver grey gray owner customer new old one two three four five six seven eight nine ten
  hai hain ho hoon hu hun tha thi the kya kab kaise kaun kyun kahan haan han nahi nahin na
  mera meri mere mujhe main mai mein hum aap aapka tum tera naam gaadi gadi karna karo
  chahiye chahte chahta chahti batao bata dena dijiye kijiye theek thik accha acha achha
  bas bhi aur ya ka ki ke ko se par pe wala wali wale abhi phir fir
  है हैं हूँ हूं हाँ हां जी मैं मेरा मेरी नाम नहीं कल आज परसों
  test testing hmm hm idk whatever lol haha anyone anybody someone somebody everyone
  everybody nobody none all any some everything nothing something urgent important
  ridiculous pathetic terrible amazing perfect fantastic wonderful excellent expensive cheap
  costly much enough alone sorry worried serious annoyed frustrated disappointed satisfied
  unhappy curious surprised shocked excited pleased grateful fed bored done finished
]])

-- words with these endings are rarely names ("looking", "useful", "available")
local NOT_NAME_END = { "ing", "ful", "ous", "ive", "able", "ible", "ness", "less" }

local BRANDS = words.set([[
  maruti suzuki hyundai tata honda toyota mahindra kia mg renault nissan skoda volkswagen vw
  ford chevrolet jeep bmw audi mercedes benz volvo lexus jaguar porsche fiat datsun citroen
  byd isuzu force swift dzire baleno alto wagonr ertiga brezza creta venue i20 i10 verna
  nexon punch harrier safari tiago tigor altroz city amaze jazz innova fortuner glanza
  scorpio thar xuv bolero seltos sonet carens hector kwid duster polo vento virtus taigun
  kushaq slavia ecosport
]])

local NAME_WORD = "^[%a\128-\255][%a\128-\255']*$"

-- is token t (original spelling w) a name word here?
local function name_word(t, orig, asked)
  if #t.w == 1 then return find(orig, "^%a$") ~= nil end              -- an initial: "Rahul K Sharma"
  if not t.alpha or STOP[t.w] or (not asked and BRANDS[t.w]) then return false end
  if not find(orig, NAME_WORD) or #t.w > 20 then return false end
  for _, e in ipairs(NOT_NAME_END) do
    if #t.w >= #e + 3 and sub(t.w, -#e) == e then return false end
  end
  return true
end

local function title(w)
  if find(w, "[\128-\255]") and not find(w, "^[%a'%-]+$") then return w end   -- Devanagari and friends
  w = lower(w)
  return (gsub(w, "^%a", upper):gsub("(['%-])(%a)", function(p, c) return p .. upper(c) end))
end

-- up to 3 name words from token i on, apart by spaces or a hyphen -> name, last index | nil
local function take(text, toks, i, asked)
  local last
  for k = i, math.min(i + 2, #toks) do
    local t = toks[k]
    if k > i and not find(sub(text, toks[k - 1].e + 1, t.s - 1), "^ +$")
       and sub(text, toks[k - 1].e + 1, t.s - 1) ~= "-" then break end
    if not name_word(t, sub(text, t.s, t.e), asked) or (k == i and #t.w < 2) then break end
    last = k
  end
  while last and #toks[last].w == 1 do last = last > i and last - 1 or nil end   -- no initial at the end
  if not last then return nil end
  local raw = gsub(sub(text, toks[i].s, toks[last].e), " +", " ")
  return (gsub(raw, "[^ ]+", title)), last
end

local function seq(toks, i, ...)
  local n = select("#", ...)
  for k = 1, n do
    local t = toks[i + k - 1]
    if not t or t.w ~= select(k, ...) then return false end
  end
  return true
end

-- cues before a name: list of word sequences; asked-only ones are marked
local LEAD = {
  { "my", "name", "is" }, { "my", "names" }, { "myself" }, { "call", "me" }, { "i", "am" }, { "im" }, { "i", "m" },
  { "this", "is" }, { "mera", "naam", "hai" }, { "mera", "naam" }, { "mera", "nam" }, { "naam", "hai" },
  { "मेरा", "नाम" }, { "name", "is" },
  { "me", "llamo" }, { "mi", "nombre", "es" }, { "soy", start = true },    -- Spanish
  { "name", start = true }, { "naam", start = true },
  { "its", asked = true }, { "it", "is", asked = true }, { "name", asked = true }, { "naam", asked = true },
}
local FOLLOW_HERE = words.set("here")

-- the cues by their first word, in the order above
local LEAD_BY_FIRST = {}
for _, cue in ipairs(LEAD) do
  LEAD_BY_FIRST[cue[1]] = LEAD_BY_FIRST[cue[1]] or {}
  table.insert(LEAD_BY_FIRST[cue[1]], cue)
end
local NONE = {}

-- do the words of cue follow from token i on? (the first is known to match)
local function cue_at(toks, i, cue)
  for k = 2, #cue do
    local t = toks[i + k - 1]
    if not t or t.w ~= cue[k] then return false end
  end
  return true
end

local GREETINGS = words.set([[hi hii hiii hello helo hey heya hlo namaste namaskar good morning
  afternoon evening sir madam maam mam ji ok okay sure yes yeah ya haan dear bhai bhaiya]])

local function explicit(text, toks, asked)
  for i = 1, #toks do
    for _, cue in ipairs(LEAD_BY_FIRST[toks[i].w] or NONE) do
      if (asked or not cue.asked) and (i == 1 or not cue.start) and cue_at(toks, i, cue) then
        local name = take(text, toks, i + #cue, asked)
        if name then return name end
      end
    end
    -- main Rahul hoon / mai Rahul Sharma hu
    local w = toks[i].w
    if (w == "main" or w == "mai" or w == "mein") and toks[i + 1] then
      local name, last = take(text, toks, i + 1, asked)
      local nxt = last and toks[last + 1]
      if name and nxt and (nxt.w == "hoon" or nxt.w == "hu" or nxt.w == "hun" or nxt.w == "hoo") then
        return name
      end
    end
  end
  -- "hi, Rahul here" / "Rahul this side" at the start of the message
  local i = 1
  while toks[i] and GREETINGS[toks[i].w] do i = i + 1 end
  local name, last = take(text, toks, i, asked)
  local nxt = last and toks[last + 1]
  if name and nxt and (FOLLOW_HERE[nxt.w] or seq(toks, last + 1, "this", "side")) then return name end
  return nil
end

local FILLER = words.set([[hi hii hiii hello helo hey heya hlo namaste namaskar good morning
  afternoon evening sir madam maam mam dear ok okay sure yes yeah ya haan its it is this i am im
  my name names myself mera naam nam hai bhai bhaiya]])
local TRAIL = words.set("here ji hai hoon hu hun sir side this")

function M.name(text, opts)
  if type(text) ~= "string" then error("extract.name: text must be a string", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("extract.name: opts must be a table", 2) end
  local asked = opts and opts.asked == true
  local toks = words.cached(text)
  local name = explicit(text, toks, asked)
  if name or not asked then return name end
  -- a bare reply: fillers, 1-3 name words, trailing fillers, then nothing but non-words
  local i = 1
  while toks[i] and FILLER[toks[i].w] do i = i + 1 end
  local last
  name, last = take(text, toks, i, true)
  if not name then return nil end
  local k = last + 1
  while toks[k] and TRAIL[toks[k].w] do k = k + 1 end
  local rest = toks[k]
  if rest and rest.alpha and not find(sub(text, toks[k - 1].e + 1, rest.s - 1), "[,;:%.!%?\n]") then
    return nil
  end
  return name
end

return M
