-- `flowhost check [tenant...]`: loads and validates tenants' flows without
-- serving. Prints one line per tenant, and every problem as file:line.
-- `flowhost check <tenant>.<rep>` prints the rep's effective settings
-- (platform defaults, then the tenant, then the rep: most specific wins).
-- `flowhost check --translated <tenant>` records that the tenant's
-- translations are up to date with its default-language texts today
-- (flows/<tenant>/translations.lock; see flow.check_translations).
-- Warnings (a translation older than its source text) do not fail check.
-- Exit code 0 when all are good, 1 otherwise. Needs no Redis.
local host = require "host"
local tenant = require "flow.tenant"

local M = {}

-- `--translated <tenant>...`: write each tenant's translations.lock
local function stamp(ids)
  local tr = require "flow.check_translations"
  local bad = 0
  for _, id in ipairs(ids) do
    local t, problems = tenant.load(id)
    if not t then
      bad = bad + 1
      io.stdout:write(("%s: cannot record its translations until it checks:\n  %s\n"):format(id, table.concat(problems, "\n  ")))
    else
      local _, fdir = tenant.dirs()
      local path = fdir .. "/" .. id .. "/" .. tr.LOCK
      local f, err = io.open(path, "wb")
      if not f then bad = bad + 1; io.stdout:write(("%s: cannot write %s: %s\n"):format(id, path, tostring(err)))
      else
        f:write(tr.stamp(t.catalog, t.languages))
        f:close()
        io.stdout:write(("%s: translations recorded as up to date in %s\n"):format(id, path))
      end
    end
  end
  io.stdout:flush()
  return host.exit(bad == 0 and 0 or 1)
end

function M.run(argv)
  if argv[1] == "--translated" then
    if not argv[2] then
      io.stderr:write("usage: flowhost check --translated <tenant>...\n")
      return host.exit(2)
    end
    return stamp({ select(2, unpack(argv)) })
  end
  local ids = #argv > 0 and argv or tenant.list()
  if #ids == 0 then
    io.stderr:write("flowhost check: no tenants found in ", os.getenv("FLOWHOST_TENANTS_DIR") or "config/tenants", "\n")
    return host.exit(1)
  end
  local bad = 0
  for _, id in ipairs(ids) do
    local base, rep = id:match("^([%w_%-]+)%.([%w_%-]+)$")
    local t, problems = tenant.load(base or id)
    if t and rep then
      local v = t.reps and t.reps[rep]
      if v then
        io.stdout:write(("%s: ok (rep of %s, version %s); effective settings:\n%s\n")
          :format(id, base, t.version, require("json").encode(v.settings)))
        goto continue
      end
      t, problems = nil, { ("%s has no rep '%s'"):format(base, rep) }
    end
    if t then
      local states, slots = 0, 0
      for _ in pairs(t.flow.states) do states = states + 1 end
      for _ in pairs(t.flow.slots or {}) do slots = slots + 1 end
      local reps = {}
      for r in pairs(t.reps or {}) do reps[#reps + 1] = r end
      table.sort(reps)
      io.stdout:write(("%s: ok (version %s, %d states, %d slots, languages %s%s%s)\n")
        :format(id, t.version, states, slots, table.concat(t.languages, ","), t.llm and ", llm on" or "",
                #reps > 0 and (", reps " .. table.concat(reps, ",")) or ""))
      for _, w in ipairs(t.warnings or {}) do io.stdout:write("  warning: ", w, "\n") end
    else
      bad = bad + 1
      io.stdout:write(("%s: %d problem%s\n"):format(id, #problems, #problems == 1 and "" or "s"))
      for _, p in ipairs(problems) do io.stdout:write("  ", p, "\n") end
    end
    ::continue::
  end
  io.stdout:flush()
  host.exit(bad == 0 and 0 or 1)
end

return M
