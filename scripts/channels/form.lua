--- channels.form: application/x-www-form-urlencoded bodies.
--
--   form.decode(body) -> params (name -> list of values, in order), names (in order)
--   form.encode(list) -> body   list = {{name, value}, ...}
--   form.escape(s) -> s percent-encoded (all but A-Za-z0-9-._~)
local M = {}

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function escape(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

M.escape = escape

function M.decode(body)
  local params, names = {}, {}
  for pair in (body or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = unescape(k), unescape(v)
    if not params[k] then params[k] = {}; names[#names + 1] = k end
    table.insert(params[k], v)
  end
  return params, names
end

function M.encode(list)
  local out = {}
  for i, kv in ipairs(list) do out[i] = escape(kv[1]) .. "=" .. escape(kv[2]) end
  return table.concat(out, "&")
end

return M
