-- The studio (docs/studio.md): its page and bundle at /studio/, and its
-- JSON API under /studio/api/ (sign-in by cookie, then per tenant: files,
-- drafts, checks, preview, publish, history, rollback; conversations,
-- customers, availability, bookings, hand-offs, health). Each concern is a
-- module under scripts/studio/; this file only maps routes onto them.
local router = require "host.router"
local json = require "json"
local api = require "studio.api"
local session = require "studio.session"
local static = require "studio.static"
local files = require "studio.files"
local drafts = require "studio.drafts"
local check = require "studio.check"

local route, fail, body = api.route, api.fail, api.body

-- ---- the page and its bundle ----------------------------------------------

router.route("GET", "/studio", function()
  return 301, "", { Location = "/studio/" }
end)
router.route("GET", "/studio/", function(req) return static.serve(req, "index.html") end)
router.route("GET", "/studio/assets/{file*}", function(req, p) return static.serve(req, "assets/" .. p.file) end,
  "/studio/assets/{file*}")

-- ---- sign-in ----------------------------------------------------------------

router.route("POST", "/studio/api/session", function(req)
  local b = body(req)
  if not b then return api.answer(fail(400, "bad json", 'send {"token": "..."}')) end
  local s, sid = session.sign_in(b.token, b.name)
  if not s then
    if sid then return api.answer(fail(503, "unavailable", "the host cannot reach its storage; retry")) end
    return api.answer(fail(401, "unauthorized", "this token opens no tenant (use the platform, a tenant's or a rep's admin token)"))
  end
  local status, b2, h = api.answer(200, session.body(s))
  h["Set-Cookie"] = session.cookie(req, sid)
  return status, b2, h
end)

router.route("GET", "/studio/api/session", function(req)
  local s = session.of(req)
  if not s then return api.answer(fail(401, "unauthorized", "not signed in")) end
  return api.answer(200, session.body(s))
end)

router.route("DELETE", "/studio/api/session", function(req)
  local s, status, value = api.gate(req, "DELETE")
  if not s then return api.answer(status, value) end
  session.sign_out(status)                       -- (gate's second answer: the session id)
  local st, b, h = api.answer(200, { signed_out = true })
  h["Set-Cookie"] = session.clear_cookie(req)
  return st, b, h
end)

-- ---- files, drafts and checks -------------------------------------------------

-- the draft of the caller's scope, with `change` (path -> text) over it
local function draft_files(who, change)
  local d = drafts.get(who.tenant, who.scope) or {}
  for p, t in pairs(change or {}) do d[p] = t end
  return d
end

local function editable(who, path)
  if not files.may_edit(who.tenant, who.rep, path) then
    local _, why = files.abs(who.tenant, path)
    return nil, fail(404, "not found", why or "not a file this sign-in edits")
  end
  return true
end

route("GET", "files", function(_, _, who)
  local d = drafts.get(who.tenant, who.scope) or {}
  local list = files.list(who.tenant, who.rep)
  local seen = {}
  for _, f in ipairs(list) do f.draft = d[f.path] ~= nil; f.new = nil; seen[f.path] = true end
  for path in pairs(d) do                         -- new in the draft
    if not seen[path] then list[#list + 1] = { path = path, kind = files.kind(path), draft = true } end
  end
  table.sort(list, function(a, b) return a.path < b.path end)
  return 200, { files = json.array(list) }
end, { rep = true })

route("GET", "files/{path*}", function(_, p, who)
  local ok, status, value = editable(who, p.path)
  if not ok then return status, value end
  local d = drafts.get(who.tenant, who.scope) or {}
  local live = files.read(who.tenant, p.path)
  if live == nil and d[p.path] == nil and not (who.rep) then return fail(404, "not found", "no such file") end
  return 200, { path = p.path, text = d[p.path] or live or "", live_text = live or json.null, draft = d[p.path] ~= nil }
end, { rep = true })

route("PUT", "draft/files/{path*}", function(req, p, who)
  local ok, status, value = editable(who, p.path)
  if not ok then return status, value end
  local b = body(req)
  if not b or type(b.text) ~= "string" then return fail(400, "bad request", 'send {"text": "<the whole file>"}') end
  if #b.text > 512 * 1024 then return fail(413, "too long", "a file may have at most 512 KB") end
  local saved, err = drafts.put(who.tenant, who.scope, p.path, b.text, who.user)
  if not saved then return fail(503, "unavailable", tostring(err)) end
  return 200, { saved = true, check = check.run(who.tenant, (drafts.overlay(who.tenant, draft_files(who)))) }
end, { rep = true })

route("POST", "check", function(req, _, who)
  local b = body(req)
  if not b or type(b.path) ~= "string" or type(b.text) ~= "string" then
    return fail(400, "bad request", 'send {"path": "messages.lua", "text": "<the file as typed>"}')
  end
  local ok, status, value = editable(who, b.path)
  if not ok then return status, value end
  return 200, check.run(who.tenant, (drafts.overlay(who.tenant, draft_files(who, { [b.path] = b.text }))))
end, { rep = true })

route("GET", "draft", function(_, _, who)
  local d, meta = drafts.get(who.tenant, who.scope)
  if not d then return 200, { exists = false, files = json.array{}, diff = json.array{}, author = json.null, updated = json.null } end
  local diff = drafts.diff(who.tenant, d)
  local changed = {}
  for i, x in ipairs(diff) do changed[i] = x.path; x.lines = json.array(x.lines) end
  return 200, { exists = true, files = json.array(changed), diff = json.array(diff), author = meta.author or json.null,
                updated = meta.updated or json.null }
end, { rep = true })

route("DELETE", "draft", function(_, _, who)
  drafts.discard(who.tenant, who.scope)
  return 200, { discarded = true }
end, { rep = true })

require "studio.routes_live"      -- preview, specs, publish, history, rollback
require "studio.routes_operate"   -- conversations, customers, availability, bookings, hand-offs, health
