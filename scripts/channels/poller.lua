--- channels.poller: Telegram without a public URL (local development): the
--- tenants whose telegram channel says `polling = true` fetch their updates
--- with getUpdates (long polling, 25 s) on the worker they are pinned to, and
--- feed them to the same inbound stream as webhooks. The offset is kept in
--- Redis so a restart neither loses nor repeats updates (repeats would be
--- dropped anyway by the update_id dedupe). An update the host cannot use
--- is kept in the dead-letter stream, like a webhook's (channels.inbound).
local redis = require "redis"
local json = require "json"
local http = require "http"
local host = require "host"
local time = require "time"
local log = require "log"
local tenants = require "flow.tenants"
local registry = require "channels.registry"
local inbound = require "channels.inbound"
local telegram = require "channels.telegram"

local M = {}

local POLL_SECONDS = 25
-- Telegram keeps an update 24 h: an offset a week old is worth nothing
-- (from 0, the updates still kept come again and the dedupe drops those seen)
local OFFSET_TTL = 7 * 24 * 3600

local function poll(tenant)
  local key = "fh:tg-offset:{" .. tenant .. "}"
  local backoff = 1
  while true do
    local st = tenants.status(tenant)
    local creds = st and st.settings and registry.creds(st.settings, "telegram")
    if not (creds and creds.polling) then return end           -- switched off or removed
    local offset = tonumber(redis.call("GET", key)) or 0
    local r, err = http.request{ method = "POST", timeout = POLL_SECONDS + 10,
      url = ("%s/bot%s/getUpdates"):format(creds.api_url or "https://api.telegram.org", tostring(creds.token)),
      headers = { ["Content-Type"] = "application/json" },
      body = json.encode{ offset = offset, timeout = POLL_SECONDS, limit = 100 } }
    local body = r and json.decode(r.body)
    if not (type(body) == "table" and body.ok) then
      log.warn("telegram getUpdates failed", { tenant = tenant, err = err or (type(body) == "table" and body.description) or (r and r.status) })
      time.sleep(backoff)
      backoff = math.min(backoff * 2, 30)
    else
      backoff = 1
      for _, u in ipairs(type(body.result) == "table" and body.result or {}) do
        local raw = json.encode(u)
        local msgs, word, detail = telegram.parse(raw)
        if not msgs then inbound.unusable(tenant, "telegram", word, detail, raw, "poller") end
        for _, m in ipairs(msgs or {}) do inbound.accept(tenant, "telegram", m) end
        -- past this update even when it is unusable (else it comes back for ever)
        local id = type(u) == "table" and tonumber(u.update_id)
        if id then redis.call("SET", key, ("%.0f"):format(math.max(offset, id + 1)), "EX", OFFSET_TTL) end
      end
    end
  end
end

function M.start()
  local running = {}
  host.spawn(function()
    time.sleep(0.5)
    while true do
      for _, id in ipairs(tenants.owned()) do
        local st = tenants.status(id)
        local c = st and st.settings and st.settings.channels and st.settings.channels.telegram
        if type(c) == "table" and c.polling and not running[id] then
          running[id] = true
          host.spawn(function()
            local ok, err = pcall(poll, id)             -- a failure restarts it here, 2 s later
            if not ok then log.error("telegram polling failed", { tenant = id, err = tostring(err) }) end
            running[id] = nil
          end)
        end
      end
      time.sleep(2)
    end
  end)
end

return M
