--- connectors.http: one logical request of a connector to its vendor:
--- attempts with backoff and Retry-After, a total deadline, stable error
--- words, logging and metrics, in one place (llm.retry underneath). A
--- connector only describes its requests and how its vendor says "error".
--
--   http.call(conn, req) -> res, doc | nil, word, detail        (yields)
--     conn: the client: {name = "odoo", timeout = seconds per attempt,
--           tries = attempts, secrets = {strings never logged}}
--     req:  {method, url, headers?, body? (string), deadline? (absolute),
--            idempotent? (default: GET/PUT/DELETE/PATCH yes, POST no),
--            judge? = fn(res, doc) -> nil | word, again, detail}
--     res:  http.request's response; doc: its body decoded as JSON (nil
--           when it is not JSON)
--     judge reads the vendor's error shape: nil means success; otherwise
--     the word, whether another attempt may help, and a short detail for the
--     log and the flow (the vendor's message, secrets scrubbed). Without a
--     judge (or when it returns nil for a non-2xx), retry.status decides.
--   A request that is not idempotent is attempted again only when it surely
--   did not reach the vendor (connection refused, name not found) or the
--   vendor refused it unprocessed (429): after a timeout or a 5xx it may
--   have happened, and the ledger (connectors.ledger) resolves that.
--   A 2xx whose body should be JSON and is not gives "bad answer".
--   http.form(t) -> "a=1&b=2" (keys sorted), http.escape(s), http.query(t)
--   -> "?a=1&b=2" or ""
local http = require "http"
local json = require "json"
local log = require "log"
local time = require "time"
local host = require "host"
local retry = require "llm.retry"

local M = {}

local CONNECT_TIMEOUT = 5
local SURELY_NOT_SENT = { ["connection refused"] = true, ["dns failed"] = true }

function M.escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(ch) return ("%%%02X"):format(ch:byte()) end))
end

function M.form(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = M.escape(k) .. "=" .. M.escape(t[k]) end
  return table.concat(parts, "&")
end

function M.query(t)
  if not t or next(t) == nil then return "" end
  return "?" .. M.form(t)
end

local function scrub(conn, text)
  text = tostring(text or "")
  for _, s in ipairs(conn.secrets or {}) do
    if type(s) == "string" and #s >= 4 then text = text:gsub(s:gsub("%p", "%%%0"), "[secret]") end
  end
  return text:sub(1, 300)
end
M.scrub = scrub

local function metric(conn, outcome)
  host.metric_add("flowhost_connector_calls_total",
    ('connector="%s",outcome="%s"'):format(host.escape_label(conn.name), host.escape_label(outcome)), 1)
end

function M.call(conn, req)
  local idempotent = req.idempotent
  if idempotent == nil then idempotent = req.method ~= "POST" end
  local detail
  local doc_out
  local started = time.monotonic()
  local res, word = retry.run({ tries = conn.tries or 3, timeout = conn.timeout or 10, deadline = req.deadline },
    function(timeout, n)
      local res, herr = http.request{ method = req.method, url = req.url, headers = req.headers, body = req.body,
                                      timeout = timeout, connect_timeout = math.min(timeout, CONNECT_TIMEOUT) }
      if not res then
        local w, again = retry.transport(herr)
        detail = herr
        log.warn("connector: request failed", { connector = conn.name, attempt = n, error = herr })
        return nil, w, { retry = again and (idempotent or SURELY_NOT_SENT[herr] == true) }
      end
      local doc
      if res.body and res.body ~= "" then
        local ok, v = pcall(json.decode, res.body)
        if ok then doc = v end
      end
      local w, again, why
      if req.judge then w, again, why = req.judge(res, doc) end
      if not w and (res.status < 200 or res.status >= 300) then w, again = retry.status(res.status) end
      if not w and doc == nil and res.body ~= "" then
        w, again, why = "bad answer", false, "answer is not JSON"
      end
      if not w then
        doc_out = doc
        return res
      end
      detail = scrub(conn, why or res.body)
      log.warn("connector: vendor error", { connector = conn.name, attempt = n, status = res.status,
                                            error = w, detail = detail })
      again = again and (idempotent or res.status == 429)
      return nil, w, { retry = again, after = again and retry.after(res.headers, time.now()) or nil }
    end)
  metric(conn, res and "ok" or word)
  if not res then
    log.warn("connector: call failed", { connector = conn.name, error = word,
                                         seconds = time.monotonic() - started })
    return nil, word, detail
  end
  return res, doc_out
end

--- JSON body and headers for a request: -> headers, body
function M.json_body(headers, value)
  headers = headers or {}
  headers["Content-Type"] = "application/json"
  headers["Accept"] = "application/json"
  return headers, json.encode(value)
end

return M
