-- kill -9 of the host while 1,000 Telegram messages are in flight, then a
-- restart on the same Redis: every acknowledged message is answered exactly
-- once. The sends in flight at the kill (40-110 of them) were journaled as
-- they went on the wire, so the restarted host (in_doubt = "skip" here;
-- tests/storm runs the default "resend") counts them as sent instead of
-- sending them again.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"
local redis = require "redis"

local TOKEN = "888000:" .. crypto.random_hex(12)
local SECRET = "tgc_" .. crypto.random_hex(8)
local N = 1000

describe("telegram: kill -9 with messages in flight", function()
  local fake, fake_url, port
  setup(function()
    redis.call("EVAL", "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1",
      0, "fh:*{carwash}:telegram:*")
    fake = vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    fake_url = fake.url
  end)
  teardown(function() if fake then fake:stop() end end)

  local function start()
    return proc.start{ config = "config/flowhost.lua", port = port, env = { FLOWHOST_WORKERS = 2,
      CARWASH_TELEGRAM_TOKEN = TOKEN, CARWASH_TELEGRAM_SECRET = SECRET, TELEGRAM_API_URL = fake_url,
      FLOWHOST_STREAM_CLAIM_IDLE_MS = 1500, CARWASH_TELEGRAM_RATE = 100000, CARWASH_IN_DOUBT = "skip" } }
  end

  local function replies()
    local r = assert(http.request{ url = fake_url .. "/_control/sent?token=" .. TOKEN .. "&method=sendMessage", timeout = 30 })
    local per = {}
    for _, m in ipairs(json.decode(r.body).sent) do
      if m.status == 200 then
        local c = tostring(m.params.chat_id)
        per[c] = (per[c] or 0) + 1
      end
    end
    return per
  end

  it("answers every acknowledged message, running each turn once", function()
    local s = start()
    port = s.port
    local base = tonumber(crypto.random_hex(4), 16) * 1000
    local acked = {}
    local reqs = {}
    for i = 1, N do
      local chat = base + i
      reqs[#reqs + 1] = { method = "POST", url = s.url .. "/webhooks/carwash/telegram", timeout = 10,
        headers = { ["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = SECRET },
        body = json.encode{ update_id = base + i, message = { message_id = 1, date = 1,
          from = { id = chat, first_name = "Ana" }, chat = { id = chat, type = "private" }, text = "hi" } } }
    end
    for b = 1, N, 100 do
      local batch = {}
      for i = b, math.min(b + 99, N) do batch[#batch + 1] = reqs[i] end
      for k, r in ipairs(http.all(batch)) do
        if r.status == 200 then acked[tostring(base + b + k - 1)] = true end
      end
    end
    -- kill it while it is answering
    proc.wait_until(function()
      local n = 0
      for _ in pairs(replies()) do n = n + 1 end
      return n > 100
    end, 10, 0.01)
    proc.stop(s, "KILL")
    local at_kill = 0
    for _ in pairs(replies()) do at_kill = at_kill + 1 end
    s = start()
    local t0 = time.monotonic()
    local per
    repeat
      time.sleep(0.5)
      per = replies()
      local done = 0
      for c in pairs(acked) do if (per[c] or 0) >= 2 then done = done + 1 end end
      if done == N then break end
    until time.monotonic() - t0 > 60
    local m = http.request{ url = s.url .. "/metrics", timeout = 5 }
    local doubt = m and m.body:match('flowhost_replies_in_doubt_total{tenant="carwash",outcome="skipped"} (%d+)') or "0"
    proc.stop(s)
    local missing, twice, nacked = 0, 0, 0
    for c in pairs(acked) do
      nacked = nacked + 1
      local n = per[c] or 0
      if n < 2 then missing = missing + 1 elseif n > 2 then twice = twice + 1 end
    end
    io.stderr:write(("\n  kill -9: %d acknowledged, %d chats answered before the kill, %s sends in doubt, after restart %d unanswered, %d answered twice (%.1f s)\n")
      :format(nacked, at_kill, doubt, missing, twice, time.monotonic() - t0))
    assert.are.equal(N, nacked)
    assert.are.equal(0, missing)
    -- one turn per chat: exactly the two texts of one greeting, each once
    local r = assert(http.request{ url = fake_url .. "/_control/sent?token=" .. TOKEN .. "&method=sendMessage", timeout = 30 })
    local texts = {}
    for _, m in ipairs(json.decode(r.body).sent) do
      local c = tostring(m.params.chat_id)
      texts[c] = texts[c] or {}
      texts[c][m.params.text] = true
    end
    for c in pairs(acked) do
      local n = 0
      for _ in pairs(texts[c] or {}) do n = n + 1 end
      assert.are.equal(2, n)
    end
    assert.are.equal(0, twice)
  end)
end)
