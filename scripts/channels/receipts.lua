--- channels.receipts: what became of the messages the host sent, by the
--- provider's message id ("accepted" when sent, then the vendor's delivery
--- receipts: delivered, read, failed), for operators.
--
--   receipts.record(tenant, id, rec) -> true | nil, err      (yields)
--       err: "bad id" (not a string or number), "not encodable" (rec holds
--       what JSON cannot) or Redis' error
--       id: the provider's message id (a string or a number); rec: a table
--       kept as JSON under HGET fh:sent:{tenant} <id>
--
-- Bounded: each id also has its time in the index fh:sent:{tenant}:at; a
-- record older than KEEP (30 days) is dropped by a later write (up to 32 a
-- write, more than a write adds), and both keys expire KEEP after the
-- tenant's last write.
local rscript = require "rscript"
local json = require "json"

local M = {}

local KEEP = 30 * 24 * 3600

local RECORD = rscript.new([[
local t = redis.call('TIME')
local now = tonumber(t[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]), 'LIMIT', 0, 32)
for _, id in ipairs(old) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return #old]])

function M.key(tenant) return "fh:sent:{" .. tenant .. "}" end

function M.record(tenant, id, rec)
  assert(type(tenant) == "string" and type(rec) == "table", "receipts.record(tenant, id, rec)")
  if type(id) == "number" then id = ("%.0f"):format(id) end
  if type(id) ~= "string" or id == "" then return nil, "bad id" end   -- a vendor's odd answer
  local ok, value = pcall(json.encode, rec)
  if not ok then return nil, "not encodable" end                     -- e.g. a function in it
  local n, err = RECORD:run({ M.key(tenant), M.key(tenant) .. ":at" }, { id, value, KEEP })
  if n == nil then return nil, err end
  return true
end

return M
