--- llm.retry: one logical call made of attempts, with backoff, Retry-After,
--- a total deadline and the error words of HTTP failures. Knows nothing
--- about LLMs: the LLM client (scripts/llm.lua) and the connectors
--- (scripts/connectors/http.lua) both use it.
--
--   retry.run{tries, timeout, deadline?}, attempt) -> value | nil, word
--       attempt(timeout, n) -> value | nil, word, advice
--         timeout: seconds this attempt may take = min(timeout, time left)
--         n: 1 for the first attempt
--         advice: {retry = true|false, after = seconds the server asked for}
--       Returns the first value, or the last word once an attempt is not to
--       be retried or `tries` attempts were made. Returns nil, "deadline"
--       instead of starting an attempt or a wait that cannot end before
--       `deadline` (an absolute time.now() value), and when an attempt cut
--       short by the deadline timed out. Yields (time.sleep). Call it from a
--       task.
--   retry.after(headers, now) -> seconds | nil
--       from retry-after-ms, else retry-after (seconds or an HTTP-date)
--   retry.backoff(n) -> seconds before retry n: full jitter, uniform in
--       [0, min(CAP, BASE * 2^(n-1))]
--   retry.transport(http_err) -> word, again
--       http.request's error -> "timeout" | "unavailable" | "bad answer" |
--       "bad request", and whether another attempt may help
--   retry.status(code) -> word, again
--       an HTTP error status -> "unauthorized" (401), "forbidden" (403),
--       "not found" (404), "timeout" (408, again), "conflict" (409), "gone"
--       (410), "invalid" (422), "rate limited" (429, again), "unavailable"
--       (5xx, again), "bad request" (any other)
--   retry.BASE = 0.25, retry.CAP = 4, retry.MAX_WAIT = 60 (a server asking
--       for a longer wait gets the word back at once: nobody waits a minute
--       in a conversation), retry.MIN_ATTEMPT = 0.05 (no attempt is started
--       with less time than this before the deadline)
local time = require "time"
local crypto = require "crypto"
local tz = require "tz"

local M = { BASE = 0.25, CAP = 4, MAX_WAIT = 60, MIN_ATTEMPT = 0.05 }

local min, max, floor = math.min, math.max, math.floor

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, the only form servers send)
local function http_date(s)
  local d, mon, y, hh, mm, ss = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d or not MONTHS[mon] then return nil end
  return (tz.to_utc({ year = tonumber(y), month = MONTHS[mon], day = tonumber(d), hour = tonumber(hh),
                      min = tonumber(mm), sec = tonumber(ss) }, "UTC"))
end

local TRANSPORT = {
  timeout = { "timeout", true },
  ["connection refused"] = { "unavailable", true },
  ["dns failed"] = { "unavailable", true },
  ["tls failed"] = { "unavailable", true },
  closed = { "unavailable", true },
  ["request failed"] = { "unavailable", true },
  ["response too large"] = { "bad answer", false },
  ["bad url"] = { "bad request", false },
}

function M.transport(err)
  local t = TRANSPORT[err] or TRANSPORT["request failed"]
  return t[1], t[2]
end

local STATUS = { [401] = "unauthorized", [403] = "forbidden", [404] = "not found", [408] = "timeout",
                 [409] = "conflict", [410] = "gone", [422] = "invalid", [429] = "rate limited" }

function M.status(code)
  if code >= 500 then return "unavailable", true end
  local word = STATUS[code] or "bad request"
  return word, code == 408 or code == 429
end

function M.after(headers, now)
  local ms = tonumber(headers["retry-after-ms"])
  if ms and ms >= 0 then return ms / 1000 end
  local ra = headers["retry-after"]
  if not ra then return nil end
  local secs = tonumber(ra)
  if secs and secs >= 0 then return secs end
  local at = http_date(ra)
  if at then return max(0, at - now) end
  return nil
end

-- uniform in [0, 1): from the CSPRNG, so workers sharing a seed never retry in step
local function uniform()
  local b1, b2, b3 = crypto.random(3):byte(1, 3)
  return (b1 * 65536 + b2 * 256 + b3) / 16777216
end

function M.backoff(n)
  return min(M.CAP, M.BASE * 2 ^ (n - 1)) * uniform()
end

function M.run(opts, attempt)
  local deadline = opts.deadline
  local n = 0
  while true do
    n = n + 1
    local timeout = opts.timeout
    if deadline then
      local left = deadline - time.now()
      if left < M.MIN_ATTEMPT then return nil, "deadline" end
      timeout = min(timeout, left)
    end
    local value, word, advice = attempt(timeout, n)
    if value ~= nil then return value end
    if word == "timeout" and deadline and time.now() >= deadline - M.MIN_ATTEMPT then
      return nil, "deadline"
    end
    if not (advice and advice.retry) or n >= opts.tries then return nil, word end
    local wait = advice.after
    if wait and wait > M.MAX_WAIT then return nil, word end
    wait = wait or M.backoff(n)
    if deadline and time.now() + wait + M.MIN_ATTEMPT > deadline then return nil, "deadline" end
    if wait > 0 then time.sleep(wait) end
  end
end

return M
