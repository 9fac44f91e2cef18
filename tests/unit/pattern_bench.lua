-- Speed of the `pattern` module against LuaJIT's own string functions on
-- the runtime library's patterns and chat-sized messages, with the JIT off
-- as in tenant states. Not a spec (timings vary with the machine); run:
--   flowhost test tests/unit/pattern_bench.lua
-- It prints, per case, flowhost's time over LuaJIT's (below 1: faster),
-- measured twice: in this main state, and inside a tenant state, where
-- the matcher's budget checks (fh_tstate_check) cost a clock read each.
local tstate = require "tstate"

-- a chunk that runs in either state and returns run() -> the report as text
local BENCH = [==[
local pattern = require "pattern"
local LJ = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }
local FH = pattern
local clock, fmt = os.clock, string.format

local MESSAGES = {
  "Hi, I want to book a car wash tomorrow at 10:30am for MH12AB1234",
  "mera naam Rahul Sharma hai, phone 9123456780",
  "ok",
  "cancel my booking pls!!! 25/11/2026 ok? my email is rahul.s@example.com",
  ("Hello, I would like a full detailing and interior vacuum for my car, "
   .. "a white Swift, plate KA05MN4321, on Saturday 28/11 around 11 am or else "
   .. "Sunday morning. Also, is there any discount for regular customers? "
   .. "I have been coming for two years now. Please confirm by WhatsApp at "
   .. "9876543210 or mail me at someone@example.org. Thanks!"):sub(1, 400),
}
local CHARS = { "a", "1", " ", ".", "," }

local function gm(impl, s, p) local n = 0 for _ in impl.gmatch(s, p) do n = n + 1 end return n end
local function cap(s, m) return m:upper() end

-- name, subjects, function(impl, s)
local CASES = {
  { "find %S", MESSAGES, function(I, s) return I.find(s, "%S") end },
  { "find %d from 5", MESSAGES, function(I, s) return I.find(s, "%d", 5) end },
  { "find 1 char %a", CHARS, function(I, s) return I.find(s, "%a") end },
  { "find 1 char [%w:/%.%-]", CHARS, function(I, s) return I.find(s, "[%w:/%.%-]") end },
  { "find , (plain)", MESSAGES, function(I, s) return I.find(s, ",") end },
  { "find word, plain", MESSAGES, function(I, s) return I.find(s, "booking", 1, true) end },
  { "find ^unknown tenant", MESSAGES, function(I, s) return I.find(s, "^unknown tenant") end },
  { "find %f[%a]but%f[%A]", MESSAGES, function(I, s) return I.find(s, "%f[%a]but%f[%A]") end },
  { "find date y-m-d", MESSAGES, function(I, s) return I.find(s, "(%d%d%d%d)%-(%d%d?)%-(%d%d?)") end },
  { "find date d/m/y", MESSAGES, function(I, s) return I.find(s, "(%d%d?)([/%.%-])(%d%d?)%2(%d+)") end },
  { "find %w+ from 3", MESSAGES, function(I, s) return I.find(s, "%w+", 3) end },
  { "find [%+%d]", MESSAGES, function(I, s) return I.find(s, "[%+%d]") end },
  { "find %?%s*$", MESSAGES, function(I, s) return I.find(s, "%?%s*$") end },
  { "find email", MESSAGES, function(I, s) return I.find(s, "[%w%.%-_]+@[%w%-]+%.[%a%.]+") end },
  { "match ^%s*()", MESSAGES, function(I, s) return I.match(s, "^%s*()") end },
  { "match ^%s*(.-)%s*$", MESSAGES, function(I, s) return I.match(s, "^%s*(.-)%s*$") end },
  { "match ^[%w_%-]+$", MESSAGES, function(I, s) return I.match(s, "^[%w_%-]+$") end },
  { "match ^(%w+):(.+)$", MESSAGES, function(I, s) return I.match(s, "^(%w+):(.+)$") end },
  { "match ^(%d%d?)() at 4", MESSAGES, function(I, s) return I.match(s, "^(%d%d?)()", 4) end },
  { "match %.(%a+)$", MESSAGES, function(I, s) return I.match(s, "%.(%a+)$") end },
  { "match ^%s*(%d+)%s*[%.%)]?%s*$", MESSAGES, function(I, s) return I.match(s, "^%s*(%d+)%s*[%.%)]?%s*$") end },
  { "gmatch %S+", MESSAGES, function(I, s) return gm(I, s, "%S+") end },
  { "gmatch [^,]+", MESSAGES, function(I, s) return gm(I, s, "[^,]+") end },
  { "gmatch %a+", MESSAGES, function(I, s) return gm(I, s, "%a+") end },
  { "gsub %s+", MESSAGES, function(I, s) return I.gsub(s, "%s+", " ") end },
  { "gsub ^%s+", MESSAGES, function(I, s) return I.gsub(s, "^%s+", "") end },
  { "gsub %s+$", MESSAGES, function(I, s) return I.gsub(s, "%s+$", "") end },
  { "gsub %p", MESSAGES, function(I, s) return I.gsub(s, "%p", "") end },
  { "gsub %S+@%S+", MESSAGES, function(I, s) return I.gsub(s, "%S+@%S+", "<email>") end },
  { "gsub %a+://%S+", MESSAGES, function(I, s) return I.gsub(s, "%a+://%S+", "<url>") end },
  { "gsub (['%-])(%a) fn", MESSAGES, function(I, s) return I.gsub(s, "(['%-])(%a)", cap) end },
  { "gsub escape specials", MESSAGES, function(I, s) return I.gsub(s, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0") end },
}

local function time(impl, f, subjects, n)
  local t0 = clock()
  for _ = 1, n do
    for i = 1, #subjects do f(impl, subjects[i]) end
  end
  return clock() - t0
end

local function run()
  local jit_was_on = jit.status()
  jit.off()
  local ratios, lines = {}, {}
  for _, c in ipairs(CASES) do
    local name, subjects, f = c[1], c[2], c[3]
    -- as many rounds as take LuaJIT ~10 ms; best of 3 on each side
    local n = 1
    while time(LJ, f, subjects, n) < 0.01 do n = n * 2 end
    local best_lj, best_fh = math.huge, math.huge
    for _ = 1, 3 do
      best_lj = math.min(best_lj, time(LJ, f, subjects, n))
      best_fh = math.min(best_fh, time(FH, f, subjects, n))
    end
    local calls = n * #subjects
    local r = best_fh / best_lj
    ratios[#ratios + 1] = r
    lines[#lines + 1] = fmt("%-34s LuaJIT %7.0f ns  flowhost %7.0f ns  ratio %.2f",
                            name, best_lj / calls * 1e9, best_fh / calls * 1e9, r)
  end
  table.sort(ratios)
  local log = 0
  for _, r in ipairs(ratios) do log = log + math.log(r) end
  lines[#lines + 1] = fmt("geometric mean %.2f, median %.2f, best %.2f, worst %.2f", math.exp(log / #ratios),
                          ratios[math.ceil(#ratios / 2)], ratios[1], ratios[#ratios])
  if jit_was_on then jit.on() end
  return table.concat(lines, "\n")
end
return run
]==]

describe("pattern speed", function()
  it("prints flowhost's time over LuaJIT's per case (JIT off), in the main state and in a tenant state", function()
    local run = assert(loadstring(BENCH))()
    print("\n-- main state\n" .. run())
    local ts = tstate.new{ name = "pattern-bench" }
    assert(ts:eval("local run = (function() " .. BENCH .. " end)()\nfunction bench() return run() end\nreturn 'ok'", ""))
    local ok, report = ts:call("bench", "", 600)
    assert(ok, report)
    print("-- tenant state\n" .. report)
    ts:close()
  end)
end)
