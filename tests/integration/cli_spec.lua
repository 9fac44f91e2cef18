-- The command line: help, version, and bad configuration stopping start-up.
local proc = require "proc"

local BIN = proc.BIN

local function run(cmd)
  local out = proc.sh(cmd .. " 2>&1; echo \"exit=$?\"")
  return out, tonumber(out:match("exit=(%d+)"))
end


describe("flowhost command line", function()
  it("prints usage and every setting's environment variable with --help", function()
    local out, code = run(BIN .. " --help")
    assert.are.equal(0, code)
    assert.truthy(out:find("flowhost serve", 1, true))
    for _, var in ipairs{ "FLOWHOST_LISTEN", "FLOWHOST_WORKERS", "REDIS_URL", "FLOWHOST_MAX_BODY" } do
      assert.truthy(out:find(var, 1, true), var .. " missing from --help")
    end
    -- and every variable the runtime library reads
    local p = io.popen([[grep -rhoE 'getenv\("FLOWHOST_[A-Z_]+"\)' scripts | sort -u]])
    local n = 0
    for line in p:lines() do
      local var = line:match('"(FLOWHOST_[A-Z_]+)"')
      n = n + 1
      assert.truthy(out:find(var, 1, true), var .. " (read in scripts/) missing from --help")
    end
    p:close()
    assert.is_true(n >= 4, n .. " variables found in scripts/")
  end)

  it("prints its version with --version", function()
    local out, code = run(BIN .. " --version")
    assert.are.equal(0, code)
    assert.truthy(out:match("^flowhost %d+%.%d+%.%d+"))
  end)

  -- a bad config file: exit code 2 and "file:line: problem"
  for _, case in ipairs({
    { "a syntax error", "bad_syntax", "return {\n  workers = 2,\n  listen = = 'x',\n}\n", ":3:" },
    { "an unknown setting", "bad_key", "return {\n  listen = '127.0.0.1:0',\n  wrokers = 2,\n}\n",
      ":3: unknown setting 'wrokers'" },
    { "text for a number setting (a commented-out line does not count)", "bad_type",
      "return {\n  -- workers = 2 would do\n  log_level = 'info',\n  [\"workers\"] = 'many',\n}\n",
      ":4: setting 'workers' must be a number" },
    { "an out-of-range value", "bad_range", "return {\n\n  max_body = -5,\n}\n",
      ":3: setting 'max_body' must be a non-negative number" },
  }) do
    local what, name, text, want = case[1], case[2], case[3], case[4]
    it("stops with exit code 2 naming file and line on " .. what, function()
      os.execute("mkdir -p var/test")
      local path = "var/test/" .. name .. ".lua"
      proc.write_file(path, text)
      local out, code = run(BIN .. " serve --config " .. path)
      assert.are.equal(2, code)
      assert.truthy(out:find(path .. want, 1, true), out)
    end)
  end

  it("stops with exit code 2 on a REDIS_URL it cannot use", function()
    local out, code = run("REDIS_URL=http://nope " .. BIN .. " serve --config tests/support/config.lua")
    assert.are.equal(2, code)
    assert.truthy(out:find("REDIS_URL", 1, true), out)
  end)

  it("stops with exit code 2 when its port is already taken, even by another flowhost", function()
    local first = proc.start{ env = { FLOWHOST_WORKERS = 2 } }
    local out, code = run("FLOWHOST_LISTEN=127.0.0.1:" .. first.port .. " timeout 10 " .. BIN
                          .. " serve --config tests/support/config.lua")
    proc.stop(first)
    assert.are.equal(2, code, out)
    assert.truthy(out:find("cannot listen on 127.0.0.1:" .. first.port, 1, true), out)
  end)

  it("stops with exit code 2 on a config file that does not exist", function()
    local out, code = run(BIN .. " serve --config var/test/missing.lua")
    assert.are.equal(2, code)
    assert.truthy(out:find("missing.lua", 1, true), out)
  end)
end)
