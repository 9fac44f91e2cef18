--- connectors.odoo: Odoo's external API over JSON-RPC (`POST <url>/jsonrpc`,
--- services `common` and `object`). Describes the requests and reads Odoo's
--- answers; connectors.http sends them, connectors.host runs the ops.
--
-- Declaration: odoo = { url, db, login_env, key_env, key_field? ("x_flowhost_key";
--   false: creates carry no marker and an in-doubt create is not retried),
--   timeout?, tries? }
-- Ops (what a flow calls; n = positional arguments before the options):
--   search_read(model, domain, {fields, limit, offset, order, context}?) -> records
--   read(model, ids, {fields}?) -> records;  search_count(model, domain) -> n
--   create(model, vals, {key}) -> id        write(model, ids, vals, {key}) -> true
--   unlink(model, ids, {key}) -> true
-- Errors (HTTP 200 with a JSON-RPC error; data.name decides):
--   AccessDenied, SessionExpired -> "unauthorized" (after logging in again once)
--   AccessError -> "forbidden"; ValidationError, UserError, ValueError -> "invalid"
--   MissingError -> "not found"; any other server error -> "vendor error"
local chttp = require "connectors.http"
local auth = require "connectors.auth"

local C = { secrets = { "login_env", "key_env" } }

C.ops = {
  search_read = { n = 3 }, read = { n = 3 }, search_count = { n = 2 },
  create = { n = 2, write = true }, write = { n = 3, write = true }, unlink = { n = 2, write = true },
}

local ERRORS = {
  ["odoo.exceptions.AccessDenied"] = "unauthorized",
  ["odoo.http.SessionExpiredException"] = "unauthorized",
  ["odoo.exceptions.AccessError"] = "forbidden",
  ["odoo.exceptions.ValidationError"] = "invalid",
  ["odoo.exceptions.UserError"] = "invalid",
  ["builtins.ValueError"] = "invalid",
  ["odoo.exceptions.MissingError"] = "not found",
}

function C.check(d)
  if type(d.url) ~= "string" or not d.url:match("^https?://[^/]") then return "url must be an http(s) URL" end
  if type(d.db) ~= "string" or d.db == "" then return "db must name the Odoo database" end
  if d.key_field ~= nil and d.key_field ~= false and (type(d.key_field) ~= "string" or not d.key_field:match("^[%w_]+$")) then
    return "key_field must be a field name (or false)"
  end
end

-- a JSON-RPC error -> word, again, detail
local function judge(res, doc)
  if res.status ~= 200 then return nil end
  if type(doc) ~= "table" then return "bad answer", false, "answer is not JSON-RPC" end
  local e = doc.error
  if type(e) ~= "table" then
    if doc.result == nil then return "bad answer", false, "no result" end
    return nil
  end
  local data = type(e.data) == "table" and e.data or {}
  local name = type(data.name) == "string" and data.name or ""
  local word = ERRORS[name] or (e.code == 100 and "unauthorized") or "vendor error"
  return word, false, (name ~= "" and name .. ": " or "") .. tostring(data.message or e.message or "")
end

local function rpc(self, service, method, args, deadline, idempotent)
  self.seq = self.seq + 1
  local headers, body = chttp.json_body({}, { jsonrpc = "2.0", method = "call", id = self.seq,
    params = { service = service, method = method, args = args } })
  local res, doc, detail = chttp.call(self.conn, { method = "POST", url = self.url .. "/jsonrpc", headers = headers,
    body = body, deadline = deadline, idempotent = idempotent, judge = judge })
  if not res then return nil, doc, detail end
  return doc.result
end

function C.new(d, secrets)
  local self = { url = d.url:gsub("/+$", ""), db = d.db, login = secrets.login_env, key = secrets.key_env,
                 key_field = d.key_field == nil and "x_flowhost_key" or d.key_field, seq = 0,
                 conn = { name = "odoo", timeout = d.timeout or 10, tries = d.tries or 3,
                          secrets = { secrets.key_env } } }
  self.uid = auth.cache(function(deadline)
    local uid, word, detail = rpc(self, "common", "login", { self.db, self.login, self.key }, deadline, true)
    if uid == nil then return nil, word, detail end
    if type(uid) ~= "number" then return nil, "unauthorized", "login refused" end
    return uid
  end)
  return self
end

local function execute(self, model, method, args, kwargs, ctx, idempotent)
  return auth.with(self.uid, ctx.deadline, function(uid)
    local v, word, detail = rpc(self, "object", "execute_kw",
      { self.db, uid, self.key, model, method, args, kwargs or {} }, ctx.deadline, idempotent)
    if v == nil then return nil, word, detail end
    return v
  end)
end

local function model_of(m)
  if type(m) ~= "string" or not m:match("^[%w_%.]+$") then error("odoo: model must be a name such as \"calendar.event\"", 0) end
  return m
end

local function ids_of(ids)
  if type(ids) == "number" then return { ids } end
  if type(ids) ~= "table" then error("odoo: ids must be an id or a list of ids", 0) end
  return ids
end

local RUN = {}
function RUN.search_read(self, a, ctx)
  local o = a[3] or {}
  return execute(self, model_of(a[1]), "search_read", { a[2] or {} },
    { fields = o.fields, limit = o.limit, offset = o.offset, order = o.order, context = o.context }, ctx, true)
end
function RUN.read(self, a, ctx)
  local o = a[3] or {}
  return execute(self, model_of(a[1]), "read", { ids_of(a[2]) }, { fields = o.fields }, ctx, true)
end
function RUN.search_count(self, a, ctx)
  return execute(self, model_of(a[1]), "search_count", { a[2] or {} }, nil, ctx, true)
end
function RUN.create(self, a, ctx)
  local vals = {}
  for k, v in pairs(a[2] or {}) do vals[k] = v end
  if self.key_field then vals[self.key_field] = ctx.marker end
  return execute(self, model_of(a[1]), "create", { vals }, nil, ctx, false)
end
function RUN.write(self, a, ctx)
  return execute(self, model_of(a[1]), "write", { ids_of(a[2]), a[3] or {} }, nil, ctx, true)
end
function RUN.unlink(self, a, ctx)
  local v, word, detail = execute(self, model_of(a[1]), "unlink", { ids_of(a[2]) }, nil, ctx, true)
  if v == nil and word == "not found" and ctx.doubt then return true end -- gone by our first try
  return v, word, detail
end

function C.run(self, op, args, ctx) return RUN[op](self, args, ctx) end

--- the record an in-doubt create made, by the marker it carries:
--- -> id | false (none) | nil, word. Writes and unlinks are simply repeated.
function C.find(self, op, args, ctx)
  if op ~= "create" then return false end
  if not self.key_field then return nil, "in doubt" end
  local found, word, detail = execute(self, model_of(args[1]), "search_read",
    { { { self.key_field, "=", ctx.marker } } }, { fields = { "id" }, limit = 1 }, ctx, true)
  if found == nil then return nil, word, detail end
  return found[1] and found[1].id or false
end

return C
