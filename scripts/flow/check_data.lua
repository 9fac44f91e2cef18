--- flow.check_data: the business data a flow sells from, cross-checked
--- before a version may serve: every service of the catalogue can be booked
--- and every bookable service is in the catalogue, add-ons likewise, and
--- every price is a positive number that is the same in both places.
--
--   check_data.run(settings, sources) -> errors, warnings
--       settings: the tenant's loaded settings (catalogue, booking);
--       sources: list of {file, text} to find the line of a mistake in
--       (the config, and whichever data files the settings came from).
--       errors and warnings: lists of "file:line: what is wrong".
--
-- Works over the loaded values, not the files, so it keeps working when the
-- data moves (e.g. into flows/<tenant>/business.lua): pass that file among
-- the sources. A catalogue without services, or no booking engine, is not
-- checked. `price = 4,999` in a Lua table is price 4 plus a stray list item
-- 999: any number in the list part of a service or add-on is reported as a
-- comma inside a number.
local source = require "flow.source"

local M = {}

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out, function(a, b) return tostring(a) < tostring(b) end)
  return out
end

-- "file:line" of the first source with a line matching pattern (at or
-- after the line matching after, when given)
local function where(sources, pattern, after)
  for _, s in ipairs(sources) do
    local from = after and source.line_match(s.text, after)
    local line = source.line_match(s.text, pattern, from)
    if line and (not from or line >= from) then return s.file, line end
  end
  for _, s in ipairs(sources) do
    local line = after and source.line_match(s.text, after)
    if line then return s.file, line end
  end
  return sources[1] and sources[1].file or "?", 1
end

-- the line where `name = 4,999` left the stray number v: file, line, name, 4
local function comma_in_number(sources, v)
  local pattern = "([%a_][%w_]*)%s*=%s*(%d+)%s*,%s*" .. tostring(v):gsub("%p", "%%%0") .. "%f[%D]"
  for _, s in ipairs(sources) do
    local line = source.line_match(s.text, pattern)
    if line then
      local n = 0
      for l in (s.text .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if n == line then return s.file, line, l:match(pattern) end
      end
    end
  end
end

local function esc(s) return (tostring(s):gsub("%p", "%%%0")) end

function M.run(settings, sources)
  local errors, warnings = {}, {}
  local function add(list, file, line, msg) list[#list + 1] = ("%s:%d: %s"):format(file, line, msg) end

  local cat = type(settings.catalogue) == "table" and settings.catalogue or {}
  local book = type(settings.booking) == "table" and settings.booking or {}
  local cservices = type(cat.services) == "table" and cat.services or nil
  local bservices = type(book.services) == "table" and book.services or nil

  -- where a catalogue service / add-on or a booking service / add-on is written
  local function at_cat(id) return where(sources, 'id%s*=%s*"' .. esc(id) .. '"') end
  local function at_addon(id) return where(sources, "%f[%w_]" .. esc(id) .. "%s*=", "addons%s*=") end
  local function at_book(id) return where(sources, "%f[%w_]" .. esc(id) .. "%s*=", "booking%s*=") end

  -- a price, and the stray list items `price = 4,999` leaves behind
  local function price_ok(item, what, file, line)
    local stray = false
    for i, v in ipairs(item) do
      if type(v) == "number" then
        stray = true
        local f, l, field, before = comma_in_number(sources, v)
        if field then
          add(errors, f, l, ("%s: %s = %s,%s has a comma inside a number: write %s%s")
            :format(what, field, before, v, before, v))
        else
          add(errors, file, line, ("%s: the number %s stands on its own in the list (item %d): a comma inside a number? write 4999, not 4,999")
            :format(what, v, i))
        end
      end
    end
    local p = item.price
    if p ~= nil and (type(p) ~= "number" or p ~= p or p <= 0) then
      add(errors, file, line, ("%s: price must be a positive number (it is %s)"):format(what, tostring(p)))
      return nil
    end
    return not stray and p or nil
  end

  local cprice, caddon = {}, {}
  for i, s in ipairs(cservices or {}) do
    if type(s) ~= "table" or type(s.id) ~= "string" then
      local f, l = where(sources, "services%s*=", "catalogue%s*=")
      add(errors, f, l, ("catalogue.services item %d needs an id (a word like \"foam_wash\")"):format(i))
    else
      cprice[s.id] = price_ok(s, "catalogue service '" .. s.id .. "'", at_cat(s.id)) or false
    end
  end
  for _, id in ipairs(sorted(type(cat.addons) == "table" and cat.addons or {})) do
    local a = cat.addons[id]
    if type(a) == "table" then caddon[id] = price_ok(a, "catalogue add-on '" .. id .. "'", at_addon(id)) or false end
  end

  if cservices and bservices then
    for _, s in ipairs(cservices) do
      if type(s) == "table" and type(s.id) == "string" and bservices[s.id] == nil then
        local f, l = at_cat(s.id)
        local bf, bl = where(sources, "services%s*=", "booking%s*=")
        add(errors, f, l, ("service '%s' is in the catalogue but not in the booking services (%s:%d): customers could pick it and not book it")
          :format(s.id, bf, bl))
      end
    end
  end
  for _, id in ipairs(sorted(bservices or {})) do
    local b = bservices[id]
    local f, l = at_book(id)
    if cservices and cprice[id] == nil then
      local cf, cl = where(sources, "services%s*=", "catalogue%s*=")
      add(errors, f, l, ("booking service '%s' is not in catalogue.services (%s:%d): customers cannot choose it")
        :format(tostring(id), cf, cl))
    end
    if type(b) == "table" then
      local p = price_ok(b, "booking service '" .. tostring(id) .. "'", f, l)
      if p and cprice[id] and p ~= cprice[id] then
        add(errors, f, l, ("service '%s' costs %s in the booking services but %s in the catalogue; make them one price")
          :format(tostring(id), p, cprice[id]))
      end
      local addons = type(b.addons) == "table" and b.addons or nil
      for _, an in ipairs(sorted(addons or {})) do
        local a = addons[an]
        if type(cat.addons) == "table" and caddon[an] == nil then
          add(errors, f, l, ("booking service '%s' offers add-on '%s', which catalogue.addons does not have")
            :format(tostring(id), tostring(an)))
        elseif type(a) == "table" then
          local ap = price_ok(a, ("booking service '%s' add-on '%s'"):format(tostring(id), tostring(an)), f, l)
          if ap and caddon[an] and ap ~= caddon[an] then
            add(errors, f, l, ("add-on '%s' costs %s with '%s' but %s in the catalogue; make them one price")
              :format(tostring(an), ap, tostring(id), caddon[an]))
          end
        end
      end
      if addons then
        for _, an in ipairs(sorted(caddon)) do
          if addons[an] == nil then
            add(warnings, f, l, ("booking service '%s' does not offer add-on '%s' from the catalogue"):format(tostring(id), an))
          end
        end
      end
    end
  end
  return errors, warnings
end

return M
