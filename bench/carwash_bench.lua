-- Car-service happy path under load (bench/carwash.sh runs it inside the
-- host runtime as a load driver against a separate `flowhost serve`):
-- N conversations at once, each: hi, name, phone, car, plate, service,
-- add-ons, date, time (the 9 turns of the happy path, ending at the
-- summary with a held slot), then "cancel" to free the hold. Rules only.
-- Prints turns/s and latency percentiles; asserts only that the work was done.
local http = require "http"
local json = require "json"
local time = require "time"
local host = require "host"
local crypto = require "crypto"

local URL = assert(os.getenv("CARWASH_BENCH_URL"), "CARWASH_BENCH_URL")
local CONVS = tonumber(os.getenv("CARWASH_BENCH_CONVERSATIONS") or "64")
local SECONDS = tonumber(os.getenv("CARWASH_BENCH_SECONDS") or "20")

-- the driver names its own conversation ids: it uses the tenant's API key
-- (bench/carwash.sh gives the host and the driver the same one)
local KEY = assert(os.getenv("CARWASH_API_KEY"), "CARWASH_API_KEY")

local function post(id, msg)
  local t0 = time.monotonic()
  local r, err = http.request{ method = "POST", timeout = 60,
    url = URL .. "/v1/tenants/carwash/conversations/" .. id .. "/messages",
    headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. KEY }, body = json.encode(msg) }
  local dt = time.monotonic() - t0
  if not r or r.status ~= 200 then return nil, dt, err or ("HTTP " .. r.status) end
  return json.decode(r.body), dt
end

local function first_time(res)
  for _, r in ipairs(res.replies) do
    for _, b in ipairs(r.buttons or {}) do
      if b.id:match("^t%d+$") then return b.id end
    end
  end
end

describe("carwash happy path bench", function()
  it(("%d concurrent conversations for %d s"):format(CONVS, SECONDS), function()
    local lat, errors, flows, wrong = {}, 0, 0, 0
    local stop_at = time.monotonic() + SECONDS
    local done = 0
    local function conversation(n)
      local k = 0
      while time.monotonic() < stop_at do
        k = k + 1
        local id = ("bench-%d-%d-%s"):format(n, k, crypto.random_hex(3))
        local day = 1 + (n + k) % 12
        local script = { { text = "hi" }, { text = "Rahul Sharma" }, { text = "98765 43210" },
          { text = "Honda City" }, { text = "MH 12 AB 1234" }, { button = "basic_wash" },
          { text = "none" }, { text = ("in %d days"):format(day) } }
        local res, ok = nil, true
        for _, msg in ipairs(script) do
          local dt, err
          res, dt, err = post(id, msg)
          if not res then errors = errors + 1; ok = false; break end
          lat[#lat + 1] = dt
        end
        -- pick a time (again if someone else just took it), then cancel
        for _ = 1, 3 do
          if not ok or not res or res.state ~= "pick_time" then break end
          local b = first_time(res)
          if not b then break end
          local dt
          res, dt = post(id, { button = b })
          if not res then errors = errors + 1; ok = false; break end
          lat[#lat + 1] = dt
        end
        if ok and res and res.state == "summary" then flows = flows + 1 else wrong = wrong + 1 end
        if ok then
          local r2, dt = post(id, { text = "cancel" })
          if r2 then lat[#lat + 1] = dt else errors = errors + 1 end
        end
      end
      done = done + 1
    end
    local t0 = time.monotonic()
    for n = 1, CONVS do host.spawn(conversation, n) end
    while done < CONVS do time.sleep(0.05) end
    local elapsed = time.monotonic() - t0
    table.sort(lat)
    local function pct(p) return lat[math.max(1, math.ceil(#lat * p))] * 1000 end
    print(("\ncarwash happy path, %d concurrent conversations: %d turns in %.1f s = %.0f turns/s; "
      .. "p50 %.1f ms, p99 %.1f ms, max %.1f ms; %d happy paths to the summary, %d off the path, %d errors")
      :format(CONVS, #lat, elapsed, #lat / elapsed, pct(0.5), pct(0.99), lat[#lat] * 1000, flows, wrong, errors))
    io.stdout:flush()
    assert.truthy(flows > 0)
    assert.are.equal(0, errors)
  end)
end)
