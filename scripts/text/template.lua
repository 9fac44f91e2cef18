--- text.template: {name} and {booking.id} in a text, filled from a table.
--
--   template.fill(text, vars, missing) -> text
--       {{ and }} are literal braces; a variable with no value calls
--       missing(name), which raises (or returns the text to put there)
local gsub = string.gsub

local M = {}

local function lookup(vars, path)
  local v = vars
  for part in path:gmatch("[^%.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

function M.fill(text, vars, missing)
  local out = gsub(gsub(text, "{{", "\1"), "}}", "\2")
  out = gsub(out, "{([%w_%.]+)}", function(name)
    local v = lookup(vars, name)
    if v == nil then return missing(name) end
    return tostring(v)
  end)
  return (gsub(gsub(out, "\1", "{"), "\2", "}"))
end

return M
