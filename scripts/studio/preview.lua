--- studio.preview: a chat with a tenant's draft, on a host of its own.
--
-- Drafts are served by a second flowhost process (the preview host) that
-- this host starts on first use: same binary, same config file, tenants
-- read from FLOWHOST_STUDIO_PREVIEW_DIR (default var/studio/preview/,
-- where each draft is written before a
-- turn), its own Redis database (FLOWHOST_STUDIO_PREVIEW_DB, default 14,
-- selected by the route module studio_preview), no channels (no webhooks,
-- pollers or outbound sends), specs not run on reload, its own files as
-- its versions (versions = "disk", no version store), and an environment
-- of its own: only PATH, HOME, LANG, TZ, TMPDIR, REDIS_URL, FLOWHOST_SCRIPTS
-- and variables naming an LLM (*LLM*) pass, so a draft reaches no
-- channel, back office or calendar credentials: no live data is touched.
-- It ends when this host ends (a shell watches this process).
--
--   preview.chat(T, tenant_or_rep, files, conversation, text, button?) -> {replies, state, slots, version} | nil, err
--       files: the draft's snapshot (studio.drafts.overlay); conversation:
--       the studio's name for the preview conversation (each maps to one
--       chat id of the preview host, kept a day)
--   preview.listen() -> "host:port" of the preview host
--       (FLOWHOST_STUDIO_PREVIEW_LISTEN, default 127.0.0.1:8089)
local http = require "http"
local json = require "json"
local redis = require "redis"
local crypto = require "crypto"
local time = require "time"
local tenant = require "flow.tenant"
local lock = require "lock"

local M = {}

M.DB = tonumber(os.getenv("FLOWHOST_STUDIO_PREVIEW_DB") or "") or 14
local ROOT = (os.getenv("FLOWHOST_STUDIO_PREVIEW_DIR") or "") ~= "" and os.getenv("FLOWHOST_STUDIO_PREVIEW_DIR")
  or "var/studio/preview"
local PASS = { "PATH", "HOME", "LANG", "TZ", "TMPDIR", "REDIS_URL", "FLOWHOST_SCRIPTS", "FLOWHOST_LOG_LEVEL" }

function M.listen()
  local l = os.getenv("FLOWHOST_STUDIO_PREVIEW_LISTEN")
  return (l and l ~= "") and l or "127.0.0.1:8089"
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- the token of the preview host's admin API (a file only this user reads)
local function token()
  local t = read(ROOT .. "/token")
  if t and #t >= 32 then return t end
  os.execute("mkdir -p " .. q(ROOT) .. " && umask 077")
  t = crypto.random_hex(24)
  local f = assert(io.open(ROOT .. "/token.tmp", "wb"))
  f:write(t)
  f:close()
  os.execute("chmod 600 " .. q(ROOT .. "/token.tmp"))
  os.rename(ROOT .. "/token.tmp", ROOT .. "/token")
  return t
end

local function config_path()
  local cmd = read("/proc/self/cmdline") or ""
  local args = {}
  for a in cmd:gmatch("([^%z]*)%z") do args[#args + 1] = a end
  for i, a in ipairs(args) do
    if a == "--config" then return args[i + 1] end
    local v = a:match("^%-%-config=(.+)$")
    if v then return v end
  end
end

local function up()
  local r = http.request{ url = "http://" .. M.listen() .. "/healthz", timeout = 0.5 }
  return r and r.status == 200
end

-- starts the preview host unless it answers; waits up to 10 s for it
local starting = false
local function ensure()
  if up() then return true end
  while starting do time.sleep(0.05) end
  if up() then return true end
  starting = true
  local env = {}
  for _, k in ipairs(PASS) do
    local v = os.getenv(k)
    if v and v ~= "" then env[#env + 1] = k .. "=" .. q(v) end
  end
  -- (the LLM settings a draft may use: their URLs, keys and models)
  local f = io.popen("env")
  for line in f:lines() do
    local k = line:match("^([%w_]+)=")
    if k and k:find("LLM", 1, true) then env[#env + 1] = k .. "=" .. q(os.getenv(k)) end
  end
  f:close()
  local cfg = config_path()
  local cmd = table.concat({
    "mkdir -p " .. q(ROOT .. "/tenants") .. " " .. q(ROOT .. "/flows") .. ";",
    "exe=$(readlink /proc/$PPID/exe); parent=$PPID;",
    "(",
    "env -i", table.concat(env, " "),
    "FLOWHOST_LISTEN=" .. q(M.listen()), "FLOWHOST_WORKERS=1",
    "FLOWHOST_ROUTES=ops,chat,admin,studio_preview",
    "FLOWHOST_TENANTS_DIR=" .. q(ROOT .. "/tenants"), "FLOWHOST_FLOWS_DIR=" .. q(ROOT .. "/flows"),
    "FLOWHOST_ADMIN_TOKEN=" .. q(token()), "FLOWHOST_SPECS_BEFORE_LIVE=0", "FLOWHOST_VERSIONS=disk",
    "FLOWHOST_STUDIO_PREVIEW_DB=" .. M.DB, "FLOWHOST_MAX_CONNECTIONS_PER_IP=0",
    '"$exe" serve', cfg and ("--config " .. q(cfg)) or "",
    ">>", q(ROOT .. "/host.log"), "2>&1 & child=$!;",
    "while kill -0 $parent 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done;",
    "kill $child 2>/dev/null",
    ") </dev/null >/dev/null 2>&1 &",
  }, " ")
  os.execute(cmd)
  local t0 = time.monotonic()
  local ok = false
  while time.monotonic() - t0 < 10 do
    time.sleep(0.1)
    if up() then ok = true; break end
  end
  starting = false
  if not ok then return nil, "the preview host did not start (see " .. ROOT .. "/host.log)" end
  return true
end

-- the draft's files in the preview host's folders (the tenant's alone)
local function place(t, files)
  local tdir, fdir = tenant.dirs()
  os.execute("rm -rf " .. q(ROOT .. "/flows/" .. t) .. " && mkdir -p " .. q(ROOT .. "/flows/" .. t))
  for path, text in pairs(files) do
    local rel = path:sub(1, #tdir + 1) == tdir .. "/" and ("tenants/" .. path:sub(#tdir + 2))
      or path:sub(1, #fdir + 1) == fdir .. "/" and ("flows/" .. path:sub(#fdir + 2)) or nil
    if rel and not rel:find("..", 1, true) then
      local full = ROOT .. "/" .. rel
      local dir = full:match("^(.*)/[^/]+$")
      os.execute("mkdir -p " .. q(dir))
      local f = io.open(full .. ".tmp", "wb")
      if f then f:write(text); f:close(); os.rename(full .. ".tmp", full) end
    end
  end
end

local function call(method, path, body, headers)
  local r, err = http.request{ method = method, url = "http://" .. M.listen() .. path, timeout = 15,
    body = body and json.encode(body), headers = headers }
  if not r then return nil, err end
  return r.status, json.decode(r.body or "") or {}
end

-- the preview host's chat id for the studio's conversation name
local function chat_id(t, who, conversation)
  local key = ("fh:studio:{%s}:preview:%s"):format(t, crypto.hex(crypto.sha256(who .. "\0" .. conversation)):sub(1, 24))
  local id = redis.call("GET", key)
  if type(id) == "string" then return id end
  local status, r = call("POST", "/v1/tenants/" .. who .. "/conversations")
  if status ~= 201 then return nil, "the preview host did not open a conversation (" .. tostring(status) .. ")" end
  redis.call("SET", key, r.id, "EX", 86400)
  return r.id
end

-- one draft of a tenant on the preview host at a time (the tenant's and a
-- rep's drafts are two versions of one tenant there): each turn holds it
local function chat_locked(t, who, files, conversation, text, button)
  place(t, files)
  local status, r = call("POST", "/admin/tenants/" .. t .. "/reload", nil, { Authorization = "Bearer " .. token() })
  if status ~= 200 then
    return nil, "the draft does not load: " .. tostring(r and r.last_error and r.last_error.message or status)
  end
  local version = r.version
  local id, cerr = chat_id(t, who, conversation)
  if not id then return nil, cerr end
  local st, res = call("POST", "/v1/tenants/" .. who .. "/conversations/" .. id .. "/messages", { text = text, button = button })
  if st == 401 then                               -- expired there: a fresh one
    redis.call("DEL", ("fh:studio:{%s}:preview:%s"):format(t, crypto.hex(crypto.sha256(who .. "\0" .. conversation)):sub(1, 24)))
    id, cerr = chat_id(t, who, conversation)
    if not id then return nil, cerr end
    st, res = call("POST", "/v1/tenants/" .. who .. "/conversations/" .. id .. "/messages", { text = text, button = button })
  end
  if st ~= 200 then return nil, "the preview host answered " .. tostring(st) .. ": " .. tostring(res and res.message) end
  res.version = version
  return res
end

function M.chat(t, who, files, conversation, text, button)
  local ok, err = ensure()
  if not ok then return nil, err end
  local res, cerr = lock.with(("fh:studio:{%s}:preview-lock"):format(t), 15, function()
    return chat_locked(t, who, files, conversation, text, button)
  end, { wait = 20 })
  if res == nil then return nil, cerr end
  return res
end

return M
