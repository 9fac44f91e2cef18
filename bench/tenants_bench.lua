-- Driver of bench/tenants.sh: waits until every tenant serves, reads the
-- host's RSS, then rewrites one tenant's messages file BENCH_RELOADS times
-- and measures until a new conversation of that tenant shows the change.
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

local URL = os.getenv("BENCH_TENANTS_URL")
local DIR = os.getenv("BENCH_TENANTS_DIR")
local PID = os.getenv("BENCH_TENANTS_PID")
local N = tonumber(os.getenv("BENCH_TENANTS_N"))
local T0 = tonumber(os.getenv("BENCH_TENANTS_T0"))
local RELOADS = tonumber(os.getenv("BENCH_RELOADS"))

local function rss_mb()
  local f = io.open("/proc/" .. PID .. "/status")
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) / 1024
end

local function greeting(tenant)
  -- a conversation the host issues (these tenants have no API key)
  local c = http.request{ method = "POST", timeout = 10, url = URL .. "/v1/tenants/" .. tenant .. "/conversations" }
  local id = c and c.status == 201 and json.decode(c.body).id
  if not id then return "" end
  local r = http.request{ method = "POST", timeout = 10,
    url = URL .. "/v1/tenants/" .. tenant .. "/conversations/" .. id .. "/messages",
    headers = { ["Content-Type"] = "application/json" }, body = '{"text":"hi"}' }
  return r and r.status == 200 and r.body or ""
end

describe("1,000 tenants", function()
  it("start-up, RSS, reload latency", function()
    local ready
    while true do
      local r = http.request{ url = URL .. "/admin/tenants", headers = { Authorization = "Bearer bench" }, timeout = 30 }
      if r and r.status == 200 then
        local loaded = 0
        for _, t in ipairs(json.decode(r.body).tenants) do
          if type(t.version) == "string" then loaded = loaded + 1 end
        end
        if loaded == N then ready = os.time(); break end
      end
      time.sleep(0.2)
    end
    local now = tonumber(io.popen("date +%s.%N"):read("*l"))
    local startup = now - T0
    local rss = rss_mb()
    local path = DIR .. "/flows/shop0500/messages.lua"
    local base = io.open(path):read("*a")
    local lags = {}
    for i = 1, RELOADS do
      local marker = "(r" .. i .. ")"
      local f = io.open(path, "w")
      f:write((base:gsub("Hi! Welcome to", "Hi " .. marker .. "! Welcome to", 1)))
      f:close()
      local t0 = time.monotonic()
      while not greeting("shop0500"):find(marker, 1, true) do time.sleep(0.005) end
      lags[#lags + 1] = time.monotonic() - t0
      time.sleep(0.1)
    end
    table.sort(lags)
    print(("\n%d tenants: serving after %.1f s (start to every tenant loaded), RSS %.0f MB (%.0f KB per tenant); "
      .. "reload: write -> new version serving median %.0f ms, p99 %.0f ms, max %.0f ms over %d writes")
      :format(N, startup, rss, rss * 1024 / N, lags[math.ceil(#lags / 2)] * 1000,
              lags[math.ceil(#lags * 0.99)] * 1000, lags[#lags] * 1000, #lags))
    io.stdout:flush()
    assert.truthy(ready)
  end)
end)
