--- A Redis master, its replica and three sentinels on loopback, for specs of
--- the Sentinel topology (tests/cluster, tests/integration/sentinel_spec).
---
---   local t = sentinel.start(name, base_port)   master base, replica base+1,
---                                                sentinels base+2..base+4
---   t.url                    redis+sentinel://... URL of the group
---   t.master_port()          the port the sentinels name now (nil: none)
---   t.kill_master()          kill -9 of the current master; -> its port
---   t.restart(port)          starts the killed server again (it rejoins as
---                            a replica: the sentinels reconfigure it)
---   t.stop()                 stops all five (by their pid files)
---
--- Failover is quick here: a master is down after 1 s without an answer.
local time = require "time"

local M = {}

local NAME = "mymaster"

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("*a")
  f:close()
  return out
end

local function cli(port, args)
  return sh(("redis-cli -p %d %s 2>/dev/null"):format(port, args))
end

local function wait(fn, secs)
  local deadline = time.monotonic() + secs
  repeat
    local v = fn()
    if v then return v end
    time.sleep(0.1)
  until time.monotonic() > deadline
end

-- redis-server for one data node; replica_of: the master's port or nil
local function start_server(dir, port, replica_of)
  local args = ("--port %d --bind 127.0.0.1 --dir %s --daemonize yes --pidfile %s/redis-%d.pid "
             .. "--logfile %s/redis-%d.log --save '' --appendonly no --maxmemory-policy noeviction")
    :format(port, dir, dir, port, dir, port)
  if replica_of then args = args .. " --replicaof 127.0.0.1 " .. replica_of end
  sh("redis-server " .. args)
  assert(wait(function() return cli(port, "ping"):match("PONG") end, 5), "redis on " .. port .. " did not start")
end

local function start_sentinel(dir, port, master)
  local conf = ("%s/sentinel-%d.conf"):format(dir, port)
  local f = assert(io.open(conf, "w"))
  f:write(([[
port %d
bind 127.0.0.1
daemonize yes
pidfile %s/sentinel-%d.pid
logfile %s/sentinel-%d.log
dir %s
sentinel monitor %s 127.0.0.1 %d 2
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 5000
sentinel parallel-syncs %s 1
]]):format(port, dir, port, dir, port, dir, NAME, master, NAME, NAME, NAME))
  f:close()
  sh("redis-sentinel " .. conf)
  assert(wait(function() return cli(port, "ping"):match("PONG") end, 5), "sentinel on " .. port .. " did not start")
end

local function pid_of(dir, what, port)
  local f = io.open(("%s/%s-%d.pid"):format(dir, what, port))
  if not f then return nil end
  local pid = tonumber(f:read("*a"))
  f:close()
  return pid
end

function M.start(name, base)
  local dir = os.getenv("PWD") .. "/var/" .. name
  sh("rm -rf " .. dir .. " && mkdir -p " .. dir)
  local t = { dir = dir, master = base, replica = base + 1, sentinels = { base + 2, base + 3, base + 4 } }

  -- stops every process of the group by the pid files they wrote
  function t.stop()
    for _, p in ipairs(t.sentinels) do
      local pid = pid_of(dir, "sentinel", p)
      if pid then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    end
    for _, p in ipairs{ t.master, t.replica } do
      local pid = pid_of(dir, "redis", p)
      if pid then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    end
  end

  -- (a group that cannot start leaves nothing running behind it)
  local ok, err = pcall(function()
    start_server(dir, t.master)
    start_server(dir, t.replica, t.master)
    assert(wait(function() return cli(t.replica, "info replication"):match("master_link_status:up") end, 10),
           "the replica did not sync")
    for _, p in ipairs(t.sentinels) do start_sentinel(dir, p, t.master) end
    -- every sentinel knows the replica and the other sentinels
    assert(wait(function()
      for _, p in ipairs(t.sentinels) do
        local info = cli(p, "sentinel master " .. NAME)
        local n = tonumber(info:match("num%-other%-sentinels\n(%d+)"))
        local r = tonumber(info:match("num%-slaves\n(%d+)"))
        if n ~= 2 or r ~= 1 then return false end
      end
      return true
    end, 15), "the sentinels did not find each other")
  end)
  if not ok then
    t.stop()
    error(err, 0)
  end
  local hosts = {}
  for i, p in ipairs(t.sentinels) do hosts[i] = "127.0.0.1:" .. p end
  t.url = "redis+sentinel://" .. table.concat(hosts, ",") .. "/" .. NAME

  function t.master_port()
    for _, p in ipairs(t.sentinels) do
      local port = cli(p, "sentinel get-master-addr-by-name " .. NAME):match("\n(%d+)")
      if port then return tonumber(port) end
    end
  end

  function t.kill_master()
    local port = t.master_port()
    local pid = pid_of(dir, "redis", port)
    if pid then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    os.remove(("%s/redis-%d.pid"):format(dir, port))
    return port
  end

  function t.restart(port)
    start_server(dir, port)
  end

  return t
end

return M
