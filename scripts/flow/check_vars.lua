--- flow.check_vars: the variables every message of a tenant may use, as the
--- message check (flow.check_messages) counts them.
--
--   check_vars.of(settings, flow) -> set {name = true}
--       ALWAYS, the flow's slot names, and what every provider names
--   check_vars.provide(name, fn)     fn(settings, flow) -> list of names:
--       variables the runtime gives every message of such tenants (e.g. a
--       library that adds {prices} and {hold_minutes} to c:vars()). Call it
--       where the runtime gains those variables; name replaces an earlier
--       provider of the same name.
--
-- Keep this in step with Context:vars (scripts/flow/context.lua): a name
-- the runtime gives that is not counted here makes check refuse a message
-- that would have worked; a name counted here that the runtime does not
-- give lets a broken message go live.
local M = {}

--- What Context:vars gives every message besides the slots.
M.ALWAYS = { "tenant" }

local providers, order = {}, {}

function M.provide(name, fn)
  if type(name) ~= "string" or type(fn) ~= "function" then
    error("check_vars.provide(name, fn): a name and a function(settings, flow) -> list of names", 2)
  end
  if not providers[name] then order[#order + 1] = name end
  providers[name] = fn
end

function M.of(settings, flow)
  local out = {}
  for _, n in ipairs(M.ALWAYS) do out[n] = true end
  for name in pairs(type(flow) == "table" and type(flow.slots) == "table" and flow.slots or {}) do out[name] = true end
  for _, p in ipairs(order) do
    for _, n in ipairs(providers[p](settings, flow) or {}) do out[n] = true end
  end
  -- a tenant may declare its own: message_vars = { "city" } in its config
  for _, n in ipairs(type(settings) == "table" and type(settings.message_vars) == "table" and settings.message_vars or {}) do
    if type(n) == "string" then out[n] = true end
  end
  return out
end

return M
