--- flow.business: a tenant's business data, apart from its plumbing.
---
--- flows/<tenant>/business.lua is what the business team edits: services,
--- prices, add-ons, opening hours, FAQ answers, words customers use. It is
--- data only (no env(), no require): the plumbing (channel credentials,
--- URLs, rates, LLM endpoint, benchmark knobs) stays in
--- config/tenants/<tenant>.lua.
--
--   business.load(dir) -> data | nil, nil (no file) | nil, problem
--       data is plain tables; text is the file's source (for line numbers)
--   business.apply(settings, data, file, text) -> settings | nil, problems
--       puts the data where the runtime reads it (settings.business)
local source = require "flow.source"
local readonly = require "flow.readonly"

local M = {}

M.FILE = "business.lua"

function M.load(dir)
  local file = dir .. "/" .. M.FILE
  if not source.read(file) then return nil, nil end
  local data, text = source.load(file, source.env())
  if type(data) ~= "table" then
    return nil, text and data == nil and tostring(text) or (file .. ":1: must return a table of business data")
  end
  return readonly.plain(data), text, file
end

function M.apply(settings, data, file, text)
  settings.business = data
  return settings
end

return M
