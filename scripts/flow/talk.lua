--- flow.talk: a scripted conversation with a tenant's flow in a few
--- readable lines, for flow specs (`flowhost test flows/<tenant>/spec`).
--
--   local talk = require "flow.talk"
--   local chat = talk.new("carwash")             -- in this process
--   local chat = talk.new("carwash", { url = "http://127.0.0.1:8080" })  -- a running host
--   chat:says("hi"):hears("your name"):in_state("collect")
--   chat:says("Rahul"):hears("mobile number")
--   chat:taps("confirm"):has_slot("phone", "9876543210")
--   chat:says("7"):hears_button("Confirm")
--
-- hears() matches a plain, case-insensitive piece of any reply of the last
-- turn. A failing check raises with the whole transcript so far.
-- chat.last = the last result {replies, state, slots}; chat.id = the
-- conversation id: opts.id, else in this process a fresh "chat:spec-<hex>"
-- (a JSON chat API conversation), and against a running host one the host
-- issues on the first message (POST /v1/tenants/{t}/conversations). Naming
-- an id of one's own on a running host needs the tenant's API key: opts.key.
local crypto = require "crypto"
local json = require "json"
local http = require "http"

local M = {}
local Talk = {}
Talk.__index = Talk

function M.new(tenant, opts)
  opts = opts or {}
  local id = opts.id or (not opts.url and ("chat:spec-" .. crypto.random_hex(8)) or nil)
  return setmetatable({ tenant = tenant, url = opts.url, id = id, key = opts.key,
                        log = {}, now = opts.now }, Talk)
end

-- the conversation id a running host issues (first message over HTTP)
local function open(self)
  local r, err = http.request{ method = "POST", timeout = 30,
    url = ("%s/v1/tenants/%s/conversations"):format(self.url, self.tenant) }
  if not r or r.status ~= 201 then
    self.id = "(none)"
    self:fail("the host did not open a conversation: " .. tostring(r and (r.status .. " " .. r.body) or err))
  end
  self.id = json.decode(r.body).id
end

function Talk:transcript()
  return table.concat(self.log, "\n")
end

function Talk:fail(what)
  error(what .. "\n--- conversation " .. self.id .. " ---\n" .. self:transcript(), 3)
end

function Talk:send(msg)
  self.log[#self.log + 1] = msg.text and ("> " .. msg.text) or ("> [" .. tostring(msg.button) .. "]")
  local res, err
  if self.url then
    if not self.id then open(self) end
    local r
    r, err = http.request{ method = "POST", timeout = 30,
      url = ("%s/v1/tenants/%s/conversations/%s/messages"):format(self.url, self.tenant, self.id),
      headers = { ["Content-Type"] = "application/json", Authorization = self.key and ("Bearer " .. self.key) or nil },
      body = json.encode(msg) }
    if r then
      res = json.decode(r.body)
      if r.status ~= 200 then err = "HTTP " .. r.status .. ": " .. r.body; res = nil end
    end
  else
    res, err = require("flow.turn").run(self.tenant, self.id, msg, { now = self.now })
  end
  if not res then self:fail("the turn failed: " .. tostring(err)) end
  for _, r in ipairs(res.replies) do
    local line = "< " .. r.text:gsub("\n", "\n  ")
    if r.buttons then
      local b = {}
      for i, x in ipairs(r.buttons) do b[i] = "[" .. x.id .. ": " .. x.title .. "]" end
      line = line .. "\n  " .. table.concat(b, " ")
    end
    self.log[#self.log + 1] = line
  end
  self.log[#self.log + 1] = "  (state " .. tostring(res.state) .. ")"
  self.last = res
  return res
end

function Talk:says(text) self:send{ text = text }; return self end
function Talk:taps(id) self:send{ button = id }; return self end

--- All reply texts of the last turn, joined.
function Talk:said()
  local t = {}
  for i, r in ipairs(self.last and self.last.replies or {}) do t[i] = r.text end
  return table.concat(t, "\n")
end

function Talk:hears(piece)
  if not self:said():lower():find(piece:lower(), 1, true) then
    self:fail(("expected a reply containing %q"):format(piece))
  end
  return self
end

function Talk:never_hears(piece)
  if self:said():lower():find(piece:lower(), 1, true) then
    self:fail(("expected no reply containing %q"):format(piece))
  end
  return self
end

function Talk:hears_button(title)
  for _, r in ipairs(self.last.replies) do
    for _, b in ipairs(r.buttons or {}) do
      if b.title:lower() == title:lower() or b.id == title then return self end
    end
  end
  self:fail(("expected a button %q"):format(title))
end

--- The buttons of the last turn: list of {id, title}.
function Talk:buttons()
  local out = {}
  for _, r in ipairs(self.last.replies) do
    for _, b in ipairs(r.buttons or {}) do out[#out + 1] = b end
  end
  return out
end

function Talk:in_state(name)
  if self.last.state ~= name then
    self:fail(("expected state %q, the conversation is in %q"):format(name, tostring(self.last.state)))
  end
  return self
end

function Talk:has_slot(name, value)
  local v = self.last.slots and self.last.slots[name]
  local same = v == value
  if type(v) == "table" and type(value) == "table" then same = json.encode(v) == json.encode(value) end
  if not same then
    self:fail(("expected slot %s = %s, it is %s"):format(name, json.encode(value), json.encode(v == nil and json.null or v)))
  end
  return self
end

return M
