--- llm: chat and structured extraction against an LLM provider, with
--- retries, a total deadline, logging and metrics in one place. The provider
--- modules (llm/openai.lua, llm/anthropic.lua) only describe requests.
--
--   local client = llm.client{provider, model, base_url?, api_key_env?, api_key?,
--                             timeout?, temperature?, max_tokens?, retries?, structured?}
--       -> client                                  raises on bad settings
--   client:chat{system?, messages, tools?, tool_choice?, deadline?, temperature?, max_tokens?}
--       -> {text, tool_calls = {{id, name, arguments}}, usage = {input, output}, finish, model}
--        | nil, err                                 yields
--   client:extract{system?, text | messages, schema, name?, description?, deadline?,
--                  temperature?, max_tokens?}
--       -> value checked against schema | nil, err  yields
--   llm.validate(schema, value) -> true | nil, "<path>: <problem>"
--   llm.ERRORS   the words err can be (a set)
--
-- err: "timeout", "rate limited", "unavailable", "unauthorized",
-- "bad request", "bad answer", "deadline". Attempts: 1 + retries; 429, 408,
-- 409, 5xx, timeouts and connection errors are retried (backoff with full
-- jitter, or the server's Retry-After); a bad answer is asked again once.
-- deadline is an absolute time.now() value: no attempt runs and no wait
-- sleeps past it. chat/extract yield: call them from a task (a request
-- handler, a timer, a spawned task). Settings and arguments are explained
-- in docs/llm.md.
local http = require "http"
local json = require "json"
local log = require "log"
local time = require "time"
local host = require "host"
local retry = require "llm.retry"
local schema = require "llm.schema"

local M = {}
local Client = {}
Client.__index = Client

local type, ipairs, tostring, min = type, ipairs, tostring, math.min

local PROVIDERS = { openai = "llm.openai", anthropic = "llm.anthropic" }
local CONNECT_TIMEOUT = 5

M.ERRORS = { timeout = true, ["rate limited"] = true, unavailable = true, unauthorized = true,
             ["bad request"] = true, ["bad answer"] = true, deadline = true }

M.validate = schema.validate

-- an HTTP error status -> our word, and whether another attempt may help
-- (a 409 is a busy provider here; 403 and 404 are the caller's to fix)
local LLM_WORD = { forbidden = "unauthorized", ["not found"] = "bad request", gone = "bad request",
                   invalid = "bad request", conflict = "unavailable" }
local function status_word(status)
  local word, again = retry.status(status)
  if word == "conflict" then again = true end
  return LLM_WORD[word] or word, again
end

local function setting(opts, key, kind, default, fn)
  local v = opts[key]
  if v == nil then return default end
  if type(v) ~= kind then error(("%s: '%s' must be a %s"):format(fn, key, kind), 3) end
  return v
end

local function positive(v, key, fn, level)
  if v ~= nil and (type(v) ~= "number" or v <= 0) then
    error(("%s: '%s' must be a positive number"):format(fn, key), level)
  end
  return v
end

--- llm.client(settings) -> client. Raises on unknown provider, missing
--- model, a bad setting, or an api_key_env variable that is not set.
--- Reads the key once, here. Does not yield; call it anywhere.
function M.client(opts)
  local fn = "llm.client"
  if type(opts) ~= "table" then error(fn .. ": expected a table of settings", 2) end
  local mod = PROVIDERS[opts.provider]
  if not mod then
    error(fn .. ": unknown provider " .. tostring(opts.provider) .. " (use openai or anthropic)", 2)
  end
  local p = require(mod)
  local model = setting(opts, "model", "string", nil, fn)
  if not model or model == "" then error(fn .. ": 'model' is required", 2) end
  local base_url = setting(opts, "base_url", "string", p.base_url, fn):gsub("/+$", "")
  if not base_url:match("^https?://[^/]") then error(fn .. ": 'base_url' must be an http(s) URL", 2) end
  local key = setting(opts, "api_key", "string", nil, fn)
  local env = setting(opts, "api_key_env", "string", nil, fn)
  if env then
    if key then error(fn .. ": give api_key_env or api_key, not both", 2) end
    key = os.getenv(env)
    if not key or key == "" then error(fn .. ": environment variable " .. env .. " is not set", 2) end
  end
  local retries = setting(opts, "retries", "number", 3, fn)
  if retries < 0 or retries % 1 ~= 0 then error(fn .. ": 'retries' must be a whole number >= 0", 2) end
  local structured = setting(opts, "structured", "string", "response_format", fn)
  if structured ~= "response_format" and structured ~= "tools" then
    error(fn .. ": 'structured' must be \"response_format\" or \"tools\"", 2)
  end
  local self = {
    name = opts.provider, p = p, model = model, base_url = base_url,
    headers = p.headers(key), key = key, retries = retries,
    timeout = positive(setting(opts, "timeout", "number", 10, fn), "timeout", fn, 3),
    temperature = setting(opts, "temperature", "number", 0, fn),
    max_tokens = positive(setting(opts, "max_tokens", "number", 512, fn), "max_tokens", fn, 3),
    structured = opts.provider == "anthropic" and "tools" or structured,
  }
  return setmetatable(self, Client)
end

local function check_name(name, what, fn, level)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") or #name > 64 then
    error(("%s: %s must be 1-64 letters, digits, '_' or '-'"):format(fn, what), level)
  end
end

local function check_messages(list, fn)
  if type(list) ~= "table" or #list == 0 then error(fn .. ": 'messages' must be a non-empty list", 3) end
  for i, m in ipairs(list) do
    local at = ("%s: messages[%d]"):format(fn, i)
    if type(m) ~= "table" then error(at .. " must be a table", 3) end
    if m.role == "tool" then
      if type(m.tool_call_id) ~= "string" or type(m.content) ~= "string" then
        error(at .. ": a tool message needs tool_call_id and content strings", 3)
      end
    elseif m.role == "assistant" and m.tool_calls ~= nil then
      if type(m.tool_calls) ~= "table" or #m.tool_calls == 0 then error(at .. ".tool_calls must be a non-empty list", 3) end
      for _, c in ipairs(m.tool_calls) do
        if type(c) ~= "table" or type(c.id) ~= "string" or type(c.name) ~= "string"
           or (c.arguments ~= nil and type(c.arguments) ~= "table") then
          error(at .. ".tool_calls: each needs id and name strings and an arguments table", 3)
        end
      end
      if m.content ~= nil and type(m.content) ~= "string" then error(at .. ".content must be a string", 3) end
    elseif m.role == "user" or m.role == "assistant" then
      if type(m.content) ~= "string" then error(at .. ".content must be a string", 3) end
    else
      error(at .. ".role must be user, assistant or tool (the system prompt goes in system =)", 3)
    end
  end
end

local function check_common(req, fn)
  if type(req) ~= "table" then error(fn .. ": expected a table of arguments", 3) end
  if req.system ~= nil and type(req.system) ~= "string" then error(fn .. ": 'system' must be a string", 3) end
  if req.deadline ~= nil and type(req.deadline) ~= "number" then
    error(fn .. ": 'deadline' must be an absolute time (time.now() + seconds)", 3)
  end
  if req.temperature ~= nil and type(req.temperature) ~= "number" then error(fn .. ": 'temperature' must be a number", 3) end
  positive(req.max_tokens, "max_tokens", fn, 4)
end

local function scrub(self, text)
  if self.key and #self.key >= 4 then
    text = text:gsub(self.key:gsub("%p", "%%%0"), "[key]")
  end
  return text
end

local function note(self, level, msg, fields)
  fields.provider, fields.model = self.name, self.model
  log[level](msg, fields)
end

-- one call: attempts through retry.run; read(doc) -> value | nil, why, final
local function send(self, what, path, body, read, deadline)
  local p = self.p
  local payload = json.encode(body)
  local url = self.base_url .. path
  local bad = 0
  local started = time.monotonic()
  local attempts = 0
  local value, err = retry.run({ tries = self.retries + 1, timeout = self.timeout, deadline = deadline },
    function(timeout, n)
      attempts = n
      local res, herr = http.request{ method = "POST", url = url, headers = self.headers, body = payload,
                                      timeout = timeout, connect_timeout = min(timeout, CONNECT_TIMEOUT) }
      if not res then
        local word, again = retry.transport(herr)
        note(self, "warn", "llm: request failed", { call = what, attempt = n, error = herr })
        return nil, word, { retry = again }
      end
      local ok, doc = pcall(json.decode, res.body)
      if not ok then doc = nil end
      if res.status >= 200 and res.status < 300 then
        local v, why, final
        if type(doc) == "table" then v, why, final = read(doc) else why = "answer is not JSON" end
        if v ~= nil then return v end
        bad = bad + 1
        note(self, "warn", "llm: bad answer", { call = what, attempt = n, problem = why })
        return nil, "bad answer", { retry = not final and bad < 2 }
      end
      local word, again = status_word(res.status)
      if again and (not p.retryable(res.status, doc) or res.headers["x-should-retry"] == "false") then
        again = false
      end
      note(self, "warn", "llm: provider error", { call = what, attempt = n, status = res.status,
        message = scrub(self, p.error_message(doc) or res.body:sub(1, 200)) })
      return nil, word, { retry = again, after = again and retry.after(res.headers, time.now()) or nil }
    end)
  local outcome = value ~= nil and "ok" or err
  host.metric_add("flowhost_llm_calls_total",
    ('provider="%s",outcome="%s"'):format(self.name, host.escape_label(outcome)), 1)
  if value == nil then
    note(self, "warn", "llm: call failed", { call = what, error = err, attempts = attempts,
                                            seconds = time.monotonic() - started })
    local routed = require("flow.identity").routed()    -- (a tenant's state: its health page counts it)
    if routed then require("flow.health").count(routed, "llm_errors", "llm: " .. tostring(err)) end
  end
  return value, err
end

local function check_tools(req, fn)
  if req.tools == nil then
    if req.tool_choice ~= nil then error(fn .. ": 'tool_choice' needs 'tools'", 3) end
    return
  end
  if type(req.tools) ~= "table" or #req.tools == 0 then error(fn .. ": 'tools' must be a non-empty list", 3) end
  local names = {}
  for _, t in ipairs(req.tools) do
    if type(t) ~= "table" then error(fn .. ": each tool must be a table", 3) end
    check_name(t.name, "a tool name", fn, 4)
    if t.description ~= nil and type(t.description) ~= "string" then error(fn .. ": tool description must be a string", 3) end
    schema.check(t.parameters)
    names[t.name] = true
  end
  local c = req.tool_choice
  if c ~= nil and c ~= "auto" and c ~= "none" and c ~= "required" and not names[c] then
    error(fn .. ": 'tool_choice' must be auto, none, required or the name of a tool", 3)
  end
end

--- client:chat{...} -> result | nil, err. See the head of this file.
--- Yields; call from a task.
function Client:chat(req)
  local fn = "llm.chat"
  check_common(req, fn)
  check_messages(req.messages, fn)
  check_tools(req, fn)
  local path, body = self.p.chat(self, req)
  local p = self.p
  return send(self, "chat", path, body, function(doc) return p.read_chat(doc) end, req.deadline)
end

--- client:extract{...} -> value | nil, err. The answer is parsed and
--- checked against schema; an invalid one is asked for once more, then
--- "bad answer". Yields; call from a task.
function Client:extract(req)
  local fn = "llm.extract"
  check_common(req, fn)
  if type(req.schema) ~= "table" then error(fn .. ": 'schema' must be a JSON schema table", 2) end
  schema.check(req.schema)
  local name = req.name or "extract"
  check_name(name, "'name'", fn, 3)
  if req.description ~= nil and type(req.description) ~= "string" then error(fn .. ": 'description' must be a string", 2) end
  local messages = req.messages
  if req.text ~= nil then
    if type(req.text) ~= "string" or messages ~= nil then error(fn .. ": give 'text' (a string) or 'messages'", 2) end
    messages = { { role = "user", content = req.text } }
  end
  check_messages(messages, fn)
  local call = { system = req.system, messages = messages, schema = req.schema, name = name,
                 description = req.description or "Record the extracted fields.",
                 temperature = req.temperature, max_tokens = req.max_tokens }
  local path, body = self.p.extract(self, call, schema.wire(req.schema))
  local p = self.p
  return send(self, "extract", path, body, function(doc)
    local v, why, final = p.read_extract(doc, call)
    if v == nil then return nil, why, final end
    local ok, problem = schema.validate(req.schema, v)
    if not ok then return nil, "schema: " .. problem end
    return v
  end, req.deadline)
end

return M
