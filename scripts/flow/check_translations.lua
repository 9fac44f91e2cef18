--- flow.check_translations: every text in every language the tenant
--- declares, and no translation older than the text it was made from.
--
--   check_translations.run(t) -> errors, warnings   ("file:line: ..." lists)
--       t = {id, catalog, languages, mode, mfile, mtext, lock}
--       mode: the tenant's setting `translations`: "required" (the
--             default: a text missing in a language is an error) or
--             "fallback" (the default language's text is said instead;
--             one warning per language says how many are missing)
--       lock: the text of flows/<tenant>/translations.lock, or nil
--   check_translations.stamp(catalog, languages) -> the lock file's text:
--       every translation as made from the default text of today
--   check_translations.LOCK = "translations.lock"   (in the flow folder)
--
-- The lock records, per language and key, a hash of the default-language
-- text the translation was made from. A translation whose record differs
-- from today's default text is a warning ("translated from an older
-- English text"). No lock, or no record for a key, counts as current:
-- `flowhost check --translated <tenant>` writes the records, after the
-- translations were brought up to date.
local crypto = require "crypto"
local source = require "flow.source"

local M = {}

M.LOCK = "translations.lock"

local NAMES = { en = "English", hi = "Hindi", ta = "Tamil", te = "Telugu", mr = "Marathi", bn = "Bengali",
                kn = "Kannada", gu = "Gujarati", ml = "Malayalam", pa = "Punjabi", es = "Spanish",
                fr = "French", de = "German", ar = "Arabic", pt = "Portuguese" }

local function hash(text) return crypto.hex(crypto.sha256(text)):sub(1, 12) end

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function block_line(mtext, lang)
  return source.line_match(mtext, "^%s*%[?[\"']?" .. lang .. "[\"']?%]?%s*=%s*{") or 1
end

local function key_line(mtext, lang, key)
  local from = block_line(mtext, lang)
  return source.line_match(mtext, "%f[%w_]" .. key:gsub("%p", "%%%0") .. "%s*=", from) or from
end

-- "hi.greeting 3fa9c1d2e4b5" lines -> {["hi.greeting"] = hash}
local function parse(lock)
  local out = {}
  for lang_key, h in (lock or ""):gmatch("([%w_%-]+%.[%w_]+)%s+(%x+)") do out[lang_key] = h end
  return out
end

function M.stamp(catalog, languages)
  local default = catalog.decl[languages[1]]
  local lines = { "# The " .. (NAMES[languages[1]] or languages[1]) .. " text each translation was made from"
    .. " (a hash per language.key).", "# Written by `flowhost check --translated <tenant>`; do not edit by hand." }
  for i = 2, #languages do
    local set = catalog.decl[languages[i]]
    for _, key in ipairs(sorted(type(set) == "table" and set or {})) do
      if type(default[key]) == "string" then lines[#lines + 1] = languages[i] .. "." .. key .. " " .. hash(default[key]) end
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

function M.run(t)
  local errors, warnings = {}, {}
  local default_lang = t.languages[1]
  local default = t.catalog.decl[default_lang]
  local stamps = parse(t.lock)
  local dname = NAMES[default_lang] or default_lang
  for i = 2, #t.languages do
    local lang = t.languages[i]
    local set = type(t.catalog.decl[lang]) == "table" and t.catalog.decl[lang] or {}
    local missing = {}
    for _, key in ipairs(sorted(default)) do
      if set[key] == nil then missing[#missing + 1] = key
      else
        local h = stamps[lang .. "." .. key]
        if h and h ~= hash(default[key]) then
          warnings[#warnings + 1] = ("%s:%d: %s.%s was translated from an older %s text; update it, then run `flowhost check --translated %s`")
            :format(t.mfile, key_line(t.mtext, lang, key), lang, key, dname, t.id)
        end
      end
    end
    if #missing > 0 then
      local line = t.catalog.decl[lang] and block_line(t.mtext, lang) or 1
      local list = table.concat(missing, ", ", 1, math.min(#missing, 8)) .. (#missing > 8 and ", ..." or "")
      if t.mode == "fallback" then
        warnings[#warnings + 1] = ("%s:%d: %s has no text for %d message%s (%s); the %s text is said instead (translations = \"fallback\")")
          :format(t.mfile, line, NAMES[lang] or lang, #missing, #missing == 1 and "" or "s", list, dname)
      else
        errors[#errors + 1] = ("%s:%d: %s has no text for %d message%s: %s. Every text must exist in every language the tenant declares (languages = ...), or set translations = \"fallback\" in its config to say the %s text instead")
          :format(t.mfile, line, NAMES[lang] or lang, #missing, #missing == 1 and "" or "s", list, dname)
      end
    end
  end
  return errors, warnings
end

return M
