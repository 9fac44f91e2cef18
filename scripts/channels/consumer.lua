--- channels.consumer: answers the messages of the inbound streams.
--
-- Every worker reads the streams of the tenants pinned to it with the
-- consumer group "flowhost" (no blocking reads: the worker's one Redis
-- connection is shared). Messages of one conversation are handled one at a
-- time in stream order. For each message: run the turn (the turn itself
-- is idempotent by the provider's message id), keep its replies in an
-- outbox keyed by that id, send them through the channel (retrying 429 after
-- the hinted wait, 5xx with backoff; each send journaled, see send()), then
-- XACK. A message a crashed host
-- left unacknowledged is claimed again after 30 s; one that failed 10 times
-- goes to the tenant's dead-letter stream with its error, and one it can
-- never use (fields missing or odd, see usable()) goes there at once, with
-- the reason: neither is retried for ever, nor holds up its conversation.
-- Acknowledged entries are trimmed from the stream every few seconds.
--
-- Bursts: people type "hi" / "I want a wash" / "tomorrow" as three
-- messages. Text messages of one conversation that arrive within the
-- tenant's `debounce_ms` (default FLOWHOST_DEBOUNCE_MS, else 1,500 ms; the JSON chat API and
-- Vapi do not come through this consumer and never wait) of each other
-- become one turn, their texts in order, answered once: the turn waits
-- until debounce_ms has passed since the latest of them (at most
-- MAX_DEBOUNCE_WAITS of them). A button tap, media or a location is
-- never merged. The merged turn runs under the first message's id; the
-- others get an empty outbox that points to it, so a redelivery after a
-- crash answers nothing twice.
local redis = require "redis"
local json = require "json"
local host = require "host"
local time = require "time"
local log = require "log"
local tenants = require "flow.tenants"
local registry = require "channels.registry"
local inbound = require "channels.inbound"
local turns = require "channels.turn"
local receipts = require "channels.receipts"
local doubt = require "channels.doubt"
local order = require "channels.order"
local S = require "channels.shape"

local M = {}

local GROUP = "flowhost"
local OUTBOX_TTL = 7 * 24 * 3600
local CLAIM_IDLE_MS = tonumber(os.getenv("FLOWHOST_STREAM_CLAIM_IDLE_MS")) or 30000
-- claims (and touch(): a live consumer's entries never reach CLAIM_IDLE_MS)
-- run this often: at most every 5 s, three times within CLAIM_IDLE_MS
local CLAIM_EVERY = math.min(5, CLAIM_IDLE_MS / 3000)
local MAX_DELIVERIES = 10
local SEND_ATTEMPTS = 5
-- the platform's default (FLOWHOST_DEBOUNCE_MS; tenants set debounce_ms)
local DEBOUNCE_MS = tonumber(os.getenv("FLOWHOST_DEBOUNCE_MS")) or 1500
local MAX_DEBOUNCE_WAITS = 5
-- how long a reply in doubt waits for the vendor's status callback (WhatsApp,
-- Twilio) before the tenant's in_doubt rule decides
local CONFIRM_WAIT = tonumber(os.getenv("FLOWHOST_DOUBT_WAIT_S")) or 5
-- an entry whose conversation has an earlier one pending on another host
-- waits for it (channels.order) this long at most, well before the claim
-- could hand the entry to a third host; then the claim brings it back
local ORDER_WAIT = CLAIM_IDLE_MS / 2000

-- unique per process (several hosts on one machine share HOSTNAME, and may
-- start within one second): the group tells their pending entries apart
local consumer = ("%s-%d-%s-%d"):format(os.getenv("HOSTNAME") or "host", math.floor(time.now()),
                                       require("crypto").random_hex(3), host.worker())

-- entries this worker is handling now (id -> its stream): a claim must not
-- hand them out again, here or on another host (see touch())
local inflight = {}

local function fields(list)
  local f = {}
  if type(list) ~= "table" then return f end       -- an entry deleted meanwhile: nil
  for i = 1, #list - 1, 2 do
    if type(list[i]) == "string" then f[list[i]] = list[i + 1] end
  end
  return f
end

-- an entry as handle() reads it (channels.inbound writes it so; anything
-- else, e.g. written by an older version or by hand, is dead-lettered at
-- once instead of failing its ten deliveries)
local ENTRY = S.object{ channel = S.string(), id = S.id(), conversation = S.id(100), msg = S.string(),
                        name = S.opt(S.string()), rep = S.opt(S.string(64)) }
local MSG = S.object{ text = S.opt(S.string()), button = S.opt(S.either(S.string(), S.integer())),
                      kind = S.opt(S.string()), callback = S.opt(S.id()), media = S.opt(S.object{}),
                      location = S.opt(S.object{}), contacts = S.opt(S.list(S.any())) }

-- -> msg | nil, word, detail
local function usable(f)
  local ok, word, detail = S.check(f, ENTRY)
  if not ok then return nil, word, detail end
  if not registry.adapter(f.channel) then return S.fail("bad value", "channel: no channel '" .. f.channel .. "'") end
  if f.rep and not f.rep:match("^[%w_%-]+$") then return S.fail("bad value", "rep: not a rep id") end
  local msg, jerr = json.decode(f.msg)
  if msg == nil then return S.fail("bad json", "msg: " .. tostring(jerr)) end
  ok, word, detail = S.check(msg, MSG, "msg")
  if not ok then return nil, word, detail end
  return msg
end

local function outbox_key(tenant, f) return ("fh:out:{%s}:%s:%s"):format(tenant, f.channel, f.id) end

-- the tenant's send rate per channel (channels.<name>.rate, messages a
-- second, default 20): a window per second in Redis, shared by all hosts
local function take_slot(tenant, channel, rate)
  while true do
    local now = time.now()
    local sec = math.floor(now)
    local key = ("fh:rate:{%s}:%s:%d"):format(tenant, channel, sec)
    local r = redis.pipeline{ { "INCR", key }, { "EXPIRE", key, 2 } }
    local n = r and tonumber(r[1])
    if not n or n <= rate then return end
    time.sleep(sec + 1 - now + 0.001)
  end
end

-- the errors that are the vendor's answer (it did not take the message);
-- any other (timeout, closed, reset) may come after the request arrived
local function answered(err)
  return err == "rate limited" or err == "unavailable" or (type(err) == "string" and err:find("^rejected") ~= nil)
end

-- Exactly-once as far as a vendor without idempotency keys allows: each
-- attempt carries a journal write, "reply i is being sent", that the HTTP
-- client sends to Redis at the instant the request goes on the wire (not
-- before it, while it may still wait for a connection; not after it). A
-- host killed mid-send leaves the mark: on redelivery that reply is "in
-- doubt"; so is one whose connection broke after the mark was written
-- (in_doubt() finds the mark). channels.doubt decides: the vendor's status
-- callback, else the tenant's in_doubt rule (resend, or count it as sent).
-- An attempt the vendor refused clears the mark before it is retried.
local function send(adapter, creds, to, reply, limit, mark, in_doubt, ref)
  local wait = 0.5
  for attempt = 1, SEND_ATTEMPTS do
    if limit then take_slot(limit.tenant, limit.channel, limit.rate) end
    local ok, err, retry_after = adapter.send(creds, to, reply, mark(true), ref)
    if ok then return true, nil, nil, err end      -- err: the provider's message id, if any
    if not answered(err) and in_doubt() then return true end
    mark(false)
    if err and err:find("^rejected") then return nil, err, true end      -- permanent: do not retry
    if attempt == SEND_ATTEMPTS then return nil, err end
    time.sleep(retry_after and math.min(retry_after, 60) or wait)
    wait = math.min(wait * 2, 8)
  end
end

-- one message (and the texts of the later ones merged into it); true when
-- it is done (acknowledge it), false, word, detail when it can never be
-- (dead-letter it now), else nil, err (retried)
local function handle(tenant, settings, f, merged)
  local msg, word, detail = usable(f)
  if not msg then return false, word, detail end
  local adapter = registry.adapter(f.channel)
  local creds = adapter and registry.creds(registry.for_rep(settings, f.rep), f.channel)
  if not creds then return nil, "channel " .. tostring(f.channel) .. " not enabled" end
  local key = outbox_key(tenant, f)
  local box = redis.call("GET", key)
  box = type(box) == "string" and json.decode(box) or nil
  if not box then
    local replies
    if msg.kind == "unsupported" then
      replies = { { text = settings.only_text or "Sorry, I can only read text messages." } }
    else
      -- media (with its id), a location or contacts reach the flow as they are
      local text = msg.text
      for _, m in ipairs(merged or {}) do text = text .. "\n" .. m.text end
      -- a sales rep's message (channels.reps) runs as "<tenant>.<rep>"
      local res, err = turns.run(f.rep and (tenant .. "." .. f.rep) or tenant, f.channel .. ":" .. f.conversation, {
        text = text, button = msg.button, kind = msg.kind, media = msg.media,
        location = msg.location, contacts = msg.contacts }, { mid = f.channel .. ":" .. f.id })
      if not res then return nil, tostring(err) end
      replies = res.replies
    end
    if adapter.ack_button then adapter.ack_button(creds, msg.callback) end
    box = { replies = replies, sent = 0 }
    local writes = { { "SET", key, json.encode(box), "EX", OUTBOX_TTL } }
    for _, m in ipairs(merged or {}) do
      writes[#writes + 1] = { "SET", outbox_key(tenant, m.f), json.encode{ replies = {}, sent = 0, merged_into = f.id },
                              "EX", OUTBOX_TTL }
    end
    redis.pipeline(writes)
  end
  local wait = adapter.confirms and CONFIRM_WAIT or 0     -- vendors with status callbacks
  local function where(i) return { channel = f.channel, id = f.id, conversation = f.conversation, reply = i } end
  if box.sending and box.sending == box.sent + 1 then
    -- the host died while this reply was being sent: it went out, or
    -- nearly (channels.doubt: the vendor's word, else the tenant's rule)
    if doubt.resolve(tenant, settings, where(box.sending), wait) then box.sent = box.sending end
    box.sending = nil
    box.doubt = (box.doubt or 0) + 1
    redis.call("SET", key, json.encode(box), "EX", OUTBOX_TTL)
  end
  for i = box.sent + 1, #box.replies do
    -- a human-like pause: "typing…", then a delay that grows with the text
    if creds.typing and adapter.typing then
      adapter.typing(creds, f.conversation)
      local per = tonumber(creds.delay_per_char) or 0
      if per > 0 then time.sleep(math.min(#(box.replies[i].text or "") * per, tonumber(creds.max_delay) or 3)) end
    end
    -- mark(true): the journal command for the request; mark(false): cleared
    local function mark(on)
      box.sending = on and i or nil
      local cmd = { "SET", key, json.encode(box), "EX", OUTBOX_TTL }
      box.sending = nil
      if on then return cmd end
      redis.call(unpack(cmd))
    end
    -- the attempt broke off after its mark was written: nil when it never
    -- went on the wire, else true (count it as sent) or false (send again)
    local function in_doubt()
      local cur = redis.call("GET", key)
      cur = type(cur) == "string" and json.decode(cur) or nil
      if not (cur and cur.sending == i) then return nil end
      box.doubt = (box.doubt or 0) + 1
      return doubt.resolve(tenant, settings, where(i), wait)
    end
    local ok, err, permanent, sent_id = send(adapter, creds, f.conversation, box.replies[i],
      { tenant = tenant, channel = f.channel, rate = tonumber(creds.rate) or 20 }, mark, in_doubt,
      doubt.ref(f.channel, f.id, i))
    if not ok and not permanent then return nil, err end
    if not ok then log.warn("reply rejected by the channel", { tenant = tenant, channel = f.channel, err = err }) end
    box.sent, box.sending = i, nil
    local writes = { { "SET", key, json.encode(box), "EX", OUTBOX_TTL } }
    if sent_id then
      -- delivery receipts come back by this id (routes/webhooks.lua)
      box.ids = box.ids or {}
      box.ids[i] = sent_id
      writes[1][3] = json.encode(box)
    end
    redis.pipeline(writes)
    if sent_id then receipts.record(tenant, sent_id, { status = "accepted", conversation = f.conversation }) end
  end
  return true
end

-- the original fields of entry e, after ours
local function with_entry(e, list)
  for _, v in ipairs(type(e[2]) == "table" and e[2] or {}) do list[#list + 1] = v end
  return list
end

-- the entries of a conversation waiting in this worker, by tenant and
-- conversation: one task works through each queue, in order
local queues = {}

local function arrival_ms(e) return tonumber(tostring(e[1]):match("^(%d+)%-")) or 0 end

-- a plain text message that may be merged with its neighbours
local function text_of(e)
  local f = fields(e[2])
  local msg = usable(f)
  if msg and type(msg.text) == "string" and msg.button == nil and (msg.kind == nil or msg.kind == "text") then
    return { f = f, text = msg.text }
  end
end

-- the first entry of q and the text entries right after it that came
-- within the debounce time of each other; waits for the quiet time
local function take_burst(q, debounce)
  local first = text_of(q[1])
  if debounce <= 0 or not first then return 1, nil end
  local n, waits = 1, 0
  while true do
    while q[n + 1] and text_of(q[n + 1]) and arrival_ms(q[n + 1]) - arrival_ms(q[n]) <= debounce do n = n + 1 end
    local quiet_at = arrival_ms(q[n]) / 1000 + debounce / 1000
    local now = time.now()
    if now >= quiet_at or waits >= MAX_DEBOUNCE_WAITS then break end
    waits = waits + 1
    local before = #q
    time.sleep(quiet_at - now)
    if #q == before then break end
  end
  local merged = {}
  for i = 2, n do merged[#merged + 1] = text_of(q[i]) end
  return n, merged
end

-- Answers q[1] (with the n - 1 entries merged into it) and acknowledges
-- them; a next entry of the conversation handed to this consumer meanwhile
-- (channels.order) is put first in q. -> false when q must wait for the
-- claim (the message could not be answered now)
local function answer_first(tenant, stream, q, n, merged, settings)
  local e = q[1]
  local f = fields(e[2])
  if n > 1 then                                  -- merge only what follows it in the line
    local ids = {}
    for i = 1, n do ids[i] = q[i][1] end
    local k = math.max(order.leading(tenant, f, ids), 1)
    for i = n, k + 1, -1 do merged[i - 1] = nil end
    n = k
  end
  local ok, done, why, detail = pcall(handle, tenant, settings, f, merged)
  local nxt
  if ok and done == false then
    log.warn("inbound entry the host cannot use: moved to the dead-letter stream",
             { tenant = tenant, entry = e[1], reason = why, detail = detail })
    local dead = inbound.dead_letter(tenant, why, with_entry(e, { "source", "stream", "entry", e[1],
                                     "error", why .. ": " .. tostring(detail) }))
    if dead then _, nxt = order.done(tenant, f, stream, GROUP, e[1], consumer) end   -- else the claim brings it back
    inflight[e[1]] = nil
    table.remove(q, 1)
  elseif ok and done == true then
    for _ = 1, n do
      local _, handed = order.done(tenant, fields(q[1][2]), stream, GROUP, q[1][1], consumer)
      nxt = handed or nxt
      inflight[q[1][1]] = nil
      table.remove(q, 1)
    end
  else
    log.warn("inbound message not answered yet", { tenant = tenant, entry = e[1],
                                                   err = tostring(ok and why or done) })
    return false
  end
  if nxt and not inflight[nxt] then               -- handed here: not read by this worker
    local got = redis.call("XRANGE", stream, nxt, nxt)
    local entry = type(got) == "table" and got[1]
    if entry and type(entry[2]) == "table" then
      inflight[nxt] = stream
      table.insert(q, 1, entry)
    end
  end
  return true
end

local function process(tenant, stream, qkey)
  local q = queues[qkey]
  local asked, st = pcall(tenants.status, tenant)   -- (a raise here would leave the queue stuck)
  local settings = asked and type(st) == "table" and st.settings or {}
  local debounce = tonumber(settings.debounce_ms) or DEBOUNCE_MS
  while #q > 0 do
    local n, merged = take_burst(q, debounce)
    local e = q[1]
    -- its turn in the conversation: earlier messages read by other hosts first
    local first, werr = order.wait_first(tenant, fields(e[2]), e[1], stream, GROUP, ORDER_WAIT, consumer)
    if first == "handed" then
      -- the host answering the conversation's earlier message took this one
      -- too: it answers it next (order.done)
      inflight[e[1]] = nil
      table.remove(q, 1)
    elseif not first then
      log.warn("inbound message waits for an earlier one of its conversation", { tenant = tenant, entry = e[1],
                                                                                  err = tostring(werr) })
      for _, left in ipairs(q) do inflight[left[1]] = nil end
      break                                      -- keep order: the claim brings them back
    elseif not answer_first(tenant, stream, q, n, merged, settings) then
      for _, left in ipairs(q) do inflight[left[1]] = nil end
      break                                      -- keep order: the rest waits for the claim
    end
  end
  queues[qkey] = nil
end

-- entries of one stream, one task per conversation, in order (entries of
-- a conversation whose task is still at work join its queue)
local function dispatch(tenant, stream, entries)
  for _, e in ipairs(entries) do
    inflight[e[1]] = stream
    local qkey = tenant .. "\0" .. (fields(e[2]).conversation or "?")
    local q = queues[qkey]
    if q then
      q[#q + 1] = e
    else
      queues[qkey] = { e }
      host.spawn(process, tenant, stream, qkey)
    end
  end
end

local function dead_letters(tenant, stream)
  local pending = redis.call("XPENDING", stream, GROUP, "IDLE", CLAIM_IDLE_MS, "-", "+", 64)
  if type(pending) ~= "table" then return end
  for _, p in ipairs(pending) do
    if p[4] and p[4] >= MAX_DELIVERIES and not inflight[p[1]] then
      local got = redis.call("XRANGE", stream, p[1], p[1])
      local e = type(got) == "table" and got[1] or {}
      local dead = inbound.dead_letter(tenant, "not answered", with_entry(e, { "source", "stream", "entry", p[1],
                                       "deliveries", p[4], "error", "not answered after retries" }))
      if dead then order.done(tenant, fields(e[2]), stream, GROUP, p[1]) end
      log.error("inbound message moved to the dead-letter stream", { tenant = tenant, entry = p[1] })
    end
  end
end

-- entries every consumer has acknowledged are dropped from the stream (it
-- would otherwise grow for ever): everything older than both the oldest
-- pending entry and the last one handed out
function M.trim(stream)
  local last
  local groups = redis.call("XINFO", "GROUPS", stream)
  for _, g in ipairs(type(groups) == "table" and groups or {}) do
    local f = fields(g)
    if f.name == GROUP then last = f["last-delivered-id"] end
  end
  if not last then return end
  local pending = redis.call("XPENDING", stream, GROUP)
  local oldest = type(pending) == "table" and type(pending[2]) == "string" and pending[2] or nil
  local function older(a, b)
    local am, as = a:match("^(%d+)-(%d+)$")
    local bm, bs = b:match("^(%d+)-(%d+)$")
    if not (am and bm) then return a end
    if #am ~= #bm then return #am < #bm and a or b end
    if am ~= bm then return am < bm and a or b end
    return tonumber(as) <= tonumber(bs) and a or b
  end
  local min = oldest and older(oldest, last) or last
  redis.call("XTRIM", stream, "MINID", "~", min)
end

-- the entries this worker is on (a queue behind a slow turn, a send
-- waiting out a rate limit) are claimed again by their own consumer, which
-- resets their idle time: a live consumer's entries never reach
-- CLAIM_IDLE_MS, so no other host (or worker) takes them over and answers
-- them a second time, and their delivery count does not grow
local function touch(stream)
  local ids = {}
  for id, s in pairs(inflight) do                -- (collected first: the calls yield)
    if s == stream then ids[#ids + 1] = id end
  end
  -- (only entries this consumer still holds: one another host took over
  -- when this one was stalled stays there)
  local ok, err = order.keep(stream, GROUP, consumer, ids)
  if not ok then log.error("keeping stream entries failed", { stream = stream, error = tostring(err) }) end
end

-- entries idle past CLAIM_IDLE_MS (their consumer died, or gave up on
-- them) are taken over, all of them, except those this worker is on
local function claim(tenant, stream)
  touch(stream)
  dead_letters(tenant, stream)
  M.trim(stream)
  local cursor = "0-0"
  repeat
    local r = redis.call("XAUTOCLAIM", stream, GROUP, consumer, CLAIM_IDLE_MS, cursor, "COUNT", 256)
    if type(r) ~= "table" then return end
    cursor = r[1]
    local fresh = {}
    for _, e in ipairs(type(r[2]) == "table" and r[2] or {}) do
      if not inflight[e[1]] and type(e[2]) == "table" then fresh[#fresh + 1] = e end
    end
    if #fresh > 0 then dispatch(tenant, stream, fresh) end
  until cursor == "0-0"
end

function M.start()
  host.spawn(function()
    time.sleep(0.3)
    local groups, last_claim = {}, 0
    while true do
      local keys, ids = {}, {}
      for _, id in ipairs(tenants.owned()) do
        -- (never stops this loop: a worker asked while the host stops is gone)
        local asked, st = pcall(tenants.status, id)
        if asked and st and st.settings and st.settings.channels then
          local k = inbound.stream(id)
          if not groups[k] then
            local ok, err = redis.call("XGROUP", "CREATE", k, GROUP, "0", "MKSTREAM")
            groups[k] = ok ~= nil or (err or ""):find("BUSYGROUP", 1, true) ~= nil   -- exists: fine
          end
          if groups[k] then keys[#keys + 1], ids[#ids + 1] = k, id end
        end
      end
      local got = false
      if #keys > 0 then
        local args = { "XREADGROUP", "GROUP", GROUP, consumer, "COUNT", 64, "STREAMS" }
        for _, k in ipairs(keys) do args[#args + 1] = k end
        for _ = 1, #keys do args[#args + 1] = ">" end
        local res, rerr = redis.call(unpack(args))
        -- a Redis that lost the group (restarted empty, or a failover before
        -- the group reached the replica): make it again
        if rerr and rerr:find("NOGROUP", 1, true) then groups = {} end
        if type(res) == "table" then
          for _, s in ipairs(res) do
            local tenant = s[1]:match("^fh:in:{(.*)}$")
            if tenant and #s[2] > 0 then got = true; dispatch(tenant, s[1], s[2]) end
          end
        end
        if time.monotonic() - last_claim > CLAIM_EVERY then
          last_claim = time.monotonic()
          for i, k in ipairs(keys) do claim(ids[i], k) end
        end
      end
      if not got then time.sleep(#keys > 0 and 0.02 or 1) end
    end
  end)
end

return M
