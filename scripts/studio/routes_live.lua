--- studio.routes_live: the studio's routes from a draft to live: preview
--- chat and specs on the draft, publish, history, diffs and rollback
--- (docs/studio.md). Loaded by scripts/routes/studio.lua.
local json = require "json"
local api = require "studio.api"
local drafts = require "studio.drafts"
local preview = require "studio.preview"
local publish = require "studio.publish"

local route, fail, body = api.route, api.fail, api.body

-- the snapshot of the caller's draft over the live files
local function draft_snapshot(who)
  return (drafts.overlay(who.tenant, drafts.get(who.tenant, who.scope) or {}))
end

route("POST", "draft/chat", function(req, _, who)
  local b = body(req)
  local button = b and type(b.button) == "string" and b.button ~= "" and b.button or nil
  if not b or (type(b.text) ~= "string" or b.text == "") and not button then
    return fail(400, "bad request", 'send {"conversation": "<any name>", "text": "what the customer writes"} (or "button": "<id>" for a tapped button)')
  end
  local conv = type(b.conversation) == "string" and b.conversation ~= "" and b.conversation:sub(1, 64) or "studio"
  local res, err = preview.chat(who.tenant, who.rep or who.tenant, draft_snapshot(who), conv, b.text, button)
  if not res then return fail(502, "preview failed", tostring(err)) end
  local slots = {}
  for k, v in pairs(res.slots or {}) do slots[k] = v end
  return 200, { replies = json.array(res.replies or {}), state = res.state or json.null, slots = slots,
                version = res.version or json.null, error = res.error }
end, { rep = true })

route("POST", "draft/specs", function(_, _, who)
  local s = publish.specs(who.tenant, draft_snapshot(who))
  return 200, { passed = s.passed, failed = s.failed, output = s.output }
end, { rep = true })

route("POST", "publish", function(req, _, who)
  local b = body(req) or {}
  local message = type(b.message) == "string" and b.message:sub(1, 500) or ""
  local done, answer = publish.run(who.tenant, who.scope, who.user, message)
  if not done then return answer[1], answer[2] end
  return 200, done
end, { rep = true })

route("GET", "versions", function(req, _, who)
  local q = type(req.query) == "table" and req.query or {}
  local list, err = publish.history(who.tenant, { limit = tonumber(q.limit) or 20, before = q.before })
  if not list then return fail(503, "unavailable", tostring(err)) end
  return 200, { versions = json.array(list) }
end, { rep = true })

route("GET", "versions/{id}/diff", function(req, p, who)
  local q = type(req.query) == "table" and req.query or {}
  local diff, err = publish.diff(who.tenant, p.id, q.against)
  if not diff then return fail(404, "not found", tostring(err)) end
  return 200, { exists = true, files = json.array((function()
    local out = {}
    for i, d in ipairs(diff) do out[i] = d.path end
    return out
  end)()), diff = json.array(diff) }
end, { rep = true })

route("POST", "rollback", function(req, _, who)
  local b = body(req)
  if not b or type(b.version) ~= "string" then return fail(400, "bad request", 'send {"version": "<id from the history>"}') end
  local id, err = publish.rollback(who.tenant, b.version, who.user)
  if not id then return fail(409, "cannot roll back", tostring(err)) end
  return 200, { version = id }
end)
