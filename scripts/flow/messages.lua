--- flow.messages: a tenant's message templates in several languages.
--
--   messages.compile(decl, languages) -> catalog | nil, problems
--       decl = { en = { greeting = "Hi {name}!", ... }, hi = { ... } }
--       languages[1] is the default: every key must have its text there;
--       another language may leave a key out (the default text is used).
--   catalog:has(key) -> bool
--   catalog:render(key, lang, vars) -> text      raises on an unknown key or a
--                                                missing variable (a flow bug)
--   catalog:vars(key) -> set of variable names the default text uses
--
-- Variables are written {name} or {booking.id}; {{ and }} are literal braces.
local template = require "text.template"

local M = {}
local Catalog = {}
Catalog.__index = Catalog

function M.compile(decl, languages)
  local problems = {}
  if type(decl) ~= "table" then
    return nil, { { key = nil, msg = "messages.lua must return a table of languages, e.g. { en = { greeting = \"Hi!\" } }" } }
  end
  local default = languages[1]
  if type(decl[default]) ~= "table" then
    return nil, { { key = default, msg = ("has no messages for the default language '%s'"):format(default) } }
  end
  for lang, set in pairs(decl) do
    local known = false
    for _, l in ipairs(languages) do known = known or l == lang end
    if not known then
      problems[#problems + 1] = { key = lang, msg = ("language '%s' is not one of the tenant's languages (%s)")
        :format(tostring(lang), table.concat(languages, ", ")) }
    elseif type(set) ~= "table" then
      problems[#problems + 1] = { key = lang, msg = "must be a table of message texts" }
    else
      for key, text in pairs(set) do
        if type(text) ~= "string" or not text:find("%S") then
          problems[#problems + 1] = { key = key, msg = ("message '%s' (%s) has no text"):format(key, lang) }
        elseif lang ~= default and decl[default][key] == nil then
          problems[#problems + 1] = { key = key,
            msg = ("message '%s' exists in '%s' but not in the default language '%s'"):format(key, lang, default) }
        end
      end
    end
  end
  if #problems > 0 then return nil, problems end
  return setmetatable({ decl = decl, default = default }, Catalog)
end

function Catalog:has(key)
  return type(self.decl[self.default][key]) == "string"
end

function Catalog:vars(key)
  local out = {}
  local text = self.decl[self.default][key] or ""
  for name in text:gsub("{{", ""):gmatch("{([%w_%.]+)}") do out[name] = true end
  return out
end

function Catalog:render(key, lang, vars)
  local set = self.decl[lang] or self.decl[self.default]
  local text = set[key] or self.decl[self.default][key]
  if type(text) ~= "string" then
    error(("there is no message '%s' (add it to messages.lua)"):format(tostring(key)), 2)
  end
  return template.fill(text, vars or {}, function(name)
    error(("message '%s' uses {%s} but the flow gave no value for it"):format(key, name), 0)
  end)
end

return M
