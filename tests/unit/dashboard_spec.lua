-- docs/grafana-flowhost.json asks Prometheus only for metric families the
-- host declares (core/metric_families.c), with braces that balance: a
-- renamed metric breaks this spec, not an operator's dashboard.
local json = require "json"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

describe("the Grafana dashboard", function()
  it("uses only declared metric families, each expression well formed", function()
    local declared = {}
    for name in read("core/metric_families.c"):gmatch('{"(flowhost_[%w_]+)", FH_METRIC_') do declared[name] = true end
    assert.truthy(declared.flowhost_turns_total)
    local dash = json.decode(read("docs/grafana-flowhost.json"))
    local used = 0
    for _, p in ipairs(dash.panels) do
      for _, t in ipairs(p.targets) do
        local _, open = t.expr:gsub("{", "")
        local _, close = t.expr:gsub("}", "")
        assert.are.equal(open, close, p.title .. ": " .. t.expr)
        local _, po = t.expr:gsub("%(", "")
        local _, pc = t.expr:gsub("%)", "")
        assert.are.equal(po, pc, p.title .. ": " .. t.expr)
        for name in t.expr:gmatch("flowhost_[%w_]+") do
          local family = name:gsub("_bucket$", ""):gsub("_sum$", ""):gsub("_count$", "")
          assert.is_true(declared[family] == true, p.title .. " asks for " .. name .. ", which the host does not declare")
          used = used + 1
        end
      end
    end
    assert.is_true(used >= 10)
  end)
end)
