--- host.version_store: tenant versions kept in Redis, content-addressed, so
--- that every host serves the same one (docs/versions.md).
--
-- A version is a manifest (its files' places -> the sha256 of their text)
-- and blobs (text by sha256); its id is the one flow.version computes for
-- those files, so `flowhost check` prints the id the hosts serve. Files are
-- keyed by their place, as flow.version.named gives them:
--   tenants/<t>.lua            the tenant's config (config/tenants/<t>.lua)
--   tenants/_platform.lua      the platform defaults, when the host has them
--   tenants/<t>.reps.lua       reps registered without code (flow.rep_registry)
--   flows/<t>/**.lua, .md      its flow folder (not spec/), translations.lock
-- Every key carries the tenant's hash tag ({T}): one script touches one slot.
--
--   store.publish(t, files, meta) -> id, "published" | "current" | nil, err   (yields)
--       files = {[place] = text}; meta = {author?, message?, source =
--       "disk" | "admin" | "studio" | "rollback"}. Stores the blobs and the
--       manifest, appends a history entry {id, author, time, message,
--       source, parent}, makes id current and publishes a notice on
--       store.CHANNEL ({"tenant", "id", "source"}). An id already current:
--       nothing is written ("current").
--   store.current(t) -> id | nil (none yet) | nil, err
--   store.currents(ts) -> {[t] = id} for a list of tenants, one round trip
--   store.has(t, id) -> boolean | nil, err       (its manifest is kept)
--   store.history(t, {limit = 20, before = id}) -> entries, newest first | nil, err
--   store.files(t, id) -> files | nil (unknown id) | nil, err
--   store.activate(t, id, meta) -> true | nil, err   (a stored version made
--       current again: rollback or roll-forward; a new history entry with
--       meta.source (default "rollback") and a notice; "unknown version")
--   store.diff(t, a, b) -> {[place] = {old = text | nil, new = text | nil}} | nil, err
--   store.lines(old, new) -> a plain line diff: {{op = " " | "-" | "+", text}}
--   store.tenants() -> ids with a current version | nil, err
--
-- The last KEEP history entries are kept; a version no kept entry names
-- loses its manifest, and a blob no kept manifest names is deleted (in the
-- same script as the publish that drops them).
local redis = require "redis"
local json = require "json"
local crypto = require "crypto"
local time = require "time"
local rscript = require "rscript"
local version = require "flow.version"

local M = {}

M.KEEP = 100
M.CHANNEL = "fh:ver:notice"
local TENANTS = "fh:ver:tenants"        -- set of tenant ids with a current version

local function key(t, part) return "fh:ver:{" .. t .. "}:" .. part end
M.key = key

local ID = "^[a-z0-9][a-z0-9_%-]*$"     -- flow.tenant.ID (not required: no tenant loading here)
local SOURCES = { disk = true, admin = true, studio = true, rollback = true }

local function sha(text) return crypto.hex(crypto.sha256(text)) end

-- KEYS: current, history, manifest of ARGV[1]; ARGV: id,
-- entry (JSON without parent), keep, channel, notice, blob prefix, then
-- place, sha, text triples (text "" with a sha already known: not sent;
-- an empty file's "" then writes the blob only when there is none).
-- The entry gets the old current as parent. A manifest missing while
-- files are given is written; with none given (activate) it must exist.
local SWITCH = rscript.new([[
local cur = redis.call("GET", KEYS[1])
if cur == ARGV[1] then return {0, cur} end
if #ARGV <= 6 and redis.call("EXISTS", KEYS[3]) == 0 then return {-1, "unknown version"} end
local prefix = ARGV[6]
for i = 7, #ARGV, 3 do
  redis.call("HSET", KEYS[3], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= "" or redis.call("EXISTS", prefix .. ARGV[i + 1]) == 0 then
    redis.call("SET", prefix .. ARGV[i + 1], ARGV[i + 2])
  end
end
local entry = cjson.decode(ARGV[2])
entry.parent = cur or nil
redis.call("LPUSH", KEYS[2], cjson.encode(entry))
redis.call("SET", KEYS[1], ARGV[1])
local keep = tonumber(ARGV[3])
local dropped = redis.call("LRANGE", KEYS[2], keep, -1)
if #dropped > 0 then
  redis.call("LTRIM", KEYS[2], 0, keep - 1)
  local kept, ids = {}, {}
  for _, e in ipairs(redis.call("LRANGE", KEYS[2], 0, -1)) do kept[cjson.decode(e).id] = true end
  local mprefix = string.sub(KEYS[3], 1, #KEYS[3] - #ARGV[1])
  local gone = {}
  for _, e in ipairs(dropped) do
    local id = cjson.decode(e).id
    if not kept[id] and not gone[id] then gone[id] = true; ids[#ids + 1] = id end
  end
  if #ids > 0 then
    local live = {}
    for id in pairs(kept) do
      for _, h in ipairs(redis.call("HVALS", mprefix .. id)) do live[h] = true end
    end
    for _, id in ipairs(ids) do
      for _, h in ipairs(redis.call("HVALS", mprefix .. id)) do
        if not live[h] then redis.call("DEL", prefix .. h) end
      end
      redis.call("DEL", mprefix .. id)
    end
  end
end
redis.call("PUBLISH", ARGV[4], ARGV[5])
return {1, cur or false}
]])

local function check_tenant(t)
  if type(t) ~= "string" or #t > 64 or not t:match(ID) then return nil, "not a tenant id: " .. tostring(t) end
  return t
end

local function entry(id, meta)
  return json.encode{ id = id, author = meta.author or "unknown", time = time.now(), message = meta.message or "",
                      source = meta.source }
end

local function switch(t, id, meta, triples)
  local args = { id, entry(id, meta), M.KEEP, M.CHANNEL,
                 json.encode{ tenant = t, id = id, source = meta.source }, key(t, "blob:") }
  for _, v in ipairs(triples) do args[#args + 1] = v end
  local res, err = SWITCH:run({ key(t, "current"), key(t, "history"), key(t, "m:" .. id) }, args)
  if not res then return nil, "version store: " .. tostring(err) end
  if res[1] == -1 then return nil, res[2] end
  redis.call("SADD", TENANTS, t)                -- (a key of its own slot: not in the script)
  return res[1] == 1 and "published" or "current"
end

local function check_meta(meta, default)
  meta = meta or {}
  local source = meta.source or default
  if not SOURCES[source] then return nil, "meta.source must be disk, admin, studio or rollback" end
  return { author = meta.author and tostring(meta.author), message = meta.message and tostring(meta.message),
           source = source }
end

function M.publish(t, files, meta)
  local ok, err = check_tenant(t)
  if not ok then return nil, err end
  meta, err = check_meta(meta)
  if not meta then return nil, err end
  if type(files) ~= "table" or type(files["tenants/" .. t .. ".lua"]) ~= "string" then
    return nil, ("a version of '%s' needs its config as files[\"tenants/%s.lua\"]"):format(t, t)
  end
  local id = version.id(t, files)
  local places, shas = {}, {}
  for place, text in pairs(files) do
    if type(place) ~= "string" or type(text) ~= "string" then return nil, "files must map places to texts" end
    places[#places + 1] = place
    shas[place] = sha(text)
  end
  table.sort(places)
  -- blobs the store has already are not sent again
  local cmds = {}
  for i, place in ipairs(places) do cmds[i] = { "EXISTS", key(t, "blob:" .. shas[place]) } end
  local have, perr = redis.pipeline(cmds)
  if not have then return nil, "version store: " .. tostring(perr) end
  local triples = {}
  for i, place in ipairs(places) do
    local known = have[i] == 1
    triples[#triples + 1] = place
    triples[#triples + 1] = shas[place]
    triples[#triples + 1] = known and "" or files[place]
  end
  local how, serr = switch(t, id, meta, triples)
  if not how then return nil, serr end
  return id, how
end

function M.activate(t, id, meta)
  local ok, err = check_tenant(t)
  if not ok then return nil, err end
  if type(id) ~= "string" or not id:match("^%x+$") then return nil, "unknown version" end
  meta, err = check_meta(meta, "rollback")
  if not meta then return nil, err end
  local how, serr = switch(t, id, meta, {})
  if not how then return nil, serr end
  return true, how
end

function M.current(t)
  local v, err = redis.call("GET", key(t, "current"))
  if err then return nil, "version store: " .. tostring(err) end
  if v == redis.null then return nil end
  return v
end

function M.currents(ts)
  local cmds = {}
  for i, t in ipairs(ts) do cmds[i] = { "GET", key(t, "current") } end
  if #cmds == 0 then return {} end
  local res, err = redis.pipeline(cmds)
  if not res then return nil, "version store: " .. tostring(err) end
  local out = {}
  for i, t in ipairs(ts) do
    local v = res[i]
    if type(v) == "table" and v.err then return nil, "version store: " .. tostring(v.err) end
    if type(v) == "string" then out[t] = v end
  end
  return out
end

function M.tenants()
  local ids, err = redis.call("SMEMBERS", TENANTS)
  if not ids then return nil, "version store: " .. tostring(err) end
  table.sort(ids)
  return ids
end

function M.has(t, id)
  local n, err = redis.call("EXISTS", key(t, "m:" .. id))
  if not n then return nil, "version store: " .. tostring(err) end
  return n == 1
end

function M.history(t, opts)
  opts = opts or {}
  local limit = math.max(1, math.min(tonumber(opts.limit) or 20, M.KEEP))
  local list, err = redis.call("LRANGE", key(t, "history"), 0, -1)
  if not list then return nil, "version store: " .. tostring(err) end
  local out, skipping = {}, opts.before ~= nil
  for _, raw in ipairs(list) do
    local e = json.decode(raw)
    if e and not skipping then
      out[#out + 1] = e
      if #out >= limit then break end
    elseif e and e.id == opts.before then
      skipping = false
    end
  end
  return out
end

function M.files(t, id)
  local flat, err = redis.call("HGETALL", key(t, "m:" .. id))
  if not flat then return nil, "version store: " .. tostring(err) end
  if #flat == 0 then return nil end
  local cmds, places = {}, {}
  for i = 1, #flat, 2 do
    places[#places + 1] = flat[i]
    cmds[#cmds + 1] = { "GET", key(t, "blob:" .. flat[i + 1]) }
  end
  local texts, perr = redis.pipeline(cmds)
  if not texts then return nil, "version store: " .. tostring(perr) end
  local out = {}
  for i, place in ipairs(places) do
    if type(texts[i]) ~= "string" then return nil, "version store: blob of " .. place .. " missing" end
    out[place] = texts[i]
  end
  return out
end

function M.diff(t, a, b)
  local fa, ea = M.files(t, a)
  if not fa then return nil, ea or "unknown version" end
  local fb, eb = M.files(t, b)
  if not fb then return nil, eb or "unknown version" end
  local out = {}
  for place, text in pairs(fa) do
    if fb[place] ~= text then out[place] = { old = text, new = fb[place] } end
  end
  for place, text in pairs(fb) do
    if fa[place] == nil then out[place] = { new = text } end
  end
  return out
end

local function split(s)
  local out = {}
  if not s or s == "" then return out end
  for l in (s:sub(-1) == "\n" and s or s .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- the longest common subsequence of the lines (files of flows are short:
-- O(n*m) is fine up to a few thousand lines); outside it "-" and "+"
function M.lines(old, new)
  local a, b = split(old), split(new)
  local n, m = #a, #b
  if n * m > 4e6 then                           -- too big to align: all out, all in
    local out = {}
    for _, l in ipairs(a) do out[#out + 1] = { op = "-", text = l } end
    for _, l in ipairs(b) do out[#out + 1] = { op = "+", text = l } end
    return out
  end
  local lcs = {}
  for i = n + 1, 1, -1 do
    lcs[i] = {}
    for j = m + 1, 1, -1 do
      if i > n or j > m then lcs[i][j] = 0
      elseif a[i] == b[j] then lcs[i][j] = lcs[i + 1][j + 1] + 1
      else lcs[i][j] = math.max(lcs[i + 1][j], lcs[i][j + 1]) end
    end
  end
  local out, i, j = {}, 1, 1
  while i <= n or j <= m do
    if i <= n and j <= m and a[i] == b[j] then out[#out + 1] = { op = " ", text = a[i] }; i, j = i + 1, j + 1
    elseif i <= n and (j > m or lcs[i + 1][j] >= lcs[i][j + 1]) then out[#out + 1] = { op = "-", text = a[i] }; i = i + 1
    else out[#out + 1] = { op = "+", text = b[j] }; j = j + 1 end
  end
  return out
end

return M
