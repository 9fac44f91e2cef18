--- flow.knowledge: a tenant's knowledge base as markdown files a business
--- team writes: flows/<tenant>/knowledge/<topic>.md, one topic a file.
---
---   # Pricing
---   Words: price, pricing, cost, how much, стоимость
---
---   Sales Co CRM costs 49 USD per user a month ...
---
--- The first `# ` line is the title; a `Words:` line lists, separated by
--- commas, what people write when they ask about it (matched in small
--- letters); the rest is the text. A flow reads them as `tenant.knowledge`
--- (a list sorted by file name), e.g. to put only the topics a question is
--- about into an LLM's prompt.
--
--   knowledge.load(dir) -> list of {id, title, words, text}, texts (for the version)
--       | nil, problem ("file:line: ...")
local source = require "flow.source"
local host = require "host"

local M = {}

-- the knowledge files of a flow folder: from the version's snapshot inside
-- a tenant state, else from the disk
local function files(dir)
  local prefix = dir .. "/knowledge/"
  local out = {}
  if source.files then
    for path in pairs(source.files) do
      if path:sub(1, #prefix) == prefix and path:sub(#prefix + 1):match("^[%w_%-]+%.md$") then out[#out + 1] = path end
    end
  else
    for _, name in ipairs(host.listdir(dir .. "/knowledge") or {}) do
      if name:match("^[%w_%-]+%.md$") then out[#out + 1] = prefix .. name end
    end
  end
  table.sort(out)
  return out
end

local function lower(s) return (s:lower():gsub("^%s+", ""):gsub("%s+$", "")) end

function M.load(dir)
  local list, texts = {}, {}
  for _, path in ipairs(files(dir)) do
    local text = source.read(path)
    if type(text) ~= "string" then return nil, path .. ":1: cannot read it" end
    texts[#texts + 1] = text
    local topic = { id = path:match("([%w_%-]+)%.md$"), words = {} }
    local body, n = {}, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      local title = not topic.title and line:match("^#%s+(.-)%s*$")
      local words = line:match("^[Ww]ords:%s*(.*)$")
      if title then topic.title = title
      elseif words then
        for w in words:gmatch("[^,]+") do
          local lw = lower(w)
          if lw ~= "" then topic.words[#topic.words + 1] = lw end
        end
      else body[#body + 1] = line end
    end
    topic.text = (table.concat(body, "\n"):gsub("^%s+", ""):gsub("%s+$", ""))
    if not topic.title then return nil, path .. ":1: start the topic with its title, like # Pricing" end
    if #topic.words == 0 then
      return nil, path .. ":2: add a line like Words: price, pricing, how much (what people write when they ask about it)"
    end
    if topic.text == "" then return nil, path .. ":3: the topic has no text" end
    list[#list + 1] = topic
  end
  return list, texts
end

return M
