--- channels.order: the messages of one conversation are answered in the
--- order they arrived, whichever hosts read them from the tenant's stream.
--
--   order.append(tenant, stream, fields, accept?) -> entry id | "duplicate" | nil, err  (yields)
--       XADD of fields (name, value, ... with channel, conversation and
--       rep among them) to the tenant's stream, and the entry id appended
--       to its conversation's line, in one script. accept (channels.inbound:
--       a provider's message) = {seen = key, seen_ttl, window = key, now,
--       window_ttl}: in the same script, "duplicate" when seen exists, else
--       seen and the service window are set after the append (a kill -9
--       between dedupe mark and append would drop the message for good: the
--       provider's retry would be a "duplicate")
--   order.wait_first(tenant, f, entry, stream, group, max_wait, consumer?)
--       -> true | "handed" | nil, err                                 (yields)
--       true when entry is the first of its conversation's line still
--       waiting to be answered. With consumer (this worker's name in the
--       group): an entry behind one another consumer holds is handed to
--       that consumer ("handed": forget it here), which answers it right
--       after the one it holds (order.done). Else it waits; err "earlier
--       message pending" after max_wait seconds (the caller leaves the entry
--       to the stream's claim)
--   order.leading(tenant, f, ids) -> n                               (yields)
--       how many of ids (entries of f's conversation) follow each other at
--       the head of the line (what a debounce may merge)
--   order.done(tenant, f, stream, group, entry, consumer?)
--       -> true, next? | nil, err                                      (yields)
--       XACK of the entry and its removal from the line, in one script;
--       next: the id of the conversation's next entry when this consumer
--       holds it (read here, or handed here meanwhile: answer it now)
--   order.keep(stream, group, consumer, entries) -> true | nil, err  (yields)
--       resets the idle time of entries this consumer still holds (queued
--       or at work here), so that no other host's claim takes them over
--       while they are being answered (a turn, or a wait for its turn,
--       longer than the claim's idle time would otherwise run twice)
--
-- Why: consumer groups hand entries to whichever host reads first. Two
-- messages of one conversation read by two hosts would race for the
-- conversation's lock, and the later one could win. The line
-- (fh:line:{T}:<rep>:<channel>:<conversation>, a list of stream entry ids in
-- stream order) says whose turn it is. Its first id is removed only with the
-- entry's XACK, so a host killed mid-turn keeps the line waiting until the
-- stream's claim hands its entry to another host, which answers it first.
-- A first id that is no longer pending (dead-lettered, or answered by a
-- version before lines existed) is dropped by the next waiter. An entry
-- that is not in the line at all (queued before lines existed, or its line
-- lost with a failover) waits for no one.
local rscript = require "rscript"
local redis = require "redis"
local time = require "time"

local M = {}

local LINE_TTL_MS = 7 * 24 * 3600 * 1000   -- as long as the outbox

function M.line_key(tenant, f)
  return ("fh:line:{%s}:%s:%s:%s"):format(tenant, f.rep or "", f.channel or "", f.conversation or "")
end

local function field(fields, name)
  for i = 1, #fields - 1, 2 do if fields[i] == name then return fields[i + 1] end end
end

-- KEYS: stream, line[, seen, window] (one hash tag: the tenant's)
-- ARGV: line TTL ms, seen TTL, window value, window TTL, fields...
-- (the append first: a script that fails half-way is not undone, and a
-- message appended twice is answered once: the outbox is keyed by its id)
local APPEND = rscript.new([[
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return 'duplicate' end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
redis.call('RPUSH', KEYS[2], id)
redis.call('PEXPIRE', KEYS[2], ARGV[1])
if KEYS[3] then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[2])
  redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
end
return id]])

-- 1: entry ARGV[1] may go; 0: an earlier entry of the conversation is
-- still pending (delivered, not acknowledged) in group ARGV[2]; a string:
-- the consumer that holds that earlier entry, to which the entry was handed
-- (ARGV[3]: the caller, '' to wait instead). Atomic with DONE: the holder
-- either still holds the earlier entry when this one is handed to it, or
-- it finished and this one is first.
local FIRST = rscript.new([[
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 1 end
for _ = 1, 64 do
  local first = redis.call('LINDEX', KEYS[1], 0)
  if not first or first == ARGV[1] then return 1 end
  local p = redis.call('XPENDING', KEYS[2], ARGV[2], first, first, 1)
  if #p > 0 then
    local holder = p[1][2]
    if ARGV[3] == '' or holder == ARGV[3] then return 0 end
    redis.call('XCLAIM', KEYS[2], ARGV[2], holder, 0, ARGV[1], 'JUSTID')
    return holder
  end
  redis.call('LREM', KEYS[1], 1, first)
end
return 0]])

-- acknowledges ARGV[2]; returns the id of the conversation's next entry
-- when it is pending with this consumer (ARGV[3]), else 1
local DONE = rscript.new([[
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('LREM', KEYS[1], 1, ARGV[2])
if ARGV[3] == '' then return 1 end
local nxt = redis.call('LINDEX', KEYS[1], 0)
if not nxt then return 1 end
local p = redis.call('XPENDING', KEYS[2], ARGV[1], nxt, nxt, 1)
if not (p[1] and p[1][2] == ARGV[3]) then return 1 end
return nxt]])

-- KEYS: the stream; ARGV: group, consumer, entry ids. Only entries this
-- consumer owns: one another host claimed already stays with it.
local KEEP = rscript.new([[
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  end
end
return 1]])

local KEEP_BATCH = 500   -- ids a script call (a command takes at most 1,024 arguments)

function M.keep(stream, group, consumer, entries)
  for from = 1, #entries, KEEP_BATCH do
    local args = { group, consumer }
    for i = from, math.min(from + KEEP_BATCH - 1, #entries) do args[#args + 1] = entries[i] end
    local ok, err = KEEP:run({ stream }, args)
    if ok == nil then return nil, err end
  end
  return true
end

function M.append(tenant, stream, fields, accept)
  local f = { rep = field(fields, "rep"), channel = field(fields, "channel"),
              conversation = field(fields, "conversation") }
  local keys = { stream, M.line_key(tenant, f) }
  local args = { LINE_TTL_MS, 0, "", 0 }
  if accept then
    keys[3], keys[4] = accept.seen, accept.window
    args[2], args[3], args[4] = accept.seen_ttl, accept.now, accept.window_ttl
  end
  for _, v in ipairs(fields) do args[#args + 1] = v end
  return APPEND:run(keys, args)
end

function M.wait_first(tenant, f, entry, stream, group, max_wait, consumer)
  local deadline = time.monotonic() + max_wait
  local pause = 0.005
  while true do
    local go, err = FIRST:run({ M.line_key(tenant, f), stream }, { entry, group, consumer or "" })
    if go == nil then return nil, err end
    if go == 1 then return true end
    if type(go) == "string" then return "handed" end
    if time.monotonic() >= deadline then return nil, "earlier message pending" end
    time.sleep(pause)
    pause = math.min(pause * 2, 0.1)
  end
end

function M.leading(tenant, f, ids)
  if #ids == 0 then return 0 end
  local head = redis.call("LRANGE", M.line_key(tenant, f), 0, #ids - 1)
  -- no line, or the first entry not in it (queued before lines existed)
  if type(head) ~= "table" or head[1] ~= ids[1] then return #ids end
  local n = 0
  while n < #ids and head[n + 1] == ids[n + 1] do n = n + 1 end
  return n
end

function M.done(tenant, f, stream, group, entry, consumer)
  local r, err = DONE:run({ M.line_key(tenant, f), stream }, { group, entry, consumer or "" })
  if r == nil then return nil, err end
  return true, type(r) == "string" and r or nil
end

return M
