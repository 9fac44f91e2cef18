-- The text work of a turn grows linearly with the message (issue 13,
-- section 4): every text up to the chat API's 4,096 bytes is read, and ten
-- times the text costs at most about ten times the work, for realistic
-- messages and for shapes that used to blow up (long words, runs of white
-- space, digit groups, dense dates and times, dashes, dots, addresses).
--
-- Work is counted, not timed: Lua VM instructions under a count hook, with
-- the JIT off (as in tenant states) and the text modules loaded afresh
-- with string.find/match/gmatch/gsub written in Lua below, so the
-- backtracking of a pattern counts too (it runs in C otherwise, where no
-- hook sees it). The counts are the same on any machine, busy or not.
local json = require "json"
local tstate = require "tstate"
local tenants = require "flow.tenants"
local crypto = require "crypto"

-- ---- Lua patterns in Lua (Lua 5.1 semantics, as LuaJIT's) -------------------

local LP = {}
do
  local byte, sub, concat = string.byte, string.sub, table.concat
  local CAP_UNFINISHED, CAP_POSITION = -1, -2

  local function class_ok(c, cl)
    local l = (cl >= 65 and cl <= 90) and cl + 32 or cl
    local r
    if l == 97 then r = (c >= 65 and c <= 90) or (c >= 97 and c <= 122)
    elseif l == 99 then r = c < 32 or c == 127
    elseif l == 100 then r = c >= 48 and c <= 57
    elseif l == 108 then r = c >= 97 and c <= 122
    elseif l == 112 then r = (c >= 33 and c <= 47) or (c >= 58 and c <= 64) or (c >= 91 and c <= 96) or (c >= 123 and c <= 126)
    elseif l == 115 then r = c == 32 or (c >= 9 and c <= 13)
    elseif l == 117 then r = c >= 65 and c <= 90
    elseif l == 119 then r = (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122)
    elseif l == 120 then r = (c >= 48 and c <= 57) or (c >= 65 and c <= 70) or (c >= 97 and c <= 102)
    elseif l == 122 then r = c == 0
    else return cl == c end
    if cl >= 65 and cl <= 90 then return not r end
    return r
  end

  -- index after the single-character class at pi
  local function class_end(p, pi)
    local c = byte(p, pi)
    pi = pi + 1
    if c == 37 then
      if pi > #p then error("malformed pattern (ends with '%')", 0) end
      return pi + 1
    elseif c == 91 then
      if byte(p, pi) == 94 then pi = pi + 1 end
      repeat
        if pi > #p then error("malformed pattern (missing ']')", 0) end
        local cc = byte(p, pi)
        pi = pi + 1
        if cc == 37 then pi = pi + 1 end
      until byte(p, pi) == 93
      return pi + 1
    end
    return pi
  end

  -- c in the set from "[" at pi to "]" at ec?
  local function set_ok(c, p, pi, ec)
    local sig = true
    if byte(p, pi + 1) == 94 then sig = false; pi = pi + 1 end
    pi = pi + 1
    while pi < ec do
      local b = byte(p, pi)
      if b == 37 then
        pi = pi + 1
        if class_ok(c, byte(p, pi)) then return sig end
        pi = pi + 1
      elseif byte(p, pi + 1) == 45 and pi + 2 < ec then
        if b <= c and c <= byte(p, pi + 2) then return sig end
        pi = pi + 3
      else
        if b == c then return sig end
        pi = pi + 1
      end
    end
    return not sig
  end

  local function single(c, p, pi, ep)
    if not c then return false end
    local pc = byte(p, pi)
    if pc == 46 then return true end
    if pc == 37 then return class_ok(c, byte(p, pi + 1)) end
    if pc == 91 then return set_ok(c, p, pi, ep - 1) end
    return pc == c
  end

  local do_match

  local function max_expand(ms, si, pi, ep)
    local i = 0
    while single(byte(ms.s, si + i), ms.p, pi, ep) do i = i + 1 end
    while i >= 0 do
      local r = do_match(ms, si + i, ep + 1)
      if r then return r end
      i = i - 1
    end
    return nil
  end

  local function min_expand(ms, si, pi, ep)
    while true do
      local r = do_match(ms, si, ep + 1)
      if r then return r end
      if not single(byte(ms.s, si), ms.p, pi, ep) then return nil end
      si = si + 1
    end
  end

  local function start_capture(ms, si, pi, what)
    local l = ms.level + 1
    ms.start[l], ms.len[l], ms.level = si, what, l
    local r = do_match(ms, si, pi)
    if not r then ms.level = ms.level - 1 end
    return r
  end

  local function end_capture(ms, si, pi)
    local l = ms.level
    while l >= 1 and ms.len[l] ~= CAP_UNFINISHED do l = l - 1 end
    if l < 1 then error("invalid pattern capture", 0) end
    ms.len[l] = si - ms.start[l]
    local r = do_match(ms, si, pi)
    if not r then ms.len[l] = CAP_UNFINISHED end
    return r
  end

  local function balance(ms, si, pi)
    if pi + 1 > #ms.p then error("missing arguments to '%b'", 0) end
    local b, e = byte(ms.p, pi), byte(ms.p, pi + 1)
    if byte(ms.s, si) ~= b then return nil end
    local depth, i = 1, si + 1
    while i <= #ms.s do
      local c = byte(ms.s, i)
      if c == e then
        depth = depth - 1
        if depth == 0 then return i + 1 end
      elseif c == b then
        depth = depth + 1
      end
      i = i + 1
    end
    return nil
  end

  local function back_reference(ms, si, l)
    if l < 1 or l > ms.level or ms.len[l] == CAP_UNFINISHED then error("invalid capture index", 0) end
    local len = ms.len[l]
    local cap = sub(ms.s, ms.start[l], ms.start[l] + len - 1)
    if sub(ms.s, si, si + len - 1) == cap and si + len - 1 <= #ms.s then return si + len end
    return nil
  end

  -- index after the match of p from pi at si, or nil
  do_match = function(ms, si, pi)
    local s, p = ms.s, ms.p
    local plen = #p
    while true do
      if pi > plen then return si end
      local pc = byte(p, pi)
      local default = false
      if pc == 40 then
        if byte(p, pi + 1) == 41 then return start_capture(ms, si, pi + 2, CAP_POSITION) end
        return start_capture(ms, si, pi + 1, CAP_UNFINISHED)
      elseif pc == 41 then
        return end_capture(ms, si, pi + 1)
      elseif pc == 36 and pi == plen then
        return si == #s + 1 and si or nil
      elseif pc == 37 then
        local nc = byte(p, pi + 1)
        if nc == 98 then
          si = balance(ms, si, pi + 2)
          if not si then return nil end
          pi = pi + 4
        elseif nc == 102 then
          pi = pi + 2
          if byte(p, pi) ~= 91 then error("missing '[' after '%f' in pattern", 0) end
          local ep = class_end(p, pi)
          local prev = si > 1 and byte(s, si - 1) or 0
          local cur = byte(s, si) or 0
          if set_ok(prev, p, pi, ep - 1) or not set_ok(cur, p, pi, ep - 1) then return nil end
          pi = ep
        elseif nc and nc >= 48 and nc <= 57 then
          si = back_reference(ms, si, nc - 48)
          if not si then return nil end
          pi = pi + 2
        else
          default = true
        end
      else
        default = true
      end
      if default then
        local ep = class_end(p, pi)
        local q = byte(p, ep)
        if q == 63 then                                                 -- ?
          if single(byte(s, si), p, pi, ep) then
            local r = do_match(ms, si + 1, ep + 1)
            if r then return r end
          end
          pi = ep + 1
        elseif q == 42 then                                             -- *
          return max_expand(ms, si, pi, ep)
        elseif q == 43 then                                             -- +
          if not single(byte(s, si), p, pi, ep) then return nil end
          return max_expand(ms, si + 1, pi, ep)
        elseif q == 45 then                                             -- -
          return min_expand(ms, si, pi, ep)
        else
          if not single(byte(s, si), p, pi, ep) then return nil end
          si, pi = si + 1, ep
        end
      end
    end
  end

  local function state(s, p) return { s = s, p = p, level = 0, start = {}, len = {} } end

  local function capture(ms, i, si, e)
    if i > ms.level then
      if i == 1 then return sub(ms.s, si, e - 1) end
      error("invalid capture index", 0)
    end
    local l = ms.len[i]
    if l == CAP_UNFINISHED then error("unfinished capture", 0) end
    if l == CAP_POSITION then return ms.start[i] end
    return sub(ms.s, ms.start[i], ms.start[i] + l - 1)
  end

  local function captures(ms, si, e, whole)
    local n = (ms.level == 0 and whole) and 1 or ms.level
    local out = {}
    for i = 1, n do out[i] = capture(ms, i, si, e) end
    return unpack(out, 1, n)
  end

  local SPECIALS = { [94] = true, [36] = true, [42] = true, [43] = true, [63] = true, [46] = true,
                     [40] = true, [91] = true, [37] = true, [45] = true }

  local function find_aux(s, p, init, plain, is_find)
    s, p = tostring(s), tostring(p)
    local slen = #s
    init = init or 1
    if init < 0 then init = slen + init + 1 end
    if init < 1 then init = 1 end
    if init > slen + 1 then return nil end
    if is_find then
      local simple = plain
      if not simple then
        simple = true
        for i = 1, #p do if SPECIALS[byte(p, i)] then simple = false; break end end
      end
      if simple then
        local m = #p
        if m == 0 then return init, init - 1 end
        local first = byte(p, 1)
        for i = init, slen - m + 1 do
          if byte(s, i) == first and sub(s, i, i + m - 1) == p then return i, i + m - 1 end
        end
        return nil
      end
    end
    local anchor = byte(p, 1) == 94
    local pi = anchor and 2 or 1
    local ms = state(s, p)
    local si = init
    repeat
      ms.level = 0
      local e = do_match(ms, si, pi)
      if e then
        if is_find then return si, e - 1, captures(ms, si, e, false) end
        return captures(ms, si, e, true)
      end
      si = si + 1
    until anchor or si > slen + 1
    return nil
  end

  function LP.find(s, p, init, plain) return find_aux(s, p, init, plain, true) end
  function LP.match(s, p, init) return find_aux(s, p, init, false, false) end

  function LP.gmatch(s, p)
    s, p = tostring(s), tostring(p)
    local ms, si = state(s, p), 1
    return function()
      while si <= #s + 1 do
        ms.level = 0
        local e = do_match(ms, si, 1)
        if e then
          local start = si
          si = e == si and e + 1 or e
          return captures(ms, start, e, true)
        end
        si = si + 1
      end
      return nil
    end
  end

  local function add_value(ms, out, si, e, repl)
    local tr, v = type(repl), nil
    if tr == "string" or tr == "number" then
      repl = tostring(repl)
      local parts, i = {}, 1
      while i <= #repl do
        local c = byte(repl, i)
        if c == 37 and i < #repl then
          i = i + 1
          local d = byte(repl, i)
          if d >= 48 and d <= 57 then
            parts[#parts + 1] = d == 48 and sub(ms.s, si, e - 1) or tostring(capture(ms, d - 48, si, e))
          else
            parts[#parts + 1] = sub(repl, i, i)
          end
        else
          parts[#parts + 1] = sub(repl, i, i)
        end
        i = i + 1
      end
      out[#out + 1] = concat(parts)
      return
    elseif tr == "table" then
      v = repl[capture(ms, 1, si, e)]
    else
      v = repl(captures(ms, si, e, true))
    end
    if not v then
      out[#out + 1] = sub(ms.s, si, e - 1)
    elseif type(v) == "string" or type(v) == "number" then
      out[#out + 1] = tostring(v)
    else
      error("invalid replacement value (a " .. type(v) .. ")", 0)
    end
  end

  function LP.gsub(s, p, repl, max_n)
    s, p = tostring(s), tostring(p)
    local slen = #s
    local anchor = byte(p, 1) == 94
    local pi = anchor and 2 or 1
    max_n = max_n or slen + 1
    local ms, out, n, si = state(s, p), {}, 0, 1
    while n < max_n do
      ms.level = 0
      local e = do_match(ms, si, pi)
      if e then
        n = n + 1
        add_value(ms, out, si, e, repl)
      end
      if e and e > si then
        si = e
      elseif si <= slen then
        out[#out + 1] = sub(s, si, si)
        si = si + 1
      else
        break
      end
      if anchor then break end
    end
    out[#out + 1] = sub(s, si)
    return concat(out), n
  end
end

-- ---- the text work of a turn -------------------------------------------------

local MODULES = { "text.utf8", "text.words", "text.fuzzy", "text.ids", "text.names", "text.dates",
                  "text.clock", "text.extract", "text.sentiment", "text.prose", "text.rewrite",
                  "text.template", "tone", "flow.intents", "flow.slot_types", "flow.engine" }
local NATIVE = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }

-- the car service's options and tone, as the flow has them
local function carwash_options()
  local cat = assert(require("flow.tenant").load("carwash")).settings.catalogue
  local function opts(list, title_names)
    local out = {}
    for i, o in ipairs(list) do
      out[i] = { id = o.id, title = o.title, names = { o.id:gsub("_", " "), o.title } }
      for _, n in ipairs(o.names or {}) do table.insert(out[i].names, n) end
    end
    return out
  end
  local addons = {}
  for id, a in pairs(cat.addons) do addons[#addons + 1] = { id = id, title = a.title, names = a.names } end
  table.sort(addons, function(a, b) return a.id < b.id end)
  local models = {}
  for _, b in ipairs(cat.brands) do
    for _, m in ipairs(b.models) do models[#models + 1] = { id = m, names = { m } } end
  end
  return { services = opts(cat.services), addons = opts(addons), brands = opts(cat.brands), models = models,
           service_slot = { type = "choice", options = cat.services },
           addon_slot = { type = "choices", options = addons } }
end

-- with the modules M (loaded afresh), one message's text work: what a turn
-- of the car service asks of the text modules, and the tone of a reply
-- that repeats the customer's words
local function pipeline(M, O)
  local tz = require "tz"
  local now = tz.to_utc({ year = 2026, month = 11, day = 25, hour = 10, min = 0 }, "Asia/Kolkata")
  local c = { tenant = { timezone = "Asia/Kolkata" }, slots = {}, now = function() return now end }
  local t = { languages = { "en", "hi" } }
  local carwash_tone = M.tone.pipeline{ { "no_em_dashes" }, { "max_sentences", 4 }, { "emoji", 2 }, { "trim" } }
  local every_rule = M.tone.pipeline{ { "no_em_dashes" }, { "formal", "hi" }, { "replace", { car = "vehicle" } },
    { "capitalize" }, { "max_sentences", 50 }, { "emoji", 2 }, { "max_chars", 100000 }, { "trim" } }
  local ex, fz, ty = M["text.extract"], M["text.fuzzy"], M["flow.slot_types"]
  return function(s)
    local msg = { text = s }
    return {
      M["flow.engine"].language(t, "en", s), M["flow.intents"].detect(s),
      M["text.sentiment"].disengage(M["text.sentiment"].score(s)), ex.correction(s),
      ex.phone_in(s), ex.plate_in(s), ex.email(s), ex.name(s), ex.name(s, { asked = true }),
      ex.date(s, { now = now, zone = "Asia/Kolkata" }), ex.time(s), ex.daypart(s), ex.yes_no(s),
      fz.best(s, O.services, { min_score = 0.8 }), fz.best(s, O.brands, { min_score = 0.7 }),
      fz.best(s, O.models, { min_score = 0.85 }), fz.all(s, O.addons, { min_score = 0.6 }),
      ty.text.extract(msg, {}, c, true), ty.choice.extract(msg, O.service_slot, c, true),
      ty.choices.extract(msg, O.addon_slot, c, true),
      carwash_tone("Here is your booking:\n- Car: Honda " .. s .. "\nShall I confirm it?"), every_rule(s),
    }
  end
end

-- runs fn(M) with the modules loaded afresh on the patterns of lib
-- (LP or NATIVE), the JIT off; everything is put back afterwards
local function with_modules(lib, fn)
  local saved = {}
  for _, name in ipairs(MODULES) do saved[name] = package.loaded[name]; package.loaded[name] = nil end
  for k, f in pairs(lib) do string[k] = f end
  local jit_was_on = jit.status()
  jit.off()
  jit.flush()
  local M = {}
  local r = { pcall(function()
    for _, name in ipairs(MODULES) do M[name] = require(name) end
    return fn(M)
  end) }
  for k, f in pairs(NATIVE) do string[k] = f end
  for _, name in ipairs(MODULES) do package.loaded[name] = saved[name] end
  if jit_was_on then jit.on() end
  assert(r[1], r[2])
  return unpack(r, 2, table.maxn(r))
end

-- Lua VM instructions fn(...) takes (to a hundred)
local function instructions(fn, ...)
  local n = 0
  debug.sethook(function() n = n + 1 end, "", 100)
  local ok, err = pcall(fn, ...)
  debug.sethook()
  assert(ok, err)
  return n * 100
end

-- ---- messages ------------------------------------------------------------------

local STORY = {
  "Hi, my name is Rahul Sharma and I want to book a foam wash for my Honda City MH12AB1234 tomorrow at 10am.",
  "The car has been sitting outside for a while because we were travelling to Nashik and it got really dusty.",
  "Last time the guy at the counter was very helpful, but the waiting area was a bit crowded, not great.",
  "Also the seats have some coffee stains from the kids, so maybe the interior too, not sure about the price.",
  "Morning is better for me, otherwise I could come in the evening after office, around 6 or so on Friday.",
  "Do you also check tyre pressure? The front left one seems low since last week and I keep forgetting.",
  "My number is 98765 43210 and I will bring the car myself, or my brother might drop it at 9:30.",
  "Thanks a lot and sorry for the long message, I just wanted to explain everything in one go!",
}

local function repeat_to(unit, n) return (unit:rep(math.ceil(n / #unit))):sub(1, n) end

-- name -> fn(n) -> a message of n bytes
local SHAPES = {
  ["a long rambling customer message"] = function(n)
    local parts, len, i = {}, 0, 0
    while len < n do
      local s = STORY[i % #STORY + 1] .. " "
      parts[#parts + 1], len, i = s, len + #s, i + 1
    end
    return table.concat(parts):sub(1, n)
  end,
  ["one long word"] = function(n) return repeat_to("abcdefghij", n) end,
  ["a digit and white space up to an x"] = function(n) return "1" .. (" "):rep(n - 2) .. "x" end,
  ["digits apart by spaces"] = function(n) return repeat_to("1 ", n) end,
  ["phone numbers"] = function(n) return repeat_to("9876543210 ", n) end,
  ["dates"] = function(n) return "friday " .. repeat_to("25/12 2026-12-25 25th dec ", n - 7) end,
  ["times"] = function(n) return repeat_to("at 5 10am 5 evening 10:30 ", n) end,
  ["plates"] = function(n) return repeat_to("MH 12 AB 1234 MH12 ", n) end,
  ["sentences"] = function(n) return repeat_to("a. ", n) end,
  ["dashes"] = function(n) return repeat_to("5\226\128\148word \226\128\147 ", n) end,
  ["dots"] = function(n) return repeat_to("1.1.", n) end,
  ["a long word before an @"] = function(n) return repeat_to("a", n - 1) .. "@" end,
  ["addresses"] = function(n) return repeat_to("a@b.co http://x www.y.in ", n) end,
  ["letters before ://"] = function(n) return repeat_to("a", n - 4) .. "://x" end,
  ["Hindi"] = function(n) return (repeat_to("मेरा नाम राहुल है कल सुबह ", n):gsub("[\128-\191]*$", "")) end,
  ["emoji and shouting"] = function(n) return repeat_to("WORST SERVICE!! \240\159\152\161 ", n) end,
  ["commands and answers"] = function(n) return repeat_to("cancel not no yes my name is full detailing ", n) end,
  ["typos"] = function(n) return repeat_to("detaling wsh vaccum tyers tomorow firday ", n) end,
}

describe("the text work of a turn", function()
  local O

  setup(function() O = carwash_options() end)

  it("gives the same results with the Lua patterns used for counting as with the real ones", function()
    local inputs = {}
    for _, make in pairs(SHAPES) do inputs[#inputs + 1] = make(300) end
    local function results(lib)
      return with_modules(lib, function(M)
        local run, out = pipeline(M, O), {}
        for i, s in ipairs(inputs) do out[i] = json.encode(run(s)) end
        return out
      end)
    end
    assert.are.same(results(NATIVE), results(LP))
  end)

  local N = 400
  local names = {}
  for name in pairs(SHAPES) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    it(("costs at most 13 times the work for ten times the text: %s"):format(name), function()
      local small, big = SHAPES[name](N), SHAPES[name](10 * N)
      local a, b = with_modules(LP, function(M)
        local run = pipeline(M, O)
        run(SHAPES[name](N / 2))                        -- option lists indexed, names prepared
        return instructions(run, small), instructions(run, big)
      end)
      assert.is_true(b <= 13 * a, ("%s: %d instructions for %d bytes, %d for %d bytes (x%.1f)")
        :format(name, a, #small, b, #big, b / a))
    end)
  end
end)

-- ---- the whole car-service turn in a tenant state, at the limit ------------------

describe("a car-service turn of 4,096 bytes in its tenant state", function()
  local ts

  setup(function()
    local files, version = tenants.snapshot("carwash")
    ts = tstate.new{ name = "carwash", memory_mb = 64 }
    local ok, res = ts:eval('return require("host.tenant_boot").load(...)',
      json.encode{ id = "carwash", files = files, version = version }, 5)
    assert(ok, res)
    assert(json.decode(res).ok, res)
  end)

  teardown(function() if ts then ts:close() end end)

  -- one turn under the tenant's CPU budget (100 ms) -> its result
  local function turn(text)
    local ok, res = ts:call("turn", json.encode{ id = "chat:linear-" .. crypto.random_hex(8), msg = { text = text } }, 0.1)
    assert(ok, res)
    local r = json.decode(res)
    assert(r.res, res)
    return r.res
  end

  it("is read, not answered with the fallback, and finds the facts in it", function()
    local text = SHAPES["a long rambling customer message"](4096)
    local res = turn(text)
    assert.is_nil(res.error)
    assert.are.equal("Rahul Sharma", res.slots.name)
    assert.are.equal("MH12AB1234", res.slots.plate)
    assert.are.equal("9876543210", res.slots.phone)
    assert.are.equal("foam_wash", res.slots.service)
  end)

  for _, name in ipairs{ "one long word", "a digit and white space up to an x", "digits apart by spaces",
                         "dates", "times", "sentences", "a long word before an @", "letters before ://",
                         "commands and answers", "typos" } do
    it(("is read within its budget when it is %s"):format(name), function()
      local res = turn(SHAPES[name](4096))
      assert.is_nil(res.error)
    end)
  end
end)
