-- `flowhost check` and hot reload refuse the edits that used to go live
-- broken (issue 14, section 3). Each case copies the real carwash files into
-- a folder of its own, makes one edit, and runs the real binary on it.
local proc = require "proc"
local crypto = require "crypto"

local BIN = proc.BIN


-- the carwash tenant in a fresh folder: {dir, cfg, msgs, biz, env}
local function copy()
  local dir = proc.copy_tenant("carwash", "check")
  return { dir = dir, cfg = dir .. "/tenants/carwash.lua", msgs = dir .. "/flows/carwash/messages.lua",
           biz = dir .. "/flows/carwash/business.lua",
           env = ("FLOWHOST_TENANTS_DIR=%s/tenants FLOWHOST_FLOWS_DIR=%s/flows "):format(dir, dir) }
end

local function check(t, args)
  local out = proc.sh(t.env .. BIN .. " check " .. (args or "carwash") .. " 2>&1; echo \"exit=$?\"")
  return out, tonumber(out:match("exit=(%d+)"))
end

local function line_of(path, needle, from)
  local n = 0
  for l in (proc.read_file(path) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n >= (from or 1) and l:find(needle, 1, true) then return n end
  end
end

describe("flowhost check refuses", function()
  local made = {}
  local function case() local t = copy(); made[#made + 1] = t.dir; return t end
  teardown(function() for _, d in ipairs(made) do proc.sh("rm -rf " .. d) end end)

  it("passes the carwash files as they are, with no Redis line", function()
    local t = case()
    local out, code = check(t)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("carwash: ok (version ", 1, true), out)
    assert.falsy(out:find("redis", 1, true), out)
  end)

  -- a service is written once (business.lua): catalogue, booking services
  -- and prices are made from it, so a service cannot be in one and not the
  -- other; what is left to get wrong is the entry itself
  it("a service without the minutes it takes (it could not be booked)", function()
    local t = case()
    proc.edit_file(t.biz, '    { id = "interior",', '    { id = "ceramic", title = "Ceramic Coating", price = 5999, names = { "ceramic" } },\n    { id = "interior",')
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: service 'ceramic' needs minutes"):format(t.biz, line_of(t.biz, '"ceramic"')), 1, true), out)
  end)

  it("a catalogue and booking services written apart (a tenant without business.lua) that disagree", function()
    local t = case()
    -- the older layout, in a small tenant: catalogue and booking services in its config
    proc.sh(("mkdir -p %s/flows/apart && cp tests/fixtures/flows/mini/* %s/flows/apart/"):format(t.dir, t.dir))
    local cfg = t.dir .. "/tenants/apart.lua"
    proc.write_file(cfg, [[return {
  name = "Apart", timezone = "UTC", languages = { "en", "hi" }, translations = "fallback",
  catalogue = { services = { { id = "basic_wash", title = "Basic Wash", price = 499 },
                             { id = "ceramic", title = "Ceramic", price = 5999 } } },
  booking = { rules = { granularity = 30, horizon_days = 14, hold_minutes = 10 },
              services = { basic_wash = { duration = 30, skill = "wash", price = 499 } },
              resources = { bay1 = { name = "Bay 1", skills = { "wash" }, hours = { mon = { "08:00-20:00" } } } } },
}
]])
    local out, code = check(t, "apart")
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: service 'ceramic' is in the catalogue but not in the booking services")
      :format(cfg, line_of(cfg, '"ceramic"')), 1, true), out)
  end)

  it("a {placeholder} typo, at the message's line", function()
    local t = case()
    proc.edit_file(t.msgs, "- Name: {name}", "- Name: {nme}")
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: en.summary uses {nme}, but the booking kit (booking.dialog) gives no nme")
      :format(t.msgs, line_of(t.msgs, "{nme}")), 1, true), out)
  end)

  it("a typo in a variable the kit gives", function()
    local t = case()
    proc.edit_file(t.msgs, "The earliest free time is {next}. Which day", "The earliest free time is {nxt}. Which day")
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("en.no_times_day uses {nxt}, but the booking kit", 1, true), out)
  end)

  it("price = 2,499: a comma inside a number", function()
    local t = case()
    proc.edit_file(t.biz, "price = 2499, minutes = 120", "price = 2,499, minutes = 120")
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: service 'full_detailing' has a value without a name (499): is there a comma inside a number?")
      :format(t.biz, line_of(t.biz, "price = 2,499")), 1, true), out)
  end)

  it("a price that is not a positive number", function()
    local t = case()
    proc.edit_file(t.biz, "price = 2499, minutes = 120", "price = 0, minutes = 120")
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("service 'full_detailing'.price must be a positive number", 1, true), out)
  end)

  it("a syntax error, in plain words with the file and line", function()
    local t = case()
    proc.edit_file(t.msgs, 'ask_name = "What\'s your name?",', 'ask_name = "What\'s your name?"')
    local out, code = check(t)
    assert.are.equal(1, code, out)
    local n = line_of(t.msgs, "ask_name =")
    assert.truthy(out:find(("%s:%d: a comma is missing after the text that ends on line %d"):format(t.msgs, n + 1, n),
      1, true), out)
  end)

  it("a text not closed, in plain words", function()
    local t = case()
    proc.edit_file(t.msgs, 'ask_name = "What\'s your name?",', 'ask_name = "What\'s your name?,')
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: the text that starts on line %d is not closed")
      :format(t.msgs, line_of(t.msgs, "ask_name ="), line_of(t.msgs, "ask_name =")), 1, true), out)
  end)

  it("a missing translation when the tenant requires every text in every language", function()
    local t = case()                                 -- carwash requires them (the default)
    proc.edit_file(t.msgs, [[    ask_addons = "क्या आप कोई ऐड-ऑन लेना चाहेंगे? हमारे पास {addon_list} हैं। नहीं चाहिए तो 'नहीं' लिखें।",
]], "")
    local out, code = check(t)
    assert.are.equal(1, code, out)
    assert.truthy(out:find(("%s:%d: Hindi has no text for %%d+ messages?: ask_addons"):format(t.msgs:gsub("%p", "%%%0"),
      line_of(t.msgs, "  hi = {"))), out)
  end)
end)

describe("flowhost check warns", function()
  local t
  setup(function() t = copy() end)
  teardown(function() proc.sh("rm -rf " .. t.dir) end)

  it("when an English text changed after its Hindi twin was recorded, until --translated records it again", function()
    local out, code = check(t, "--translated carwash")
    assert.are.equal(0, code, out)
    assert.truthy(proc.read_file(t.dir .. "/flows/carwash/translations.lock"):find("hi.greeting ", 1, true))
    out = check(t)
    assert.falsy(out:find("translated from an older", 1, true), out)
    proc.edit_file(t.msgs, "I can book a wash for your car in a minute.", "I can book a wash for your car in two minutes.")
    out, code = check(t)
    assert.are.equal(0, code, out)                  -- a warning, not an error
    assert.truthy(out:find(("warning: %s:%d: hi.greeting was translated from an older English text; update it, then run `flowhost check --translated carwash`")
      :format(t.msgs, line_of(t.msgs, "    greeting = \"नमस्ते")), 1, true), out)
    check(t, "--translated carwash")
    out = check(t)
    assert.falsy(out:find("translated from an older", 1, true), out)
  end)
end)

describe("version ids", function()
  local t
  setup(function() t = copy() end)
  teardown(function() proc.sh("rm -rf " .. t.dir) end)

  it("check prints the id the server serves for the same files, and another tenant with the same files has another", function()
    local out = check(t)
    local v = assert(out:match("version (%x+)"), out)
    local token = "check-spec-" .. crypto.random_hex(4)
    local s = proc.start{ config = "config/flowhost.lua", env = { FLOWHOST_WORKERS = 1, FLOWHOST_ADMIN_TOKEN = token,
      FLOWHOST_TENANTS_DIR = t.dir .. "/tenants", FLOWHOST_FLOWS_DIR = t.dir .. "/flows" } }
    local http, json = require "http", require "json"
    local r = http.request{ url = s.url .. "/admin/tenants/carwash", headers = { Authorization = "Bearer " .. token } }
    proc.stop(s)
    assert.are.equal(200, r.status, r.body)
    assert.are.equal(v, json.decode(r.body).version)
    -- two tenants of the same files (a config that reads no variables)
    for _, id in ipairs{ "twin1", "twin2" } do
      proc.sh(("cp tests/fixtures/tenants/mini.lua %s/tenants/%s.lua && cp -r tests/fixtures/flows/mini %s/flows/%s")
        :format(t.dir, id, t.dir, id))
    end
    local twins = check(t, "twin1 twin2")
    local v1, v2 = twins:match("twin1: ok %(version (%x+)"), twins:match("twin2: ok %(version (%x+)")
    assert.truthy(v1 and v2, twins)
    assert.are_not.equal(v1, v2)
  end)
end)
