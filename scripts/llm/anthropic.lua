--- llm.anthropic: the Anthropic Messages API: request bodies and answer
--- reading, nothing else. The provider interface is described in
--- scripts/llm/openai.lua; scripts/llm.lua sends, retries and logs.
-- Pure functions; never yield.
local json = require "json"
local schema = require "llm.schema"

local P = { base_url = "https://api.anthropic.com" }

local VERSION = "2023-06-01"

local null = json.null

-- stop_reason -> the neutral finish word (OpenAI's vocabulary)
local FINISH = { end_turn = "stop", stop_sequence = "stop", max_tokens = "length",
                 tool_use = "tool_calls", refusal = "refusal", pause_turn = "pause" }

-- Anthropic's API, or a proxy for it, always wants x-api-key
function P.needs_key() return true end

function P.headers(key)
  local h = { ["Content-Type"] = "application/json", ["Accept"] = "application/json",
              ["anthropic-version"] = VERSION }
  if key then h["x-api-key"] = key end
  return h
end

-- neutral messages -> Anthropic messages: tool calls become tool_use blocks,
-- tool results become tool_result blocks of one user message
local function messages(list)
  local out = {}
  for _, m in ipairs(list) do
    local last = out[#out]
    if m.role == "tool" then
      local block = { type = "tool_result", tool_use_id = m.tool_call_id, content = m.content }
      if last and last.role == "user" and type(last.content) == "table" and last.content[1].type == "tool_result" then
        last.content[#last.content + 1] = block
      else
        out[#out + 1] = { role = "user", content = { block } }
      end
    elseif m.tool_calls then
      local blocks = {}
      if m.content and m.content ~= "" then blocks[1] = { type = "text", text = m.content } end
      for _, c in ipairs(m.tool_calls) do
        -- no arguments: {} is encoded as the empty object `input` must be
        blocks[#blocks + 1] = { type = "tool_use", id = c.id, name = c.name, input = c.arguments or {} }
      end
      out[#out + 1] = { role = "assistant", content = blocks }
    else
      out[#out + 1] = { role = m.role, content = m.content }
    end
  end
  return out
end

local function tool(t)
  return { name = t.name, description = t.description, input_schema = schema.wire(t.parameters) }
end

local function base(opts, req)
  return {
    model = opts.model,
    system = req.system,
    messages = messages(req.messages),
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
    local choice = req.tool_choice
    if choice == nil or choice == "auto" then body.tool_choice = { type = "auto" }
    elseif choice == "required" then body.tool_choice = { type = "any" }
    elseif choice == "none" then body.tool_choice = { type = "none" }
    else body.tool_choice = { type = "tool", name = choice } end
  end
  return "/v1/messages", body
end

function P.extract(opts, req, wire)
  local body = base(opts, req)
  body.tools = { { name = req.name, description = req.description, input_schema = wire } }
  body.tool_choice = { type = "tool", name = req.name }
  return "/v1/messages", body
end

local function usage(doc)
  local u = type(doc.usage) == "table" and doc.usage or {}
  return { input = tonumber(u.input_tokens) or 0, output = tonumber(u.output_tokens) or 0 }
end

-- -> content blocks | nil, why, final
local function blocks(doc)
  if doc.type ~= "message" or type(doc.content) ~= "table" then return nil, "not a message" end
  if doc.stop_reason == "refusal" then return nil, "refusal", true end
  return doc.content
end

function P.read_chat(doc)
  local content, why, final = blocks(doc)
  if not content then return nil, why, final end
  local text, calls = {}, {}
  for _, b in ipairs(content) do
    if type(b) ~= "table" then return nil, "malformed content block" end
    if b.type == "text" and type(b.text) == "string" then
      text[#text + 1] = b.text
    elseif b.type == "tool_use" then
      if type(b.name) ~= "string" or type(b.input) ~= "table" then return nil, "malformed tool_use block" end
      calls[#calls + 1] = { id = b.id, name = b.name, arguments = b.input }
    end
  end
  text = table.concat(text)
  if text == "" and #calls == 0 then return nil, "empty answer" end
  local stop = doc.stop_reason ~= null and doc.stop_reason or nil
  return { text = text, tool_calls = calls, usage = usage(doc),
           finish = FINISH[stop] or stop or "stop", model = doc.model }
end

function P.read_extract(doc, req)
  local content, why, final = blocks(doc)
  if not content then return nil, why, final end
  if doc.stop_reason == "max_tokens" then return nil, "answer cut at max_tokens" end
  for _, b in ipairs(content) do
    if type(b) == "table" and b.type == "tool_use" and b.name == req.name then
      if type(b.input) ~= "table" then return nil, "tool_use input is not an object" end
      return b.input
    end
  end
  return nil, "no tool_use block for " .. req.name
end

function P.error_message(doc)
  local e = type(doc) == "table" and doc.error
  if type(e) == "table" and type(e.message) == "string" then
    return (type(e.type) == "string" and e.type .. ": " or "") .. e.message
  end
  return nil
end

function P.retryable()
  return true
end

return P
