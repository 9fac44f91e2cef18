--- connectors.frappe: Frappe / ERPNext REST (`/api/resource/<DocType>`,
--- `/api/method/<dotted.path>`), token auth (`Authorization: token
--- key:secret`). Describes the requests and reads Frappe's answers.
--
-- Declaration: frappe = { url, key_env, secret_env, key_field? ("flowhost_key";
--   false: no marker, an in-doubt insert is not retried), timeout?, tries? }
-- Ops:
--   list(doctype, {fields, filters, limit, start, order_by}?) -> docs
--   get(doctype, name) -> doc;  get_method(path, args?) -> message (GET)
--   insert(doctype, doc, {key}) -> doc        update(doctype, name, doc, {key}) -> doc
--   delete(doctype, name, {key}) -> true      call(path, args, {key}) -> message (POST)
-- Errors: exc_type (or the status) decides: ValidationError and its kin
--   (417) -> "invalid", AuthenticationError (401) -> "unauthorized",
--   PermissionError (403) -> "forbidden", DoesNotExistError (404) ->
--   "not found", DuplicateEntryError (409) -> "conflict"; the detail is the
--   first of _server_messages (a JSON list of JSON strings) or `exception`.
local chttp = require "connectors.http"
local json = require "json"

local C = { secrets = { "key_env", "secret_env" } }

C.ops = {
  list = { n = 2 }, get = { n = 2 }, get_method = { n = 2 },
  insert = { n = 2, write = true }, update = { n = 3, write = true }, delete = { n = 2, write = true },
  call = { n = 2, write = true },
}

local WORDS = { ValidationError = "invalid", MandatoryError = "invalid", LinkValidationError = "invalid",
                AuthenticationError = "unauthorized", PermissionError = "forbidden",
                DoesNotExistError = "not found", DuplicateEntryError = "conflict" }

function C.check(d)
  if type(d.url) ~= "string" or not d.url:match("^https?://[^/]") then return "url must be an http(s) URL" end
  if d.key_field ~= nil and d.key_field ~= false and (type(d.key_field) ~= "string" or not d.key_field:match("^[%w_]+$")) then
    return "key_field must be a field name (or false)"
  end
end

local function server_message(doc)
  local ok, list = pcall(json.decode, doc._server_messages)
  if not ok or type(list) ~= "table" or type(list[1]) ~= "string" then return nil end
  local ok2, m = pcall(json.decode, list[1])
  if ok2 and type(m) == "table" then return m.message end
  return list[1]
end

local function judge(res, doc)
  if res.status >= 200 and res.status < 300 then return nil end
  if type(doc) ~= "table" then return nil end          -- the status decides
  local word = WORDS[doc.exc_type]
  if not word then return nil end
  local detail = (type(doc._server_messages) == "string" and server_message(doc)) or doc.exception or doc.exc_type
  return word, false, tostring(detail)
end

function C.new(d, secrets)
  return { url = d.url:gsub("/+$", ""), key_field = d.key_field == nil and "flowhost_key" or d.key_field,
           token = "token " .. tostring(secrets.key_env) .. ":" .. tostring(secrets.secret_env),
           conn = { name = "frappe", timeout = d.timeout or 10, tries = d.tries or 3,
                    secrets = { secrets.secret_env } } }
end

local function path_part(s, what)
  if type(s) ~= "string" or s == "" or s:find("[/%c]") then error("frappe: " .. what .. " must be a name", 0) end
  return chttp.escape(s)
end

local function method_path(p)
  if type(p) ~= "string" or not p:match("^[%w_]+[%w_%.]*$") then error("frappe: a method is a dotted path such as \"frappe.auth.get_logged_user\"", 0) end
  return p
end

-- -> data (or message) | nil, word, detail
local function send(self, method, path, value, ctx, field)
  local headers, body = { Authorization = self.token, Accept = "application/json" }, nil
  if value ~= nil then headers, body = chttp.json_body(headers, value) end
  local res, doc, detail = chttp.call(self.conn, { method = method, url = self.url .. path, headers = headers,
    body = body, deadline = ctx.deadline, judge = judge })
  if not res then return nil, doc, detail end
  if type(doc) ~= "table" then return nil, "bad answer", "answer is not a JSON object" end
  local v = doc[field]
  if v == nil then v = doc[field == "data" and "message" or "data"] end  -- older releases
  if v == nil then return nil, "bad answer", "no " .. field end
  return v
end

local function jsonq(v) if v ~= nil then return json.encode(v) end end

local RUN = {}
function RUN.list(self, a, ctx)
  local o = a[2] or {}
  local q = { fields = jsonq(o.fields), filters = jsonq(o.filters), limit_page_length = o.limit,
              limit_start = o.start, order_by = o.order_by }
  return send(self, "GET", "/api/resource/" .. path_part(a[1], "doctype") .. chttp.query(q), nil, ctx, "data")
end
function RUN.get(self, a, ctx)
  return send(self, "GET", "/api/resource/" .. path_part(a[1], "doctype") .. "/" .. path_part(a[2], "name"), nil, ctx, "data")
end
function RUN.get_method(self, a, ctx)
  return send(self, "GET", "/api/method/" .. method_path(a[1]) .. chttp.query(a[2]), nil, ctx, "message")
end
function RUN.insert(self, a, ctx)
  local doc = {}
  for k, v in pairs(a[2] or {}) do doc[k] = v end
  if self.key_field then doc[self.key_field] = ctx.marker end
  return send(self, "POST", "/api/resource/" .. path_part(a[1], "doctype"), doc, ctx, "data")
end
function RUN.update(self, a, ctx)
  return send(self, "PUT", "/api/resource/" .. path_part(a[1], "doctype") .. "/" .. path_part(a[2], "name"),
    a[3] or {}, ctx, "data")
end
function RUN.delete(self, a, ctx)
  local v, word, detail = send(self, "DELETE", "/api/resource/" .. path_part(a[1], "doctype") .. "/" .. path_part(a[2], "name"),
    nil, ctx, "data")
  if v ~= nil or (word == "not found" and ctx.doubt) then return true end
  return nil, word, detail
end
function RUN.call(self, a, ctx)
  return send(self, "POST", "/api/method/" .. method_path(a[1]), a[2] or {}, ctx, "message")
end

function C.run(self, op, args, ctx) return RUN[op](self, args, ctx) end

--- the doc an in-doubt insert made -> doc | false | nil, word. Updates and
--- deletes are repeated; a method call cannot be looked up ("in doubt").
function C.find(self, op, args, ctx)
  if op == "update" or op == "delete" then return false end
  if op ~= "insert" or not self.key_field then return nil, "in doubt" end
  local found, word, detail = RUN.list(self, { args[1], { fields = { "name" }, limit = 1,
    filters = { { self.key_field, "=", ctx.marker } } } }, ctx)
  if found == nil then return nil, word, detail end
  if not found[1] then return false end
  return RUN.get(self, { args[1], found[1].name }, ctx)
end

return C
