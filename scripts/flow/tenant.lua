--- flow.tenant: loads a tenant (its config and its flow folder), checks it
--- and builds what its turns use: the flow, messages, tone, booking engine
--- and LLM client.
--
--   tenant.load(id, {files?, version?}) -> t | nil, problems
--                                           from disk, or from a snapshot of
--                                           the files (path -> text); problems is a
--                                           list of "file:line: what is wrong"
--   tenant.get(id)  -> t | nil, err         cached in this worker;
--                                           err = "unknown tenant" | "tenant broken"
--   tenant.list()   -> ids of the tenants in the config folder
--   tenant.folders(tenants_dir, flows_dir)   read from elsewhere (specs)
--
-- Files: $FLOWHOST_TENANTS_DIR/<id>.lua (default config/tenants) and
-- $FLOWHOST_FLOWS_DIR/<id>/ (default flows) with flow.lua, messages.lua and
-- optionally tone.lua; flow.lua may load its own helpers with use("name").
-- t = {id, name, timezone, languages, settings, flow, catalog, tone,
--      version, booking, llm, ttl, warnings}
-- A tenant is always loaded from a snapshot of its files (flow.version), so
-- t.version is the id the server serves for the same files. Besides the
-- flow's shape (flow.check), M.check_more refuses a version whose messages
-- use a variable no call site gives, whose catalogue and booking services
-- or prices disagree, or (translations = "required", the default) that
-- lacks a text in a language it declares; a translation older than its
-- source text is one of t.warnings.
--
-- A tenant config runs with env(name, default) that reads only the
-- variables flow.config_env allows the tenant (its own prefix, the vendor
-- endpoints, and what _platform.lua's env_allow grants it); `*_env` fields
-- may name only those too. What a config returns is copied into plain
-- data (no metatables) before it is checked. Flow files see their
-- tenant's settings as `tenant`, a copy of their own: changing it changes
-- nothing the runtime reads.
--
--   tenant.only = id    (host.tenant_boot) this Lua state serves tenant id
--                       only, for good (flow.identity.route); reading it
--                       gives that id or nil
local source = require "flow.source"
local identity = require "flow.identity"
local readonly = require "flow.readonly"
local config_env = require "flow.config_env"
local messages = require "flow.messages"
local business = require "flow.business"
local schedules = require "flow.schedules"
local staff = require "flow.staff"
local check = require "flow.check"
local crypto = require "crypto"
local host = require "host"
local tz = require "tz"

local M = {}

local dirs = {}
local function tenants_dir() return dirs.tenants or os.getenv("FLOWHOST_TENANTS_DIR") or "config/tenants" end
local function flows_dir() return dirs.flows or os.getenv("FLOWHOST_FLOWS_DIR") or "flows" end

--- Where tenants are read from in this worker (specs point it at fixtures);
--- nil restores the environment's (or the default) folders.
function M.folders(tenants, flows)
  dirs = { tenants = tenants, flows = flows }
  M.cache = {}
end

local DEFAULT_TTL = 24 * 3600

-- settings with over's fields on top: maps merge, lists and values replace
local function merge(base, over)
  if type(base) ~= "table" or type(over) ~= "table" or over[1] ~= nil or base[1] ~= nil then return over end
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(over) do out[k] = merge(base[k], v) end
  return out
end
M.merge = merge


function M.dirs() return tenants_dir(), flows_dir() end

--- Platform defaults every tenant starts from: <tenants dir>/_platform.lua
function M.platform_file() return tenants_dir() .. "/_platform.lua" end

-- a field that holds a secret itself instead of naming where it is
local SECRET = { api_key = true, token = true, secret = true, password = true, auth_token = true }
local function literal_key(t, depth)
  if type(t) ~= "table" or (depth or 0) > 6 then return nil end
  for k, v in pairs(t) do
    if SECRET[k] and type(v) == "string" and v ~= "" then return k end
    local inner = literal_key(v, (depth or 0) + 1)
    if inner then return inner end
  end
end

--- What a tenant id is (the one rule; the router and flow.tenants use it):
--- a file name (config/tenants/<id>.lua, flows/<id>/) and part of Redis
--- keys: lowercase letters, digits, '_' and '-', those two never first (so
--- no '.', '..', '_platform' or '-x').
M.ID = "^[a-z0-9][a-z0-9_%-]*$"

function M.list()
  local names = host.listdir(tenants_dir()) or {}
  local out = {}
  for _, n in ipairs(names) do
    local id = n:match("^(.+)%.lua$")
    if id and not id:match(M.ID) then id = nil end     -- _platform.lua is not a tenant
    if id then out[#out + 1] = id end
  end
  return out
end

-- _platform.lua (operator-written) reads any variable
local function platform_env()
  return source.env{ env = function(name, default)
    if type(name) ~= "string" then error("env(name, default?): name must be a string", 2) end
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    return v
  end }
end

-- the platform's defaults (env_allow taken out) and what it lets tenant id
-- read; nil, problem when _platform.lua is broken
local function platform(id)
  local pfile = M.platform_file()
  if not source.read(pfile) then return {}, {}, nil end
  local defaults, ptext = source.load(pfile, platform_env())
  if type(defaults) ~= "table" then return nil, ptext or (pfile .. ": must return a table of defaults") end
  defaults = readonly.plain(defaults, { functions = true })
  local ok, extra = pcall(config_env.platform, defaults.env_allow, id)
  if not ok then return nil, ("%s:%d: %s"):format(pfile, source.line_of(ptext, "env_allow") or 1, tostring(extra)) end
  defaults.env_allow = nil
  return defaults, extra, ptext
end

--- What _platform.lua's env_allow grants tenant id ({} when it grants
--- nothing or is broken): the main state checks a connector's `*_env`
--- names with it before reading them.
function M.env_extra(id)
  local defaults, extra = platform(id)
  return defaults and extra or {}
end

local function settings_problems(s, file)
  local p = {}
  local function add(msg) p[#p + 1] = file .. ":1: " .. msg end
  if type(s) ~= "table" then add("must return a table (id, name, timezone, languages, ...)"); return p end
  if type(s.name) ~= "string" then add("name must be the business's name") end
  if type(s.timezone) ~= "string" or not tz.zone(s.timezone) then
    add(("timezone '%s' is not an IANA zone (e.g. \"Asia/Kolkata\")"):format(tostring(s.timezone)))
  end
  if s.languages ~= nil and (type(s.languages) ~= "table" or type(s.languages[1]) ~= "string") then
    add("languages must be a list like { \"en\", \"hi\" } (the first is the default)")
  end
  if s.translations ~= nil and s.translations ~= "required" and s.translations ~= "fallback" then
    add("translations must be \"required\" (every text in every language) or \"fallback\" (the first language's text is said)")
  end
  if s.specs_before_live ~= nil and type(s.specs_before_live) ~= "boolean" then
    add("specs_before_live must be true (a new version goes live only if flows/<tenant>/spec pass) or false")
  end
  if s.keep_version ~= nil and type(s.keep_version) ~= "boolean" then
    add("keep_version must be true (a conversation keeps the version it started on, on every host) or false")
  end
  if s.conversation_ttl ~= nil and (type(s.conversation_ttl) ~= "number" or s.conversation_ttl < 60) then
    add("conversation_ttl must be a number of seconds (at least 60)")
  end
  return p
end

local load_files

function M.load(id, opts)
  if type(id) ~= "string" or not id:match("^[%w_%-]+$") then
    return nil, { ("'%s' is not a tenant id (letters, digits, _ and -)"):format(tostring(id)) }
  end
  local only = identity.routed()
  if only and id ~= only then return nil, { ("unknown tenant '%s'"):format(id) } end
  -- always from a snapshot of the files (flow.version): the version id is
  -- the one the server serves for the same files
  local files, version = opts and opts.files, opts and opts.version
  if not files then
    files, version = require("flow.version").snapshot(id)
    if not files then
      return nil, { ("unknown tenant '%s' (no %s/%s.lua)"):format(id, tenants_dir(), id) }
    end
  end
  source.files = files
  local ok, t, problems = pcall(load_files, id)
  source.files = nil
  if not ok then error(t, 0) end
  if t and version then t.version = version end
  return t, problems
end

function load_files(id)
  local cfg_file = tenants_dir() .. "/" .. id .. ".lua"
  local dir = flows_dir() .. "/" .. id
  local texts = {}
  if not source.read(cfg_file) then return nil, { ("unknown tenant '%s' (no %s)"):format(id, cfg_file) } end
  local defaults, env_extra, ptext = platform(id)
  if not defaults then return nil, { env_extra } end
  local settings, text = source.load(cfg_file, source.env{ env = config_env.reader(id, env_extra) })
  if settings == nil then
    return nil, { text and tostring(text) or (cfg_file .. ": did not return a table") }
  end
  texts[#texts + 1] = text
  local sources = { [cfg_file] = text }         -- path -> text: where a check finds a line
  -- plain data from here on: no metatable can show the checks one thing
  -- and the runtime another
  settings = readonly.plain(settings, { functions = true })
  local key = literal_key(settings)
  if key then
    return nil, { ("%s:%d: %s holds a literal secret; name an environment variable instead (e.g. api_key_env = \"%sKEY\")")
      :format(cfg_file, source.line_of(text, key) or 1, key, config_env.prefix(id)) }
  end
  local ekey, ename = config_env.refs(settings, id, env_extra)
  if ekey then
    return nil, { ("%s:%d: %s = \"%s\": %s"):format(cfg_file, source.line_of(text, ename) or source.line_of(text, ekey) or 1,
      ekey, ename, config_env.hint(id)) }
  end
  -- platform defaults under the tenant's own settings (most specific wins)
  if ptext then
    texts[#texts + 1] = ptext
    settings = merge(defaults, settings)
  end
  local problems = settings_problems(settings, cfg_file)
  if #problems > 0 then return nil, problems end
  settings.id = id
  local languages = settings.languages or { "en" }

  -- business data (flows/<id>/business.lua), optional
  local bdata, btext, bfile = business.load(dir)
  if bdata == nil and btext then return nil, { btext } end
  if bdata then
    texts[#texts + 1] = btext
    local bproblems
    settings, bproblems = business.apply(settings, bdata, bfile, btext)
    if not settings then return nil, bproblems end
  end

  -- messages
  local mfile = dir .. "/messages.lua"
  local decl, mtext = source.load(mfile, source.env())
  if decl == nil then return nil, { mtext or (mfile .. ": did not return a table") } end
  texts[#texts + 1] = mtext
  local catalog, mproblems = messages.compile(decl, languages)
  if not catalog then
    local out = {}
    for _, p in ipairs(mproblems) do
      local line = p.key and (source.line_of(mtext, p.key .. " =") or source.line_of(mtext, p.key)) or 1
      out[#out + 1] = ("%s:%d: %s"):format(mfile, line, p.msg)
    end
    return nil, out
  end

  -- tone (optional)
  local tone_fn = function(s) return s end
  local tfile = dir .. "/tone.lua"
  if source.read(tfile) then
    local rules, ttext = source.load(tfile, source.env())
    if rules == nil then return nil, { ttext or (tfile .. ": did not return a list of rules") } end
    texts[#texts + 1] = ttext
    local tone = require "tone"
    local ok, err = pcall(tone.check, rules)
    if not ok then return nil, { ("%s:1: %s"):format(tfile, tostring(err):gsub("^[^:]*:%d+: ", "")) } end
    tone_fn = tone.pipeline(rules)
  end

  -- a knowledge base (flows/<id>/knowledge/*.md, flow.knowledge): tenant.knowledge
  local topics, ktexts = require("flow.knowledge").load(dir)
  if not topics then return nil, { ktexts } end
  if #topics > 0 then
    settings.knowledge = topics
    for _, kt in ipairs(ktexts) do texts[#texts + 1] = kt end
  end

  -- reps registered without code (<tenant>.reps.lua, flow.rep_registry),
  -- under the config's own
  local registered, rproblem = require("flow.rep_registry").read(id)
  if not registered then return nil, { rproblem } end
  if next(registered) then
    settings.reps = type(settings.reps) == "table" and settings.reps or {}
    for rep, r in pairs(registered) do
      if settings.reps[rep] == nil then settings.reps[rep] = readonly.plain(r) end
    end
    texts[#texts + 1] = source.read(require("flow.rep_registry").file(id))
  end

  -- a sales rep's voice (optional): flows/<tenant>/reps/<rep>.lua returns
  -- {tone = rules, messages = {en = {...}}}, under the config's reps.<rep>
  local rep_files = {}
  for rep in pairs(type(settings.reps) == "table" and settings.reps or {}) do
    local rfile = type(rep) == "string" and rep:match("^[%w_%-]+$") and (dir .. "/reps/" .. rep .. ".lua")
    if rfile and source.read(rfile) then
      local v, rtext = source.load(rfile, source.env())
      if type(v) ~= "table" then return nil, { rtext or (rfile .. ": must return {tone = ..., messages = ...}") } end
      for k in pairs(v) do
        if k ~= "tone" and k ~= "messages" then
          return nil, { ("%s:%d: a rep's file holds tone and messages only, not '%s' (the rest goes in %s)")
            :format(rfile, source.line_of(rtext, tostring(k)) or 1, tostring(k), cfg_file) }
        end
      end
      texts[#texts + 1] = rtext
      rep_files[rep] = v
    end
  end

  -- the flow, with the tenant's settings in reach and its own helpers
  local ffile = dir .. "/flow.lua"
  local env
  env = source.env({ tenant = readonly.plain(settings, { functions = true }) }, { log_fields = { tenant = id } })
  local used = {}
  env.use = function(name)
    if type(name) ~= "string" or not name:match("^[%w_]+$") then error("use(name): name of a file in the flow folder", 2) end
    if used[name] == nil then
      local v, t = source.load(dir .. "/" .. name .. ".lua", env)
      if v == nil then error({ flow_error = t }, 0) end
      texts[#texts + 1] = t
      sources[dir .. "/" .. name .. ".lua"] = t
      used[name] = v
    end
    return used[name]
  end
  local flow, ftext = source.load(ffile, env)
  if flow == nil then return nil, { ftext or (ffile .. ": did not return a table") } end
  texts[#texts + 1] = ftext
  local fproblems = check.flow(flow, catalog, ftext, ffile)
  if #fproblems > 0 then
    local out = {}
    for _, p in ipairs(fproblems) do out[#out + 1] = ("%s:%d: %s"):format(p.file, p.line, p.msg) end
    return nil, out
  end
  -- schedules = { ... } in the config: well formed, handlers in flow.timers
  local slist, sproblem = schedules.parse(settings.schedules)
  if not slist then
    return nil, { ("%s:%d: %s"):format(cfg_file, source.line_of(text, sproblem.name and (sproblem.name .. " =") or "schedules")
      or source.line_of(text, "schedules") or 1, sproblem.msg) }
  end
  for _, s in ipairs(slist) do
    if type(flow.timers) ~= "table" or type(flow.timers[s.handler]) ~= "function" then
      return nil, { ("%s:%d: schedule '%s': handler '%s' is not a function in timers = { ... } of %s")
        :format(cfg_file, source.line_of(text, s.name .. " =") or 1, s.name, s.handler, ffile) }
    end
  end

  -- staff = { ... }: every person reachable on a channel the tenant has
  local people, pproblem = staff.parse(settings.staff, settings.channels)
  if not people then
    return nil, { ("%s:%d: %s"):format(cfg_file, pproblem.id and source.line_of(text, pproblem.id .. " =")
      or source.line_of(text, "staff") or 1, pproblem.msg) }
  end

  sources[ffile] = ftext
  -- business.faq answers are messages: each must be in messages.lua
  local faq = settings.business and settings.business.faq
  for i, f in ipairs(type(faq) == "table" and faq or {}) do
    if type(f) == "table" and type(f.answer) == "string" and not catalog:has(f.answer) then
      return nil, { ("%s/business.lua:%d: faq %d answers with message '%s', which messages.lua does not have")
        :format(dir, source.line_of(btext or "", '"' .. f.answer .. '"') or 1, i, f.answer) }
    end
  end
  local errors, warnings = M.check_more(id, settings, flow, catalog, languages,
    { sources = sources, cfg_file = cfg_file, ctext = text, mfile = mfile, mtext = mtext, ffile = ffile, dir = dir })
  if #errors > 0 then return nil, errors end
  -- the tenant's own quick checks (flow.checks = function(render) ... end):
  -- assertions over its data and messages, run before the version may serve
  if flow.checks then
    local ok, err = pcall(flow.checks, function(key, vars, lang)
      local v = {}
      for k, x in pairs(business.variables(settings, lang or languages[1])) do v[k] = x end
      v.tenant = settings.name
      for k, x in pairs(vars or {}) do v[k] = x end
      return catalog:render(key, lang or languages[1], v)
    end)
    if not ok then
      local msg = tostring(err)
      if not msg:find("^[^:]+%.lua:%d+:") then msg = ffile .. ":" .. (source.line_of(ftext, "checks =") or 1) .. ": " .. msg end
      return nil, { (msg:gsub("^([^:]+%.lua:%d+): ", "%1: quick check failed: ")) }
    end
  end

  local t = {
    id = id, name = settings.name, timezone = settings.timezone, languages = languages,
    settings = settings, flow = flow, catalog = catalog, tone = tone_fn,
    ttl = settings.conversation_ttl or DEFAULT_TTL,
    version = crypto.hex(crypto.sha256(table.concat(texts, "\0"))):sub(1, 12),
    warnings = warnings,
  }
  local ok, problem = M.attach(t, settings, id, cfg_file, text)
  if not ok then return nil, { problem } end
  if settings.reps ~= nil then
    local reps, rproblems = M.reps(t, settings, decl, cfg_file, text, rep_files)
    if not reps then return nil, rproblems end
    t.reps = reps
  end
  return t
end

--- What check and a new version's install ask besides the flow's shape
--- (flow.check): messages render with the variables their call sites give,
--- business data agrees with itself, every text is in every language.
--- -> errors, warnings (lists of "file:line: ...")
function M.check_more(id, settings, flow, catalog, languages, w)
  local errors, warnings = {}, {}
  local function take(e, wn)
    for _, x in ipairs(e or {}) do errors[#errors + 1] = x end
    for _, x in ipairs(wn or {}) do warnings[#warnings + 1] = x end
  end
  local data_sources = { { file = w.cfg_file, text = w.ctext } }
  for path, text in pairs(w.sources) do
    if path ~= w.cfg_file then data_sources[#data_sources + 1] = { file = path, text = text } end
  end
  take(require("flow.check_data").run(settings, data_sources))
  take(require("flow.check_messages").run{ flow = flow, catalog = catalog, languages = languages,
    mfile = w.mfile, mtext = w.mtext, ffile = w.ffile, sources = w.sources,
    always = require("flow.check_vars").of(settings, flow) })
  local tr = require "flow.check_translations"
  take(tr.run{ id = id, catalog = catalog, languages = languages, mode = settings.translations or "required",
    mfile = w.mfile, mtext = w.mtext, lock = source.read(w.dir .. "/" .. tr.LOCK) })
  return errors, warnings
end

-- the booking engine (with its calendars) and LLM client a tenant (or a rep) uses
function M.attach(t, settings, id, cfg_file, text)
  identity.check_tenant(id, "tenant.attach")
  local cal, cproblem = require("booking.calendar_attach").build(settings, id)
  if cproblem then
    local from = cproblem.after and source.line_of(text, cproblem.after)
    return nil, ("%s:%d: %s"):format(cfg_file, source.line_of(text, cproblem.needle, from) or 1, cproblem.msg)
  end
  if settings.booking then
    local booking = require "booking"
    local model = {}
    for k, v in pairs(settings.booking) do model[k] = v end
    model.timezone = model.timezone or settings.timezone
    local engine, err = booking.new{ tenant = id, model = model, busy = cal and cal.busy,
                                     on_change = cal and cal.on_change }
    if not engine then return nil, ("%s:%d: %s"):format(cfg_file, source.line_of(text, "booking") or 1, err) end
    t.booking, t.calendar = engine, cal
    if cal then cal.engine = engine end
  end
  if settings.llm then
    local llm = require "llm"
    local ok, client = pcall(llm.client, settings.llm)
    if not ok then return nil, ("%s:%d: llm: %s"):format(cfg_file, source.line_of(text, "llm") or 1, tostring(client)) end
    t.llm = client
  end
  if settings.connectors then
    local decls, problem = require("connectors.view").declare(settings.connectors, id)
    if not decls then return nil, ("%s:%d: %s"):format(cfg_file, source.line_of(text, "connectors") or 1, problem) end
    t.connectors = decls
  end
  return true
end


local REP_FIELDS = { name = true, tone = true, messages = true, hours = true, booking = true, calendar = true, telegram = true,
                     channels = true, timezone = true, zoom_user = true,
                     llm = true, sentiment = true, support_phone = true }

--- A tenant's sales reps (settings.reps = {anna = {...}}): each inherits the
--- tenant's flow and overrides its messages (prompts), tone rules, booking
--- (working hours: `hours` applies to every resource), calendar and any
--- setting. Each rep is served as tenant "<tenant>.<rep>". files[rep]: the
--- rep's tone and messages from flows/<tenant>/reps/<rep>.lua.
function M.reps(t, settings, mdecl, cfg_file, text, files)
  local out, problems = {}, {}
  if type(settings.reps) ~= "table" then
    return nil, { ("%s:%d: reps must map rep ids to their overrides"):format(cfg_file, source.line_of(text, "reps") or 1) }
  end
  for rep, o in pairs(settings.reps) do
    local where = ("%s:%d: rep '%s'"):format(cfg_file, source.line_of(text, tostring(rep) .. " =") or 1, tostring(rep))
    if type(rep) ~= "string" or not rep:match("^[%w_%-]+$") or type(o) ~= "table" then
      problems[#problems + 1] = where .. ": must be name = { overrides }"
    else
      if files and files[rep] then o = merge(files[rep], o) end   -- flows/<t>/reps/<rep>.lua, the config on top
      for k in pairs(o) do
        if not REP_FIELDS[k] then problems[#problems + 1] = where .. ": unknown override '" .. tostring(k) .. "'" end
      end
      if type(o.channels) == "table" and o.channels.telegram and type(o.telegram) == "table" and o.telegram.user_id then
        problems[#problems + 1] = where .. ": connects through Telegram Business (telegram.user_id) or with a bot "
          .. "of their own (channels.telegram), not both"
      end
      local s = merge(settings, o)
      s.reps, s.rep, s.tone, s.messages, s.hours = nil, rep, nil, nil, nil
      if o.calendar ~= nil then s.calendar = o.calendar end   -- the rep's calendar replaces the tenant's
      -- the rep's Zoom user makes the rep's meetings (the tenant's Zoom app)
      if o.zoom_user and type(s.connectors) == "table" and type(s.connectors.zoom) == "table" then
        s.connectors = merge(s.connectors, { zoom = merge(s.connectors.zoom, { user = o.zoom_user }) })
      end
      if o.hours and s.booking and s.booking.resources then
        local res = {}
        for rid, r in pairs(s.booking.resources) do
          res[rid] = merge(r, {})
          res[rid].hours = o.hours                  -- the rep's week replaces the tenant's
        end
        s.booking = merge(s.booking, { resources = res })
      end
      local v = {}
      for k, x in pairs(t) do v[k] = x end
      v.id, v.settings, v.name, v.rep = t.id .. "." .. rep, s, s.name or t.name, rep
      if o.messages then
        local catalog, mp = messages.compile(merge(mdecl, o.messages), t.languages)
        if not catalog then
          for _, p in ipairs(mp) do problems[#problems + 1] = where .. ": messages: " .. p.msg end
        else v.catalog = catalog end
      end
      if o.tone then
        local tone = require "tone"
        local ok, err = pcall(tone.check, o.tone)
        if not ok then problems[#problems + 1] = where .. ": tone: " .. tostring(err)
        else v.tone = tone.pipeline(o.tone) end
      end
      if o.booking or o.hours or o.calendar ~= nil or o.timezone or o.zoom_user then
        local ok, err = M.attach(v, s, v.id, cfg_file, text)
        if not ok then problems[#problems + 1] = where .. ": " .. err end
      end
      out[rep] = v
    end
  end
  if #problems > 0 then return nil, problems end
  return out
end

M.cache = {}

function M.get(id)
  local t = M.cache[id]
  if t then return t end
  local base, rep = tostring(id):match("^([%w_%-]+)%.([%w_%-]+)$")
  if base then
    local bt, err, problems = M.get(base)
    if not bt then return nil, err, problems end
    local v = bt.reps and bt.reps[rep]
    if not v then return nil, "unknown tenant" end
    M.cache[id] = v
    return v
  end
  local problems
  t, problems = M.load(id)
  if not t then
    if problems[1] and problems[1]:find("^unknown tenant") then return nil, "unknown tenant" end
    require("log").error("tenant failed to load", { tenant = id, problems = table.concat(problems, "\n") })
    return nil, "tenant broken", problems
  end
  M.cache[id] = t
  return t
end

--- Drops the cached tenant (the next turn loads it again).
function M.forget(id) M.cache[id] = nil end

-- tenant.only: the routed tenant, kept by flow.identity (set once)
return setmetatable(M, {
  __index = function(_, k) if k == "only" then return identity.routed() end end,
  __newindex = function(t, k, v)
    if k == "only" then identity.route(v) else rawset(t, k, v) end
  end,
})
