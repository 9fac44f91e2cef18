-- Unit spec for the `log` Lua module (core/lua_api_log.c): JSON lines on
-- stderr. Argument checks run in this process; the line contents are read
-- from a child `flowhost test` run of tests/unit/fixtures/log_lines.lua.
local log = require("log")
local json = require("json")

local HERE = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local FIXTURE = HERE .. "fixtures/log_lines.lua"

-- Runs the fixture in a child flowhost (this very binary, found through the
-- shell's parent process). Returns its stderr lines whose msg starts with
-- "fixture:", decoded and keyed by msg; those lines raw; the child's stdout
-- (busted's report); its exit status; and all of stderr, for messages.
local function run_fixture(level)
  local stdout_file = os.tmpname()
  local cmd = ('FLOWHOST_LOG_LEVEL=%s CI=1 "$(readlink /proc/$PPID/exe)" test %q 2>&1 >%q; echo "exit=$?"')
    :format(level, FIXTURE, stdout_file)
  local p = assert(io.popen(cmd, "r"))
  local err_out = p:read("*a")
  p:close()
  local f = io.open(stdout_file, "r")
  local std_out = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(stdout_file)
  local lines, raw, status = {}, {}, nil
  for line in err_out:gmatch("[^\n]+") do
    local code = line:match("^exit=(%d+)$")
    if code then
      status = tonumber(code)
    elseif line:find('"msg":"fixture:', 1, true) then
      raw[#raw + 1] = line
      local v, err = json.decode(line)
      assert(v, ("log line is not JSON (%s): %s"):format(tostring(err), line))
      lines[v.msg] = v
    end
  end
  return lines, raw, std_out, status, err_out
end

describe("log", function()
  describe("in this process", function()
    it("accepts a message with fields of every allowed type without raising", function()
      assert.has_no.errors(function()
        log.info("log_spec: fields", { s = "x", n = 1.25, b = true, f = false })
      end)
    end)

    it("accepts a message alone at every level", function()
      assert.has_no.errors(function()
        log.debug("log_spec: debug")
        log.info("log_spec: info")
        log.warn("log_spec: warn")
        log.error("log_spec: error")
      end)
    end)

    it("accepts a number as the message", function()
      assert.has_no.errors(function() log.info(42) end)
    end)

    it("accepts log.context with tenant and conversation", function()
      assert.has_no.errors(function()
        log.context{ tenant = "spec-tenant", conversation = "spec-conv" }
        log.info("log_spec: after context")
      end)
    end)

    it("raises when the message is missing", function()
      assert.has_error(function() log.info() end)
    end)

    it("raises when the message is a table", function()
      assert.has_error(function() log.warn({ msg = "x" }) end)
    end)

    it("raises when fields is not a table", function()
      assert.has_error(function() log.info("msg", "user=ann") end)
      assert.has_error(function() log.error("msg", 5) end)
    end)

    it("raises when log.context gets no table", function()
      assert.has_error(function() log.context() end)
      assert.has_error(function() log.context("acme") end)
    end)
  end)

  describe("lines written by a child flowhost", function()
    local lines, raw, std_out, status, out

    setup(function()
      lines, raw, std_out, status, out = run_fixture("info")
    end)

    it("runs the fixture to a pass", function()
      assert.is_truthy(std_out:find("specs: 1 passed, 0 failed", 1, true), std_out .. out)
    end)

    it("exits 0 when every spec of the run passed", function()
      assert.are.equal(0, status, out)
    end)

    it("writes one JSON object per line with ts, level and msg", function()
      local l = lines["fixture: plain"]
      assert.is_not_nil(l, out)
      assert.are.equal("info", l.level)
      assert.is_truthy(l.ts:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$"), l.ts)
    end)

    it("writes fields with their JSON types", function()
      local l = lines["fixture: fields"]
      assert.is_not_nil(l, out)
      assert.are.equal("ann", l.user)
      assert.are.equal(3, l.n)
      assert.are.equal(1.5, l.ratio)
      assert.is_true(l.ok)
      assert.is_false(l.off)
    end)

    it("escapes quotes, newlines and backslashes in field values", function()
      local l = lines["fixture: fields"]
      assert.are.equal('say "hi"\n\tback\\slash', l.quote)
      for _, line in ipairs(raw) do assert.is_nil(line:find("\n", 1, true)) end
    end)

    it("leaves out fields whose key is not a string", function()
      local l = lines["fixture: fields"]
      assert.is_nil(l["1"])
    end)

    it("writes warn and error lines with their level", function()
      assert.are.equal("warn", (lines["fixture: warn"] or {}).level)
      assert.are.equal("error", (lines["fixture: error"] or {}).level)
    end)

    it("leaves out debug lines at the default info level", function()
      assert.is_not_nil(lines["fixture: plain"], out)
      assert.is_nil(lines["fixture: debug"])
    end)

    it("has no tenant or conversation before log.context", function()
      local l = lines["fixture: plain"]
      assert.is_nil(l.tenant)
      assert.is_nil(l.conversation)
    end)

    it("tags later lines with the tenant, conversation and request_id from log.context", function()
      local l = lines["fixture: with context"]
      assert.is_not_nil(l, out)
      assert.are.equal("acme", l.tenant)
      assert.are.equal("conv-1", l.conversation)
      assert.are.equal("req-9", l.request_id)
    end)

    it("keeps the fields a later log.context call leaves out", function()
      local l = lines["fixture: tenant changed"]
      assert.is_not_nil(l, out)
      assert.are.equal("other", l.tenant)
      assert.are.equal("conv-1", l.conversation)
    end)

    it("gives a spawned task a copy of its parent's context at spawn time", function()
      local l = lines["fixture: child"]
      assert.is_not_nil(l, out)
      assert.are.equal("acme", l.tenant)
      assert.are.equal("conv-1", l.conversation)
    end)
  end)

  describe("at log level debug", function()
    it("writes debug lines too", function()
      local lines, _, _, _, out = run_fixture("debug")
      assert.are.equal("debug", (lines["fixture: debug"] or {}).level, out)
    end)
  end)
end)
