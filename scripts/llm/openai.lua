--- llm.openai: OpenAI-compatible Chat Completions (OpenAI, Ollama,
--- llama.cpp server, vLLM): request bodies and answer reading, nothing else.
--- scripts/llm.lua sends, retries and logs.
--
-- Provider interface (the same in llm/anthropic.lua):
--   P.base_url                       default base URL
--   P.headers(key)                   -> request headers (key may be nil)
--   P.needs_key(base_url)            -> true when calls there need an API key
--   P.chat(opts, req)                -> path, body      (req already checked)
--   P.extract(opts, req, schema)     -> path, body      (schema: wire copy)
--   P.read_chat(doc)                 -> result | nil, why, final
--   P.read_extract(doc, req)         -> value | nil, why, final
--   P.error_message(doc)             -> the provider's error text | nil
--   P.retryable(status, doc)         -> false to veto a retry the status allows
-- opts: the client's settings (model, temperature, max_tokens, structured);
-- why: text for the log; final = true: asking again will not help.
-- Pure functions; never yield.
local json = require "json"
local schema = require "llm.schema"

local P = { base_url = "https://api.openai.com/v1" }

local null = json.null

local function str(v)
  if v == nil or v == null then return nil end
  return v
end

-- OpenAI's own API needs a key; an OpenAI-compatible server elsewhere (Ollama,
-- llama.cpp, vLLM on one's own machine) may run without one
function P.needs_key(base_url) return base_url:match("^https?://([^/:]+)") == "api.openai.com" end

function P.headers(key)
  local h = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  if key then h["Authorization"] = "Bearer " .. key end
  return h
end

-- neutral messages -> OpenAI messages (tool calls carry their arguments as a string)
local function messages(system, list)
  local out = {}
  if system then out[1] = { role = "system", content = system } end
  for _, m in ipairs(list) do
    if m.role == "tool" then
      out[#out + 1] = { role = "tool", tool_call_id = m.tool_call_id, content = m.content }
    elseif m.tool_calls then
      local calls = {}
      for i, c in ipairs(m.tool_calls) do
        calls[i] = { id = c.id, type = "function",
                     ["function"] = { name = c.name, arguments = json.encode(c.arguments or {}) } }
      end
      out[#out + 1] = { role = "assistant", content = m.content or null, tool_calls = calls }
    else
      out[#out + 1] = { role = m.role, content = m.content }
    end
  end
  return out
end

local function tool(t)
  local strict = schema.strict_ok(t.parameters)
  return { type = "function", ["function"] = { name = t.name, description = t.description,
           parameters = schema.wire(t.parameters), strict = strict or nil } }
end

local function base(opts, req)
  return {
    model = opts.model,
    messages = messages(req.system, req.messages),
    temperature = req.temperature or opts.temperature,
    max_tokens = req.max_tokens or opts.max_tokens,
  }
end

function P.chat(opts, req)
  local body = base(opts, req)
  if req.tools then
    local tools = {}
    for i, t in ipairs(req.tools) do tools[i] = tool(t) end
    body.tools = tools
    local choice = req.tool_choice or "auto"
    if choice ~= "auto" and choice ~= "none" and choice ~= "required" then
      choice = { type = "function", ["function"] = { name = choice } }
    end
    body.tool_choice = choice
  end
  return "/chat/completions", body
end

function P.extract(opts, req, wire)
  local body = base(opts, req)
  local strict = schema.strict_ok(req.schema) or nil
  if opts.structured == "tools" then
    body.tools = { tool{ name = req.name, description = req.description, parameters = req.schema } }
    body.tool_choice = { type = "function", ["function"] = { name = req.name } }
  else
    body.response_format = { type = "json_schema",
                             json_schema = { name = req.name, schema = wire, strict = strict } }
  end
  return "/chat/completions", body
end

local function usage(doc)
  local u = type(doc.usage) == "table" and doc.usage or {}
  return { input = tonumber(u.prompt_tokens) or 0, output = tonumber(u.completion_tokens) or 0 }
end

-- -> choice, message | nil, why, final
local function first_choice(doc)
  local choice = type(doc.choices) == "table" and doc.choices[1]
  if type(choice) ~= "table" or type(choice.message) ~= "table" then return nil, "no choices" end
  local refusal = str(choice.message.refusal)
  if refusal then return nil, "refusal: " .. tostring(refusal), true end
  if choice.finish_reason == "content_filter" then return nil, "content filtered", true end
  return choice, choice.message
end

local function decode_arguments(raw)
  if type(raw) == "table" then return raw end -- a lenient server sent an object
  if type(raw) ~= "string" then return nil, "tool call without arguments" end
  local ok, v = pcall(json.decode, raw)
  if not ok or type(v) ~= "table" then return nil, "tool call arguments are not a JSON object" end
  return v
end

function P.read_chat(doc)
  local choice, msg, final = first_choice(doc)
  if not choice then return nil, msg, final end
  local calls = {}
  for i, c in ipairs(type(msg.tool_calls) == "table" and msg.tool_calls or {}) do
    local fn = type(c) == "table" and c["function"]
    if type(fn) ~= "table" or type(fn.name) ~= "string" then return nil, "malformed tool call" end
    local args, why = decode_arguments(fn.arguments)
    if not args then return nil, why end
    calls[i] = { id = str(c.id), name = fn.name, arguments = args }
  end
  local text = str(msg.content)
  if text ~= nil and type(text) ~= "string" then return nil, "content is not text" end
  if (text == nil or text == "") and #calls == 0 then return nil, "empty answer" end
  return { text = text or "", tool_calls = calls, usage = usage(doc),
           finish = str(choice.finish_reason) or "stop", model = str(doc.model) }
end

function P.read_extract(doc, req)
  local choice, msg, final = first_choice(doc)
  if not choice then return nil, msg, final end
  if choice.finish_reason == "length" then return nil, "answer cut at max_tokens" end
  if type(msg.tool_calls) == "table" and msg.tool_calls[1] then
    for _, c in ipairs(msg.tool_calls) do
      local fn = type(c) == "table" and c["function"]
      if type(fn) == "table" and fn.name == req.name then return decode_arguments(fn.arguments) end
    end
    return nil, "no call of tool " .. req.name
  end
  local text = str(msg.content)
  if type(text) ~= "string" then return nil, "no content and no tool call" end
  local ok, v = pcall(json.decode, text)
  if not ok or type(v) ~= "table" then return nil, "content is not a JSON object" end
  return v
end

function P.error_message(doc)
  local e = type(doc) == "table" and doc.error
  if type(e) == "table" and type(e.message) == "string" then return e.message end
  if type(e) == "string" then return e end
  return nil
end

-- insufficient_quota is a 429 that waiting does not cure
function P.retryable(status, doc)
  local e = type(doc) == "table" and type(doc.error) == "table" and doc.error
  return not (e and (e.code == "insufficient_quota" or e.type == "insufficient_quota"))
end

return P
