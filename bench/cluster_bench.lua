-- Several hosts on one Redis: CPU per turn with 3 hosts against 1 host, and
-- Redis commands per turn (INFO commandstats), on this machine. Run by
-- bench/cluster.sh (which starts Redis and sets the ports).
--
-- Phases alternate 1 host, 3 hosts, 1, 3, ... (side by side on a shared
-- machine: compare the ratios, not the absolute numbers). A phase sends
-- TURNS JSON chat turns and TURNS Telegram webhooks over CONVS conversations,
-- through its hosts in turn, and waits for every webhook's reply. CPU is
-- the hosts' own (utime + stime of each flowhost process from /proc), summed
-- over the hosts of the phase, from the first request to the last reply.
local proc = require "proc"
local vendor = require "vendor"
local http = require "http"
local json = require "json"
local time = require "time"
local crypto = require "crypto"

local RPORT = assert(tonumber(os.getenv("BENCH_REDIS_PORT")), "BENCH_REDIS_PORT")
local TURNS = tonumber(os.getenv("BENCH_TURNS") or "600")
local CONVS = tonumber(os.getenv("BENCH_CONVS") or "60")
local PHASES = tonumber(os.getenv("BENCH_PHASES") or "4")
local TOKEN = "777100:" .. crypto.random_hex(12)
local SECRET = "bn_" .. crypto.random_hex(8)
local KEY = "RELAY_" .. crypto.random_hex(8)
local IDLE = tonumber(os.getenv("BENCH_IDLE") or "4")   -- seconds the idle hosts are measured
local STICKY = os.getenv("BENCH_STICKY") == "1"
local TICK = 100   -- clock ticks a second (/proc/<pid>/stat: utime, stime)

local function cpu_s(pid)
  local s = proc.read_file("/proc/" .. pid .. "/stat") or ""
  local rest = s:match("%) (.*)$") or ""
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  return ((tonumber(f[12]) or 0) + (tonumber(f[13]) or 0)) / TICK   -- fields 14, 15 of stat
end

local function commandstats()
  local out, calls = proc.sh(("redis-cli -p %d info commandstats"):format(RPORT)), {}
  for name, n in out:gmatch("cmdstat_([%w|_]+):calls=(%d+)") do calls[name] = tonumber(n) end
  return calls
end

-- Redis' own CPU (its pid from INFO server)
local function redis_cpu_s()
  local pid = proc.sh(("redis-cli -p %d info server"):format(RPORT)):match("process_id:(%d+)")
  return pid and cpu_s(pid) or 0
end

-- bytes a key of each family takes (MEMORY USAGE of one sampled key)
local function key_sizes()
  local out = {}
  for _, pat in ipairs{ "fh:conv:{relay:*}", "fh:conv:{relay:*}:seen", "fh:out:{relay}:*", "fh:seen:{relay}:*",
                        "lock:fence:*", "fh:chat:{relay}:*", "fh:window:{relay}:*" } do
    local k = proc.sh(("redis-cli -p %d --scan --pattern '%s' | head -1"):format(RPORT, pat)):match("[^\n]+")
    if k then
      local n = proc.sh(("redis-cli -p %d memory usage '%s'"):format(RPORT, k)):match("%d+")
      out[#out + 1] = ("%s %s B"):format(pat, n or "?")
    end
  end
  return table.concat(out, ", ")
end

describe("cluster bench", function()
  it("CPU per turn with 3 hosts and with 1, and Redis commands per turn", function()
    local fake = os.getenv("BENCH_FAKE_URL") and vendor.attach("telegram", os.getenv("BENCH_FAKE_URL"))
                 or vendor.start("telegram", "/_control/sent?token=" .. TOKEN)
    local results = { [1] = {}, [3] = {} }
    local sent_total = 0
    for phase = 1, PHASES do
      local n = phase % 2 == 1 and 1 or 3
      local hosts = {}
      for i = 1, n do
        hosts[i] = proc.start{ config = "config/flowhost.lua", env = {
          REDIS_URL = "redis://127.0.0.1:" .. RPORT, FLOWHOST_WORKERS = 1, FLOWHOST_LOG_LEVEL = "error",
          HOSTNAME = "b" .. i, FLOWHOST_TENANTS_DIR = "tests/cluster/tenants", FLOWHOST_FLOWS_DIR = "tests/cluster/flows",
          RELAY_TELEGRAM_TOKEN = TOKEN, RELAY_TELEGRAM_SECRET = SECRET, RELAY_API_KEY = KEY,
          TELEGRAM_API_URL = fake.url } }
      end
      time.sleep(1)
      -- what the hosts spend doing nothing (stream and timer polls, version
      -- polls): paid per second, not per turn
      local idle0 = 0
      for _, h in ipairs(hosts) do idle0 = idle0 + cpu_s(h.pid) end
      time.sleep(IDLE)
      local idle = -idle0
      for _, h in ipairs(hosts) do idle = idle + cpu_s(h.pid) end
      local idle_rate = idle / IDLE
      local tag = crypto.random_hex(4)
      local base = 20000000 + phase * 100000
      local function batch(from, to)
        local reqs = {}
        for k = from, to do
          local conv = k % CONVS
          -- by default each message of a conversation goes to another host
          -- than the one before (the worst case for order: every message
          -- waits for the previous one, answered elsewhere); BENCH_STICKY=1
          -- keeps a conversation on one host (a load balancer hashing it)
          local h = STICKY and hosts[math.floor(conv / 2) % n + 1] or hosts[k % n + 1]
          if k % 2 == 0 then
            reqs[#reqs + 1] = { method = "POST", timeout = 30,
              url = h.url .. "/v1/tenants/relay/conversations/bn" .. tag .. conv .. "/messages",
              headers = { ["Content-Type"] = "application/json", Authorization = "Bearer " .. KEY },
              body = json.encode{ text = "t" .. k } }
          else
            local chat = base + conv
            reqs[#reqs + 1] = { method = "POST", url = h.url .. "/webhooks/relay/telegram", timeout = 30,
              headers = { ["Content-Type"] = "application/json", ["X-Telegram-Bot-Api-Secret-Token"] = SECRET },
              body = json.encode{ update_id = base * 10 + k, message = { message_id = k, date = 1,
                from = { id = chat, first_name = "B" }, chat = { id = chat, type = "private" }, text = "w" .. k } } }
          end
        end
        for _, r in ipairs(http.all(reqs)) do assert(r.status == 200, "a request failed: " .. tostring(r.status or r.err)) end
      end
      local before_cmd, before_redis = commandstats(), redis_cpu_s()
      local before_cpu = {}
      for i, h in ipairs(hosts) do before_cpu[i] = cpu_s(h.pid) end
      local t0 = time.monotonic()
      for k = 1, 2 * TURNS, CONVS do batch(k, math.min(k + CONVS - 1, 2 * TURNS)) end
      -- every webhook answered
      local want = sent_total + TURNS
      local ok = proc.wait_until(function()
        return #fake:sent("/_control/sent?token=" .. TOKEN .. "&method=sendMessage") >= want
      end, 120, 0.2)
      assert.truthy(ok, "webhooks not all answered")
      sent_total = want
      local secs = time.monotonic() - t0
      local cpu = 0
      for i, h in ipairs(hosts) do cpu = cpu + cpu_s(h.pid) - before_cpu[i] end
      local after_cmd, redis_cpu = commandstats(), redis_cpu_s() - before_redis
      local calls, per = 0, {}
      for name, c in pairs(after_cmd) do
        local d = c - (before_cmd[name] or 0)
        if d > 0 then calls = calls + d; per[#per + 1] = { name, d } end
      end
      for _, h in ipairs(hosts) do proc.stop(h) end
      local turns = 2 * TURNS
      local r = { cpu_ms = cpu * 1000 / turns, redis = calls / turns, secs = secs, per = per,
                  redis_us = redis_cpu * 1e6 / turns, net_ms = (cpu - idle_rate * secs) * 1000 / turns,
                  idle_ms = idle_rate * 1000 }
      table.insert(results[n], r)
      io.stderr:write(("  phase %d: %d host(s), %d turns in %.1f s: %.2f ms CPU a turn (all hosts; %.2f ms without the idle %.0f ms/s), %.1f Redis commands and %.0f µs Redis CPU a turn\n")
        :format(phase, n, turns, secs, r.cpu_ms, r.net_ms, r.idle_ms, r.redis, r.redis_us))
      if phase > PHASES - 2 then
        table.sort(per, function(a, b) return a[2] > b[2] end)
        local top = {}
        for i = 1, math.min(18, #per) do top[i] = ("%s %.2f"):format(per[i][1], per[i][2] / turns) end
        io.stderr:write(("  commands a turn (%d host(s)): %s\n"):format(n, table.concat(top, ", ")))
      end
    end
    io.stderr:write("  key sizes: " .. key_sizes() .. "\n")
    if not os.getenv("BENCH_FAKE_URL") then fake:stop() end
    local function mean(list, k)
      local s = 0
      for _, r in ipairs(list) do s = s + r[k] end
      return s / #list
    end
    local one, three = mean(results[1], "cpu_ms"), mean(results[3], "cpu_ms")
    local one_net, three_net = mean(results[1], "net_ms"), mean(results[3], "net_ms")
    io.stderr:write(("  CPU a turn without the idle polling: 1 host %.2f ms, 3 hosts %.2f ms: ratio %.2f; idle: %.0f ms/s for 1 host, %.0f ms/s for 3\n")
      :format(one_net, three_net, three_net / one_net, mean(results[1], "idle_ms"), mean(results[3], "idle_ms")))
    io.stderr:write(("  CPU a turn: 1 host %.2f ms, 3 hosts %.2f ms: ratio %.2f; Redis commands a turn: 1 host %.1f, 3 hosts %.1f; Redis CPU a turn: %.0f / %.0f µs\n")
      :format(one, three, three / one, mean(results[1], "redis"), mean(results[3], "redis"),
              mean(results[1], "redis_us"), mean(results[3], "redis_us")))
  end)
end)
