--- flow.rep_registry: sales reps registered without code
--- (POST /admin/tenants/{t}/reps), kept beside the tenant's config in
--- <tenants dir>/<tenant>.reps.lua: data a person can read and edit, merged
--- under the config's `reps` when the tenant loads (a rep written in the
--- config itself wins). Writing the file is what makes a rep live: hot
--- reload picks it up like any edit, on every worker, without a restart.
--
--   registry.file(tenant) -> path
--   registry.read(tenant) -> {rep = settings} ({} without a file; reads the
--       version's snapshot inside a tenant state) | nil, problem
--   registry.parse(body) -> rep id, settings | nil, problem
--       body = {id, name, telegram_user_id?, prospects? ("all" | list),
--               timezone?, hours? ("09:00-18:00" Mon-Fri, or {mon = "...", ...}),
--               calendar? (a Google calendar id), zoom_user?}
--   registry.add(tenant, id, settings) -> true | nil, err   (rewrites the file
--       atomically: a temporary file renamed over it)
local source = require "flow.source"
local hours = require "flow.hours"
local tz = require "tz"

local M = {}

local DAYS = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" }

function M.file(tenant)
  local tdir = require("flow.tenant").dirs()
  return tdir .. "/" .. tenant .. ".reps.lua"
end

function M.read(tenant)
  local path = M.file(tenant)
  if not source.read(path) then return {} end
  local v, text = source.load(path, source.env())
  if type(v) ~= "table" then return nil, text or (path .. ":1: must return a table of reps") end
  return v
end

-- "09:00-18:00" or "9am-6pm" -> a span the booking engine reads, or nil
local function span(s)
  if type(s) ~= "string" then return nil end
  local list = hours.day(s)
  if type(list) ~= "table" or #list == 0 then return nil end
  return list
end

function M.parse(b)
  if type(b) ~= "table" then return nil, "send a JSON object" end
  if type(b.id) ~= "string" or not b.id:match("^[a-z0-9][a-z0-9_]*$") or #b.id > 32 then
    return nil, "id: small letters, digits and _ (like \"dina\")"
  end
  if type(b.name) ~= "string" or b.name == "" then return nil, "name: the rep's name as prospects see it" end
  local s = { name = b.name }
  if b.telegram_user_id ~= nil then
    local uid = tonumber(b.telegram_user_id)
    if not uid or uid % 1 ~= 0 then return nil, "telegram_user_id: the rep's Telegram user id (a number)" end
    local prospects = b.prospects or "all"
    if prospects ~= "all" and type(prospects) ~= "table" then
      return nil, "prospects: \"all\" or a list of Telegram user ids and @usernames"
    end
    s.telegram = { user_id = uid, prospects = prospects }
  end
  if b.timezone ~= nil then
    if type(b.timezone) ~= "string" or not tz.zone(b.timezone) then
      return nil, "timezone: an IANA zone like \"Asia/Makassar\""
    end
    s.timezone = b.timezone
  end
  if b.hours ~= nil then
    local week = {}
    if type(b.hours) == "string" then
      local sp = span(b.hours)
      if not sp then return nil, "hours: like \"09:00-18:00\" (Monday to Friday) or {\"mon\": \"09:00-13:00\", ...}" end
      for i = 1, 5 do week[DAYS[i]] = sp end
    elseif type(b.hours) == "table" then
      for day, text in pairs(b.hours) do
        local known = false
        for _, d in ipairs(DAYS) do known = known or d == day end
        local sp = span(text)
        if not known or not sp then return nil, ("hours.%s: a weekday (mon..sun) with a time range like \"09:00-13:00\"")
          :format(tostring(day)) end
        week[day] = sp
      end
    else
      return nil, "hours: like \"09:00-18:00\" or {\"mon\": \"09:00-13:00\", ...}"
    end
    s.hours = week
  end
  if b.calendar ~= nil then
    if type(b.calendar) ~= "string" or b.calendar == "" or #b.calendar > 200 then
      return nil, "calendar: the rep's Google calendar id (often their email)"
    end
    s.calendar = { google = b.calendar, write = false, freshness = 30 }
  end
  if b.zoom_user ~= nil then
    if type(b.zoom_user) ~= "string" or b.zoom_user == "" or #b.zoom_user > 200 then
      return nil, "zoom_user: the rep's Zoom user (email or id)"
    end
    s.zoom_user = b.zoom_user
  end
  return b.id, s
end

-- a Lua literal of plain data (strings, numbers, booleans, tables), keys sorted
local function literal(v, indent)
  local t = type(v)
  if t == "string" then return ("%q"):format(v) end
  if t == "number" or t == "boolean" then return tostring(v) end
  if t ~= "table" then error("rep_registry: cannot write a " .. t) end
  local pad, out = indent .. "  ", {}
  if #v > 0 then
    for _, x in ipairs(v) do out[#out + 1] = literal(x, pad) end
    return "{ " .. table.concat(out, ", ") .. " }"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local key = k:match("^[%a_][%w_]*$") and k or ("[%q]"):format(k)
    out[#out + 1] = pad .. key .. " = " .. literal(v[k], pad) .. ","
  end
  return "{\n" .. table.concat(out, "\n") .. "\n" .. indent .. "}"
end

function M.add(tenant, id, settings)
  local reps, problem = M.read(tenant)
  if not reps then return nil, problem end
  reps[id] = settings
  local path = M.file(tenant)
  local text = "-- Sales reps registered with POST /admin/tenants/" .. tenant .. "/reps (flow.rep_registry).\n"
    .. "-- Data only; a rep in config/tenants/" .. tenant .. ".lua with the same id wins.\n"
    .. "return " .. literal(reps, "") .. "\n"
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, tostring(err) end
  f:write(text)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then return nil, tostring(rerr) end
  return true
end

return M
