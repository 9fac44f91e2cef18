-- pattern (core/lua_api_pattern.c, core/pattern.c): flowhost's own Lua
-- pattern matcher, installed as string.find/match/gmatch/gsub in every
-- tenant state by host/tenant_guard.lua. It must give LuaJIT's results and
-- errors (checked against LuaJIT's own functions, which this main state
-- still has, on generated patterns and subjects) and end pattern bombs
-- with the turn's CPU budget.
--
-- The generator's seed is PATTERN_SEED or a fixed one (make test must give
-- the same answer on every machine; explore with other seeds); a failure prints it:
-- PATTERN_SEED=<seed> flowhost test tests/unit/pattern_spec.lua
local pattern = require "pattern"
local tstate = require "tstate"
local time = require "time"

local LJ = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }
local FH = pattern
local fmt, concat, rep = string.format, table.concat, string.rep

local SEED = tonumber(os.getenv("PATTERN_SEED")) or 20261202
local CASES = tonumber(os.getenv("PATTERN_CASES")) or 2500

---------------------------------------------------------------- comparing

local function pack(...) return { n = select("#", ...), ... } end

-- one value as text; errors lose their "file:line:" (the two sides are
-- called from different lines)
local function show(v)
  local t = type(v)
  if t == "string" then return fmt("%q", v) end
  if t == "number" then return fmt("%.17g", v) end
  if t == "table" or t == "function" then return t end
  return tostring(v)
end

local function show_all(r)
  local out = {}
  for i = 1, r.n do out[i] = show(r[i]) end
  return concat(out, ",")
end

local function outcome(ok, ...)
  if not ok then
    local msg = tostring((...)):gsub("^[^\n]-:%d+: ", "")
    return "error " .. msg
  end
  return "ok " .. show_all(pack(...))
end

-- a replacement function that answers in turn: a string, nil, false, a
-- number, the first capture; it records what it was given
local function recorder()
  local calls, log = 0, {}
  local answers = { function() return "R" end, function() return nil end, function() return false end,
                    function() return 7 end, function(a) return a end }
  return function(...)
    calls = calls + 1
    log[#log + 1] = show_all(pack(...))
    if calls > 1000 then error("too many calls") end
    return answers[(calls - 1) % #answers + 1](...)
  end, log
end

local function gmatch_all(impl, s, p)
  local out = {}
  local it = impl.gmatch(s, p)
  for _ = 1, 200 do
    local r = pack(it())
    if r[1] == nil then break end
    out[#out + 1] = show_all(r)
  end
  return concat(out, ";")
end

-- every operation of the module on (s, p), as one line per operation
local INITS = { 1, 2, 0, -1, -3, 5, 30, -30, 2.7, -1.5, "2", 2 ^ 31, 2 ^ 32 + 2, 0 / 0 }
local REPLS = { "x", "%0", "%1", "<%1%2>", "%%", "%", "a%9b", "%x", "", "%1%1", 7 }
local NS = { 1, 2, 0, -1, 2.9, 2 ^ 32 + 1 }
local TABLE = setmetatable({ a = "A", b = false, ["1"] = "one", [1] = "p1", [2] = 2 },
                           { __index = function(_, k) if k == "c" then return {} end end })

local function run_all(impl, s, p, k)
  local r = {}
  local init, plain = INITS[k % #INITS + 1], k % 3 == 0
  r[#r + 1] = "find " .. outcome(pcall(impl.find, s, p))
  r[#r + 1] = "find init " .. outcome(pcall(impl.find, s, p, init))
  r[#r + 1] = "find plain " .. outcome(pcall(impl.find, s, p, init, plain))
  r[#r + 1] = "match " .. outcome(pcall(impl.match, s, p))
  r[#r + 1] = "match init " .. outcome(pcall(impl.match, s, p, init))
  r[#r + 1] = "gmatch " .. outcome(pcall(gmatch_all, impl, s, p))
  r[#r + 1] = "gsub string " .. outcome(pcall(impl.gsub, s, p, REPLS[k % #REPLS + 1]))
  r[#r + 1] = "gsub string n " .. outcome(pcall(impl.gsub, s, p, REPLS[(k + 3) % #REPLS + 1], NS[k % #NS + 1]))
  r[#r + 1] = "gsub table " .. outcome(pcall(impl.gsub, s, p, TABLE))
  local fn, log = recorder()
  r[#r + 1] = "gsub function " .. outcome(pcall(impl.gsub, s, p, fn, k % 2 == 0 and 2 or nil))
  r[#r + 1] = "  its calls " .. concat(log, " | ")
  return r
end

-- nil when both agree, else a report of the first difference
local function differ(s, p, k)
  local a, b = run_all(LJ, s, p, k), run_all(FH, s, p, k)
  for i = 1, #a do
    if a[i] ~= b[i] then
      return fmt("seed %d, case %d: subject %q, pattern %q\n  LuaJIT:   %s\n  flowhost: %s", SEED, k, s, p, a[i], b[i])
    end
  end
end

---------------------------------------------------------------- generating

local random = math.random
local function pick(t) return t[random(#t)] end

local LITERALS = { "a", "a", "b", "b", "c", "x", " ", "1", "2", "-", "_", "^", "$", "]", ",", "\0", "\200", "A" }
local ESCAPES = { "%.", "%%", "%(", "%)", "%[", "%]", "%-", "%*", "%+", "%?", "%^", "%$", "%_", "% " }
local CLASSES = { "%a", "%A", "%c", "%C", "%d", "%D", "%l", "%L", "%p", "%P", "%s", "%S", "%u", "%U",
                  "%w", "%W", "%x", "%X", "%z", "%Z", ".", ".", "." }
local SETS = { "[abc]", "[^abc]", "[a-c]", "[^a-c]", "[%d_]", "[%a%-]", "[]]", "[^]]", "[a-]", "[%a-z]",
               "[-a]", "[%]]", "[b-a]", "[\0-\127]", "[^%s]", "[.]", "[%w_%.]", "[A-Za-z]", "[%z]", "[^%W1]",
               "[\150-\255]", "[a-\200]", "[^\1-\127]" }
local MALFORMED = { "%", "[a", "[", "[^", "[%", "%f", "%fa", "%b", "%ba", "%0", "%9", ")", "(", "[^]", "%f[a" }
local QUANTS = { "", "", "", "", "*", "+", "-", "?" }
local RAW = "()[]%^$*+-?."
local PAIRS = { "()", "[]", "ab", "aa", "xy", "a)" }

local function single()
  local r = random(10)
  if r <= 4 then return pick(LITERALS) elseif r <= 5 then return pick(ESCAPES)
  elseif r <= 8 then return pick(CLASSES) else return pick(SETS) end
end

-- a pattern of up to n items with at most `open` open-ended repetitions
-- (so that LuaJIT's own matcher, which nothing stops, ends quickly)
local function items(n, budget)
  local out = {}
  for _ = 1, random(n) do
    local r = random(100)
    if r <= 60 then
      local q = pick(QUANTS)
      if q ~= "" and q ~= "?" then
        if budget.open > 0 then budget.open = budget.open - 1 else q = "" end
      end
      out[#out + 1] = single() .. q
    elseif r <= 70 then
      out[#out + 1] = "(" .. (random(5) == 1 and "" or items(2, budget)) .. ")"
    elseif r <= 74 then out[#out + 1] = "()"
    elseif r <= 78 then out[#out + 1] = "%b" .. pick(PAIRS)
    elseif r <= 83 then out[#out + 1] = "%f" .. pick(SETS)
    elseif r <= 89 then out[#out + 1] = "%" .. random(3)
    elseif r <= 92 then out[#out + 1] = pick(MALFORMED)
    else local k = random(#RAW) out[#out + 1] = RAW:sub(k, k) end
  end
  return concat(out)
end

-- a pattern, and the longest subject it may meet: with fewer open-ended
-- repetitions it can take longer subjects (where the matcher's scans
-- and 256-bit sets come into play)
local function gen_pattern()
  local budget = { open = 3 }
  local p = items(6, budget)
  if random(5) == 1 then p = "^" .. p end
  if random(6) == 1 then p = p .. "$" end
  return p, budget.open >= 1 and 48 or 14
end

local SUBJECT_CHARS = { "a", "a", "a", "b", "b", "c", " ", " ", "1", "2", "x", "(", ")", "[", "]", "-", "_",
                        ".", ",", "%", "^", "$", "\0", "\200", "\160", "\255", "A", "B", "\n" }
local function gen_subject(longest)
  local out = {}
  for i = 1, random(0, random(3) == 1 and longest or 14) do out[i] = pick(SUBJECT_CHARS) end
  return concat(out)
end

---------------------------------------------------------------- the specs

describe("pattern, against LuaJIT's own string functions", function()
  it("agrees on generated patterns and subjects, results and errors alike", function()
    math.randomseed(SEED)
    local n, failures = 0, {}
    for k = 1, CASES do
      local p, longest = gen_pattern()
      for _ = 1, 4 do
        n = n + 1
        local d = differ(gen_subject(longest), p, n)
        if d then failures[#failures + 1] = d end
        if #failures >= 5 then break end
      end
      if #failures >= 5 then break end
    end
    assert(#failures == 0, concat(failures, "\n"))
  end)

  for _, c in ipairs({
    { "the edge cases of init, anchors and empty matches",
      { { "abc", "" }, { "abc", "^" }, { "abc", "$" }, { "", "^$" }, { "", "" }, { "aaa", "a*" },
        { "abc", "x*" }, { "abc", "()" }, { "a^b", "a^b" }, { "a$b", "a$b" }, { "^a^a", "^a" },
        { "aaa", "^a" }, { "hello world", "^(%w+)" }, { "a.b", "." }, { "a+b", "a+b" } } },
    { "captures, position captures and back-references",
      { { "aa", "()a%1" }, { "aa", "a%0" }, { "aa", "(a%1)" }, { "abab", "(ab)%1" }, { "a", "(a" },
        { "b", "(a" }, { "a)", "a)" }, { "abc", "b)" }, { "x(a(b)c)y", "%b()" }, { "abc", "%f[" },
        { "abc", "x%f[" }, { "THE (quick) fox", "%f[%a]%a+" }, { "a\0b", "%z" }, { "a\0b", "a\0c" },
        { "k=v, x=y", "(%w+)=(%w+)" }, { "abc", "()(b)()" } } },
    { "malformed patterns, where LuaJIT notices them",
      { { "a", "[a" }, { "a", "a%" }, { "b", "a%" }, { "a", "[%" }, { "a", "%b" }, { "ab", "%ba" },
        { "abc", "%fa" }, { "]", "[]]" }, { "a", "[^]]" }, { "a", "[a%]" } } },
  }) do
    it("agrees on " .. c[1], function()
      for k, sp in ipairs(c[2]) do
        local d = differ(sp[1], sp[2], k)
        assert(d == nil, d)
      end
    end)
  end

  it("agrees on the nesting limit ('pattern too complex') and the 32-capture limit", function()
    for _, n in ipairs({ 198, 199, 200, 201 }) do
      assert.is_nil(differ(rep("a", n), rep("a?", n), 1))
    end
    -- a repetition at the limit raises, whatever follows it (199 "a?"
    -- that each take an 'a' reach it without backtracking); one level
    -- higher it matches (these tails match: a failing one would backtrack
    -- through 2^198 ways, in LuaJIT too)
    -- (only from the first byte: from the second, the 199th "a?" takes
    -- nothing, and a failing tail backtracks for ages)
    local function from_first(s, p)
      for _, op in ipairs({ "find", "match" }) do
        assert.are.equal(outcome(pcall(LJ[op], s, p)), outcome(pcall(FH[op], s, p)), p)
      end
      assert.are.equal(outcome(pcall(LJ.gsub, s, p, "x", 1)), outcome(pcall(FH.gsub, s, p, "x", 1)), p)
    end
    for _, tail in ipairs({ "b*$", "b-$", "a*", ".-", ".-x", "a*x", "%a-x", "[ab]*x" }) do
      from_first(rep("a", 199) .. "bbb", rep("a?", 199) .. tail)
    end
    for _, tail in ipairs({ ".-x", "%a-x", "[ab]*x", "a*", ".-", "b*x$", ".-$" }) do
      from_first(rep("a", 198) .. "bbbx", rep("a?", 198) .. tail)
    end
    for _, n in ipairs({ 32, 33 }) do
      assert.is_nil(differ(rep("a", 40), rep("(a)", n), 1))
    end
  end)

  it("agrees on argument errors and conversions", function()
    for _, args in ipairs({ { nil, "a" }, { "a" }, { 12345, 34 }, { "a", "a", "x" }, { "abc", "c", "2" },
                            { "a", {} }, { "abc", "b", 2 ^ 31 }, { "abc", "a", -2 ^ 40 } }) do
      for _, op in ipairs({ "find", "match", "gmatch" }) do
        assert.are.equal(outcome(pcall(LJ[op], args[1], args[2], args[3])),
                         outcome(pcall(FH[op], args[1], args[2], args[3])), op)
      end
    end
    for _, args in ipairs({ { "abc", "b", true }, { "a", "a", true, "x" }, { "aaa", "a", 5 },
                            { "aaa", "a", "b", 2 ^ 31 }, { "aaa", "a", "b", 2 ^ 32 + 1 }, { "aaa", "a", "b", 1e30 },
                            { "aaa", "a", "b", 0 / 0 }, { "abc", "b", { b = {} } }, { "abc", "b", nil } }) do
      assert.are.equal(outcome(pcall(LJ.gsub, args[1], args[2], args[3], args[4])),
                       outcome(pcall(FH.gsub, args[1], args[2], args[3], args[4])))
    end
  end)

  it("raises a replacement function's own error unchanged", function()
    local function boom() error("boom") end
    assert.are.equal(outcome(pcall(LJ.gsub, "abc", "b", boom)), outcome(pcall(FH.gsub, "abc", "b", boom)))
  end)

  it("agrees on the runtime library's own patterns and chat-sized messages", function()
    local messages = {
      "Hi, I want to book a car wash tomorrow at 10:30am for MH12AB1234",
      "mera naam Rahul Sharma hai, phone 9123456780, email rahul.s@example.com",
      "cancel my booking pls!!! 25/11/2026 ok?", "  kal subah 9 baje  ", "", "www.example.com/x?y=1 http://a.b",
      rep("full detailing please, ", 40), "गाड़ी की धुलाई 3 बजे",
    }
    local patterns = { "%S+", "^%s*()", "^[%w_%-]+$", "^(%w+):(.+)$", "^%s*(.-)%s*$", "^%s+", "%s+$", "%p",
                       "[^,]+", "%a+", "(%d%d%d%d)%-(%d%d?)%-(%d%d?)", "(%d%d?)([/%.%-])(%d%d?)%2(%d+)",
                       "%f[%a]but%f[%A]", "[%w%.%-_]+@[%w%-]+%.[%a%.]+", "%a+://%S+", "www%.%S+", "{{",
                       "^%d+[%)%.]%s+()", "%d", "[%+%d]", "\224[\164\165]", "(['%-])(%a)", "^(%d)%1%1%1%1%1%1%1%1%1$" }
    local k = 0
    for _, m in ipairs(messages) do
      for _, p in ipairs(patterns) do
        k = k + 1
        local d = differ(m, p, k)
        assert(d == nil, d)
      end
    end
  end)
end)

---------------------------------------------------------------- budgets

-- a tenant state as tenant_boot.lua makes it: the guard runs first
local function tenant(name, code)
  local ts = tstate.new{ name = name }
  local ok, err = ts:eval('require "host.tenant_guard"\n' .. code .. '\nreturn "loaded"', "")
  assert(ok, err)
  return ts
end

describe("pattern in a tenant state", function()
  local BOMBS = {
    match = 'return tostring(("a"):rep(60):match(("a.*"):rep(12) .. "b"))',
    find = 'return tostring(string.find(("a"):rep(60), ("(a-)"):rep(10) .. "b"))',
    gsub = 'return (("a"):rep(60):gsub(("a*"):rep(12) .. "b", "x"))',
    gmatch = 'for m in ("ab"):rep(40):gmatch(("[ab]*"):rep(10) .. "c") do return m end return "none"',
  }
  for _, op in ipairs({ "match", "find", "gsub", "gmatch" }) do
    it(("ends a %s bomb within 5 ms of CPU ('pattern too complex') and then serves the next call"):format(op), function()
      local ts = tenant("pat-" .. op, "function bomb() " .. BOMBS[op] .. " end\n"
        .. 'function fine() return ("Hello there, world"):match("(%a+)$") end')
      local t0 = time.monotonic()
      local ok, err = ts:call("bomb", "", 0.1)
      local took = time.monotonic() - t0
      assert.is_false(ok)
      -- one call may not hold the worker past 5 ms (the budget would let it run 100 ms)
      assert.truthy(err:find("pattern too complex: one call ran over 5 ms", 1, true), err)
      assert.truthy(took < 1, took)
      local ok2, r2 = ts:call("fine", "", 0.1)
      assert.is_true(ok2, r2)
      assert.are.equal("world", r2)
      ts:close()
    end)
  end

  it("uses the bounded matcher for method calls too (s:match)", function()
    local ts = tenant("pat-method", [[function same()
      local p = require "pattern"
      local s = getmetatable("").__index
      return tostring(s.find == p.find and s.match == p.match and s.gmatch == p.gmatch and s.gsub == p.gsub)
    end]])
    local ok, r = ts:call("same", "", 0.1)
    assert.is_true(ok, r)
    assert.are.equal("true", r)
    ts:close()
  end)

  it("matches a 4,096-byte chat message and 64 KB subjects within a turn's budget", function()
    local ts = tenant("pat-long", [[function long(n)
      n = tonumber(n)
      local s = ("Book a wash at 10:30 tomorrow, ok? "):rep(n):sub(1, n)
      local words = 0
      for _ in s:gmatch("%S+") do words = words + 1 end
      local trimmed = s:match("^%s*(.*%S)") or ""
      local _, commas = s:gsub(",", ";")
      local at = s:find("(%d%d?):(%d%d)")
      return table.concat({ #trimmed, words, commas, at }, " ")
    end]])
    for _, n in ipairs({ 4096, 64 * 1024 }) do
      local ok, r = ts:call("long", tostring(n), 0.1)
      assert.is_true(ok, r)
      local s = ("Book a wash at 10:30 tomorrow, ok? "):rep(n):sub(1, n)
      local words = 0
      for _ in s:gmatch("%S+") do words = words + 1 end
      local _, commas = s:gsub(",", ";")
      assert.are.equal(table.concat({ #(s:match("^%s*(.*%S)") or ""), words, commas, (s:find("(%d%d?):(%d%d)")) }, " "), r)
    end
    ts:close()
  end)
end)
