-- The tenant boundary (issue 13, section 1): a tenant's flow, however
-- hostile, cannot reach another tenant. Two fixture tenants run in real
-- tenant Lua states (host.tenant_boot, as flow.tenants starts them): the
-- keeper (tests/fixtures/flows/keeper) has a booking and a conversation;
-- the raider (tests/fixtures/flows/raider) tries every way at them. Each
-- attempt must be refused or change nothing, and every Redis key of the
-- keeper must stay byte for byte as it was. Also: what a tenant config
-- may read with env(), and what nothing in a flow's reach may be.
local tstate = require "tstate"
local json = require "json"
local redis = require "redis"
local time = require "time"
local crypto = require "crypto"
local tenant = require "flow.tenant"
local tenants = require "flow.tenants"

local FIX_T, FIX_F = "tests/fixtures/tenants", "tests/fixtures/flows"
local BOOT = ('require("flow.tenant").folders(%q, %q); return require("host.tenant_boot").load(...)'):format(FIX_T, FIX_F)

-- the tenant in a fresh tenant state, loaded from a snapshot of its files
local function boot(id)
  tenant.folders(FIX_T, FIX_F)
  local files, version = tenants.snapshot(id)
  tenant.folders(nil, nil)
  local ts = tstate.new{ name = id, memory_mb = 64 }
  local ok, res = ts:eval(BOOT, json.encode{ id = id, files = files, version = version }, 5)
  assert(ok, res)
  local r = json.decode(res)
  assert(r.ok, json.encode(r.problems))
  return ts
end

-- one turn in a tenant state; the last reply's text
local function say(ts, conv, text)
  local ok, res = ts:call("turn", json.encode{ id = conv, msg = { text = text } }, 1)
  assert(ok, res)
  local r = json.decode(res)
  assert(r.res, res)
  return r.res.replies[#r.res.replies].text
end

-- every key of a tenant's conversations and bookings, with its value (DUMP)
local function keys_of(id)
  local out = {}
  for _, pattern in ipairs{ "bk:{" .. id .. "}:*", "fh:conv:{" .. id .. ":*" } do
    for _, k in ipairs(redis.call("KEYS", pattern)) do out[k] = redis.call("DUMP", k) end
  end
  return out
end

local function same_keys(before, after)
  for k, v in pairs(before) do
    if after[k] ~= v then return false, "changed or gone: " .. k end
  end
  for k in pairs(after) do
    if before[k] == nil then return false, "new: " .. k end
  end
  return true
end

describe("a hostile flow next to a good tenant, each in its own tenant state", function()
  local keeper, raider, conv, day, booking_id, before

  setup(function()
    keeper, raider = boot("keeper"), boot("raider")
    -- the keeper's booking (through its own engine) and conversation
    tenant.folders(FIX_T, FIX_F)
    local kt = assert(tenant.load("keeper"))
    tenant.folders(nil, nil)
    local midnight = math.floor(time.now() / 86400) * 86400 + 86400
    day = os.date("!%Y-%m-%d", midnight)
    for i = 0, 46 do                                  -- the first free half hour of tomorrow
      local b = kt.booking:reserve{ service = "visit", start = midnight + i * 1800,
        customer = { name = "Kim Keeper", phone = "9000000001" } }
      if b then booking_id = b.id; break end
    end
    assert(booking_id, "the keeper could not book")
    conv = "shared-" .. crypto.random_hex(4)        -- the raider uses the same conversation id
    say(keeper, conv, "hi")
    say(keeper, conv, "remember me")
    before = keys_of("keeper")
    assert.truthy(before["fh:conv:{keeper:" .. conv .. "}"])
    say(raider, conv, "hi")
  end)
  teardown(function()
    if keeper then keeper:close() end
    if raider then raider:close() end
  end)

  local function attempt(text)
    local reply = say(raider, conv, text)
    local name = text:match("^(%S+)")
    assert.are.equal(name .. ":", reply:sub(1, #name + 1), reply)
    return reply:sub(#name + 3)
  end

  local function refused(text, words)
    local r = attempt(text)
    assert.truthy(r:find("^refused "), text .. " was not refused: " .. r)
    if words then assert.truthy(r:find(words, 1, true), r) end
  end

  local function keeper_untouched()
    assert(same_keys(before, keys_of("keeper")))
  end

  it("cannot change the tenant id a conversation is saved under, by any assignment", function()
    assert.are.equal("ok raider,raider,raider", attempt("whoami"))
    refused("tid", "c.t is read-only: flows cannot change c.t.id")
    refused("tid_key", "c.t is read-only")
    refused("tid_rawset", "c.t is read-only")
    refused("tenant_id", "c.tenant is read-only: flows cannot change c.tenant.id")
    refused("tenant_rawset", "c.tenant is read-only")
    refused("t_replace", "c is read-only: flows cannot change c.t")
    refused("c_rawset", "c is read-only")
    for _, m in ipairs{ "meta_t", "meta_tenant", "meta_c", "meta_msg" } do refused(m, "protected metatable") end
    refused("msg_text", "c.msg is read-only")
    assert.are.equal("ok raider,raider,raider", attempt("whoami"))
    -- its turns went on in its own conversation, never the keeper's
    local mine = json.decode(redis.call("GET", "fh:conv:{raider:" .. conv .. "}"))
    assert.truthy(mine.turns >= 14, mine.turns)
    keeper_untouched()
  end)

  it("cannot point its booking engine at the keeper's keys, nor call its methods on a table of its own", function()
    refused("prefix " .. day .. " " .. booking_id, "c.booking is read-only: flows cannot change c.booking.prefix")
    refused("prefix_rawset", "c.booking is read-only")
    refused("booking_meta", "protected metatable")
    assert.are.equal("ok nil,nil,nil,nil,", attempt("booking_read"))     -- no data field shows
    assert.are.equal("ok []", attempt("pairs_booking"))
    assert.are.equal("ok found 0 ", attempt("booking_self " .. day .. " " .. booking_id))
    assert.are.equal("ok found 0", attempt("loot " .. day .. " " .. booking_id))
    keeper_untouched()
  end)

  it("cannot rename, re-home or rewrite its conversation", function()
    refused("conv_id", "c.conv is read-only: flows cannot change c.conv.id")
    refused("conv_tenant", "c.conv is read-only: flows cannot change c.conv.tenant")
    refused("conv_rawset", "c.conv is read-only")
    refused("conv_meta", "protected metatable")
    refused("conv_history", "c.conv.history is read-only")
    refused("state", "c.state cannot be 'nowhere'")
    refused("go", "there is no state 'nowhere'")
    refused("say_other", "must be called on the c a handler gets")
    local mine = json.decode(redis.call("GET", "fh:conv:{raider:" .. conv .. "}"))
    assert.are.equal(conv, mine.id)
    assert.are.equal("raider", mine.tenant)
    keeper_untouched()
  end)

  it("cannot replace what the runtime's shared modules do", function()
    for _, m in ipairs{ "json", "json_rawset", "log", "tz", "fuzzy" } do refused(m, "is read-only") end
    refused("json_meta", "protected metatable")
    -- the runtime still saves real JSON, and the flow's own copy of its settings is its own
    assert.are.equal('ok ["keeper",3]', attempt("json_works"))
    assert.are.equal("ok logged", attempt("log_spoof"))
    assert.are.equal("raider", json.decode(redis.call("GET", "fh:conv:{raider:" .. conv .. "}")).tenant)
    assert.are.equal("ok keeper,nil", attempt("tenant_global"))
    assert.are.equal("ok raider,raider,raider", attempt("whoami"))
    keeper_untouched()
  end)

  it("reaches no bytecode, metatable, environment or library it should not", function()
    refused("string_dump", "string.dump is not available to flows")
    refused("string_dump2", "string.dump is not available to flows")
    -- its copy of string is its own; ("x"):upper() is still the real one
    assert.are.equal("ok X,nil,true", attempt("string_poison"))
    assert.are.equal("ok " .. ("nil,"):rep(12) .. "nil", attempt("globals"))
    assert.are.equal("ok none", attempt("llm"))
  end)

  it("iterates its settings with pairs, ipairs, next and #, and cannot change them", function()
    assert.are.equal("ok #2 a,b shine=2,wax=1 en en", attempt("pairs_tenant"))
    assert.are.equal("ok catalog,flow,id,languages,name,settings,timezone,ttl,version", attempt("pairs_t"))
    refused("insert", "c.tenant.languages is read-only: flows cannot insert into it")
    refused("sort", "c.tenant.catalogue.services is read-only: flows cannot sort it")
    -- a list view's index is the flow's own, for this turn: the next turn sees the settings
    assert.are.equal("ok evil", attempt("mirror"))
    assert.are.equal("ok #2 a,b shine=2,wax=1 en en", attempt("pairs_tenant"))
  end)

  it("keeps in a conversation only what JSON can hold, and keeps saving it", function()
    assert.are.equal("ok set", attempt("data_bad"))
    assert.are.equal("ok nil,nil,kept,a", attempt("data_read"))
    local data = json.decode(redis.call("GET", "fh:conv:{raider:" .. conv .. "}")).data
    assert.are.equal("kept", data.ok)
    assert.is_nil(data.f); assert.is_nil(data.me); assert.is_nil(data.obj); assert.is_nil(data.ctx)
    assert.are.equal("A", data.settings.services[1].title)
    keeper_untouched()
  end)

  it("the keeper still serves its customer from its own conversation", function()
    assert.are.equal("noted", say(keeper, conv, "still here?"))
    local k = json.decode(redis.call("GET", "fh:conv:{keeper:" .. conv .. "}"))
    assert.are.equal("still here?", k.data.last)
    assert.are.equal("keeper", k.tenant)
  end)
end)

describe("a tenant state's routed tenant", function()
  local ts
  setup(function() ts = boot("raider") end)
  teardown(function() if ts then ts:close() end end)

  local function eval(code)
    local ok, res = ts:eval(code, "", 1)
    return ok, res
  end

  it("the store refuses any other tenant's conversations, even to the runtime", function()
    local ok, res = eval('return require("flow.store").key("keeper", "x")')
    assert.is_false(ok)
    assert.truthy(res:find("this state serves tenant 'raider', not 'keeper'", 1, true), res)
    for _, code in ipairs{ 'return require("flow.store").load("keeper", "x")', 'return require("flow.store").reset("keeper", "x")',
                           'return require("flow.store").save("keeper", "x", {}, 60)' } do
      assert.is_false((eval(code)), code)
    end
    ok, res = eval('return require("flow.store").key("raider.anna", "x")')
    assert.is_true(ok, res)
    assert.are.equal("fh:conv:{raider.anna:x}", res)
  end)

  it("is set once: neither tenant.only nor identity.route can move it", function()
    assert.is_false((eval('require("flow.tenant").only = "keeper"')))
    assert.is_false((eval('require("flow.identity").route("keeper")')))
    local ok, res = eval('return require("flow.tenant").only .. "," .. require("flow.identity").routed()')
    assert.is_true(ok, res)
    assert.are.equal("raider,raider", res)
  end)
end)

describe("env() in a tenant config", function()
  local dir
  local function write(name, text)
    local f = assert(io.open(dir .. "/tenants/" .. name .. ".lua", "w"))
    f:write(text)
    f:close()
  end
  local function load(id, body)
    write(id, body)
    local f = assert(io.open(dir .. "/flows/" .. id .. "/flow.lua", "w"))
    f:write('return { start = "a", states = { a = { say = "hello", final = true } } }')
    f:close()
    return tenant.load(id)
  end
  local function problem(id, body)
    local t, problems = load(id, body)
    assert.is_nil(t)
    return table.concat(problems, "\n")
  end

  before_each(function()
    dir = "/tmp/fh-boundary-" .. crypto.random_hex(6)
    local ids = { "nosy", "flowhost", "redis", "llm-fake", "allowed", "hidden", "wired" }
    local mk = { "mkdir -p " .. dir .. "/tenants" }
    for _, id in ipairs(ids) do mk[#mk + 1] = dir .. "/flows/" .. id end
    os.execute(table.concat(mk, " "))
    for _, id in ipairs(ids) do
      local f = assert(io.open(dir .. "/flows/" .. id .. "/messages.lua", "w"))
      f:write('return { en = { hello = "hi", not_understood = "?", handoff = "h", expired = "e", fallback = "f" } }')
      f:close()
    end
    tenant.folders(dir .. "/tenants", dir .. "/flows")
  end)
  after_each(function()
    tenant.folders(nil, nil)
    os.execute("rm -rf " .. dir)
  end)

  it("reads the tenant's own variables (its id upper-cased, - as _) and the vendor endpoints", function()
    local want = os.getenv("LLM_FAKE_URL")
    assert.truthy(want, "this spec needs LLM_FAKE_URL set, as tests/run.sh does")
    local t = assert(load("llm-fake", 'return { name = "x", timezone = "UTC", url = env("LLM_FAKE_URL"),\n'
      .. '  tg = env("TELEGRAM_API_URL", "tg-default"), unset = env("LLM_FAKE_NOT_SET", "d") }'))
    assert.are.equal(want, t.settings.url)
    assert.are.equal(os.getenv("TELEGRAM_API_URL") or "tg-default", t.settings.tg)
    assert.are.equal("d", t.settings.unset)
  end)

  it("refuses any other variable with a load error naming it, the file and the line, and what to rename it to", function()
    local p = problem("nosy", 'return { name = "x", timezone = "UTC",\n  support_phone = env("FLOWHOST_ADMIN_TOKEN") }')
    assert.truthy(p:find(dir .. "/tenants/nosy.lua:2: env(\"FLOWHOST_ADMIN_TOKEN\"): a tenant's config may read only "
      .. "variables that start with NOSY_", 1, true), p)
    assert.truthy(p:find("rename it to NOSY_...", 1, true), p)
    assert.truthy(problem("nosy", 'return { name = "x", timezone = "UTC", p = env("PATH") }'):find('env("PATH")', 1, true))
    assert.truthy(problem("nosy", 'return { name = "x", timezone = "UTC", p = env("CARWASH_API_KEY") }')
      :find('env("CARWASH_API_KEY")', 1, true))
  end)

  it("gives a tenant named like a platform prefix none of the platform's variables", function()
    assert.truthy(problem("flowhost", 'return { name = "x", timezone = "UTC", t = env("FLOWHOST_ADMIN_TOKEN") }')
      :find('env("FLOWHOST_ADMIN_TOKEN")', 1, true))
    assert.truthy(problem("redis", 'return { name = "x", timezone = "UTC", t = env("REDIS_URL") }')
      :find('env("REDIS_URL")', 1, true))
  end)

  it("refuses *_env fields that name a variable the tenant may not read", function()
    local p = problem("wired", 'return { name = "x", timezone = "UTC",\n  channels = { telegram = {\n'
      .. '    token_env = "CARWASH_TELEGRAM_TOKEN", api_url = "http://127.0.0.1:1" } } }')
    assert.truthy(p:find(dir .. "/tenants/wired.lua:3: token_env = \"CARWASH_TELEGRAM_TOKEN\": a tenant's config may read only "
      .. "variables that start with WIRED_", 1, true), p)
    assert.truthy(load("wired", 'return { name = "x", timezone = "UTC", llm_key_env = "WIRED_KEY" }'))
  end)

  it("a metatable cannot hide a field from the checks: settings are plain data", function()
    local t = assert(load("hidden", 'return setmetatable({ name = "x", timezone = "UTC" },\n'
      .. '  { __index = { admin_token_env = "FLOWHOST_ADMIN_TOKEN" } })'))
    assert.is_nil(t.settings.admin_token_env)
  end)

  it("reads more only through _platform.lua's env_allow, for every tenant or for one, and env_allow is no setting", function()
    local f = assert(io.open(dir .. "/tenants/_platform.lua", "w"))
    f:write('return { languages = { "en" }, env_allow = { "HOME", allowed = { "PATH" } } }')
    f:close()
    local t = assert(load("allowed", 'return { name = "x", timezone = "UTC", home = env("HOME"), path = env("PATH") }'))
    assert.are.equal(os.getenv("HOME"), t.settings.home)
    assert.are.equal(os.getenv("PATH"), t.settings.path)
    assert.is_nil(t.settings.env_allow)
    assert.truthy(load("nosy", 'return { name = "x", timezone = "UTC", home = env("HOME") }'))
    assert.truthy(problem("nosy", 'return { name = "x", timezone = "UTC", path = env("PATH") }'):find('env("PATH")', 1, true))
  end)

  it("the repository's tenant and the fixture tenants that read variables still load", function()
    tenant.folders(nil, nil)
    assert(tenant.load("carwash"))
    tenant.folders(FIX_T, FIX_F)
    for _, id in ipairs{ "mini", "salesco", "escaper", "hog", "spinner", "keeper", "raider" } do
      local t, problems = tenant.load(id)
      assert(t, id .. ": " .. table.concat(problems or {}, "\n"))
    end
  end)

end)

describe("what a flow can reach", function()
  it("nothing in its environment, its c or the modules it may require is a way out", function()
    local source, context, readonly = require "flow.source", require "flow.context", require "flow.readonly"
    tenant.folders(FIX_T, FIX_F)
    local t = assert(tenant.load("raider"))
    tenant.folders(nil, nil)
    -- what must stay out of reach: the libraries, the loaders, the real tables
    local banned = {}
    local function ban(v, name) if v ~= nil then banned[v] = name end end
    for _, lib in ipairs{ "io", "os", "debug", "package", "coroutine", "jit", "string", "table", "math" } do
      ban(_G[lib], lib)
      for k, f in pairs(_G[lib] or {}) do
        local safe = (lib == "os" and (k == "time" or k == "date" or k == "clock")) or lib == "math"
          or (lib == "string" and k ~= "dump") or (lib == "table" and k ~= "insert" and k ~= "remove" and k ~= "sort")
        if not safe then ban(f, lib .. "." .. k) end
      end
    end
    for _, k in ipairs{ "load", "loadstring", "loadfile", "dofile", "require", "setfenv", "getfenv", "getmetatable",
                        "collectgarbage", "newproxy", "module", "_G", "rawset" } do ban(_G[k], k) end
    ban(package.loaded, "package.loaded")
    ban(debug.getregistry(), "the registry")
    ban(debug.getmetatable(""), "the string metatable")

    local env = source.env({ tenant = readonly.plain(t.settings, { functions = true }) })
    local conv = { id = "whatsapp:919000000001", tenant = "raider", slots = {}, data = {},
                   history = { { who = "customer", text = "hi" } } }
    local c = context.new(t, conv, { text = "hi", media = { id = "m" } }, { tenant = "raider", conversation = conv.id })
    local roots = { env = env, c = c, ["c.t"] = c.t, ["c.tenant"] = c.tenant, ["c.conv"] = c.conv, ["c.msg"] = c.msg,
                    ["c.booking"] = c.booking, ["c.slots"] = c.slots, ["c.data"] = c.data }
    for name in pairs(source.ALLOWED) do roots["require " .. name] = env.require(name) end
    for k, f in pairs(context.Context) do roots["c:" .. k] = f end

    local found, seen, walked = {}, {}, 0
    local function walk(v, path, depth)
      if v == nil or seen[v] or depth > 12 then return end
      seen[v] = true
      walked = walked + 1
      local real = type(v) == "function" and readonly.original(v) or v
      if banned[v] or banned[real] then found[#found + 1] = path .. " is " .. (banned[v] or banned[real]) end
      if type(v) == "table" then
        for k, x in readonly.pairs(v) do
          walk(k, path .. "[key]", depth + 1)
          walk(x, readonly.path(path, k), depth + 1)
        end
      end
    end
    for name, v in pairs(roots) do walk(v, name, 0) end
    assert.are.same({}, found)
    assert.truthy(walked > 100, walked)
    -- and the strings' methods give no dump
    assert.has_error(function() return ("").dump(print) end, "string.dump is not available to flows")
  end)
end)
