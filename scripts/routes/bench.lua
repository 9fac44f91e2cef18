-- Peer benchmark (../shared/bench): one conversation turn, the same work the
-- nginx and Node peers do.
--
--   POST /bench/turn      {"tenant":"t1","conversation":"c42","text":"..."}
--   POST /bench/turn_llm  the same, plus one POST to the fake LLM
--                         (BENCH_LLM_URL) while the lock is held; its text
--                         becomes the reply
--
-- A turn: parse (400 {"error":"bad request"}) -> lock lock:<t>:<c> with
-- SET NX PX 5000 (turns of one conversation queue in this process, whatever
-- worker they arrive on; another host's hold is polled with backoff; still
-- taken after the 5 s lease: 409
-- {"error":"busy"}) -> GET state:<t>:<c> -> [LLM call: failure 504] -> step
-- (scripts/bench/turn.lua) -> SET state:<t>:<c> <json> EX 86400 -> release
-- (compare-and-delete) -> 200 {"state":"...","reply":"..."}. A Redis error
-- gives 502. The lock is released on every path after it was taken.
local router = require "host.router"
local redis = require "redis"
local http = require "http"
local lock = require "lock"
local json = require "json"
local turn = require "bench.turn"

local call = redis.call
local request = http.request
local acquire, release = lock.acquire, lock.release
local parse, step = turn.parse, turn.step
local decode = json.decode
local pcall, type = pcall, type

local JSON = { ["Content-Type"] = "application/json" }
local BAD_REQUEST = '{"error":"bad request"}'
local BUSY = '{"error":"busy"}'
local LOCK_LEASE = 5                                   -- PX 5000
local LOCK_OPTS = { wait = LOCK_LEASE, fence = false }  -- wait our turn, up to the lease
local STATE_TTL = 86400

local LLM_URL = os.getenv("BENCH_LLM_URL")
if not LLM_URL or LLM_URL == "" then LLM_URL = "http://127.0.0.1:9000/v1/complete" end
local LLM_REQ = {
  method = "POST",
  url = LLM_URL,
  headers = { ["Content-Type"] = "application/json" },
  body = '{"model":"fake","prompt":"hello"}',
  timeout = 10,
}

local function failure(status, what, err)
  return status, '{"error":' .. json.encode(what .. ": " .. tostring(err)) .. '}', JSON
end

-- -> text | nil, err
local function ask_llm()
  local res, err = request(LLM_REQ)
  if not res then return nil, err end
  if res.status < 200 or res.status > 299 then return nil, "status " .. res.status end
  local j = decode(res.body)
  local text = type(j) == "table" and j.text
  if type(text) ~= "string" then text = "llm" end
  return text
end

local function handle(body, with_llm)
  local tenant, conversation, text = parse(body)
  if not tenant then return 400, BAD_REQUEST, JSON end

  local id = tenant .. ":" .. conversation
  local held, err = acquire(id, LOCK_LEASE, LOCK_OPTS)
  if not held then
    if err == "timeout" then return 409, BUSY, JSON end
    return failure(502, "redis", err)
  end

  -- from here on every path goes through release(held)
  local state_key = "state:" .. id
  local state
  state, err = call("GET", state_key)
  if state == nil then
    release(held)
    return failure(502, "redis", err)
  end

  local llm_text
  if with_llm then
    llm_text, err = ask_llm()
    if not llm_text then
      release(held)
      return failure(504, "llm", err)
    end
  end

  -- redis.null (a missing state) is not a string: step starts afresh
  local ok, new_state, reply = pcall(step, state, text, llm_text)
  if not ok then
    release(held)
    error(new_state, 0)                                -- 500, like the peers
  end

  local saved
  saved, err = call("SET", state_key, new_state, "EX", STATE_TTL)
  if saved == nil then
    release(held)
    return failure(502, "redis", err)
  end
  local released
  released, err = release(held)
  if released == nil then return failure(502, "redis", err) end
  return 200, reply, JSON
end

router.route("POST", "/bench/turn", function(req)
  return handle(req.body, false)
end)

router.route("POST", "/bench/turn_llm", function(req)
  return handle(req.body, true)
end)
