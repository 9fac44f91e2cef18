--- signals: the per-tenant operations metrics, one way for every part of
--- the runtime to count them (families are declared, with their HELP, in
--- core/metric_families.c; docs/deploy.md "Metrics reference" lists them).
--
--   signals.count(name, tenant, labels?, n?)    counter += n (default 1)
--   signals.observe(name, tenant, labels?, v)   histogram sample
--   signals.set(name, tenant, labels?, v)       gauge = v
--     tenant: a tenant id, or a sales rep's "<tenant>.<rep>" (counted under
--             its tenant: one series per business, whatever its reps)
--     labels: more labels after tenant, as a flat list of name, value pairs
--             in the order they are shown: { "outcome", "ok" }
--
-- Never yields, never raises for a value (label values are escaped here);
-- callable from the worker's main state and from tenant states (the
-- registry is the process's, core/metrics.c). Only tenants the host knows
-- are counted: a caller never passes an id a request made up (the label
-- set would grow without bound).
local host = require "host"

local M = {}

local escape, tostring = host.escape_label, tostring

--- The tenant a series is counted under: "<tenant>.<rep>" -> "<tenant>".
function M.tenant(id)
  id = tostring(id)
  return id:match("^([^.]+)") or id
end

--- 'tenant="<t>",k1="v1",...' for tenant and the labels list.
function M.labels(tenant, labels)
  local out = 'tenant="' .. escape(M.tenant(tenant)) .. '"'
  if labels then
    for i = 1, #labels, 2 do
      out = out .. "," .. labels[i] .. '="' .. escape(tostring(labels[i + 1])) .. '"'
    end
  end
  return out
end

function M.count(name, tenant, labels, n) host.metric_add(name, M.labels(tenant, labels), n or 1) end
function M.observe(name, tenant, labels, v) host.metric_observe(name, M.labels(tenant, labels), v) end
function M.set(name, tenant, labels, v) host.metric_set(name, M.labels(tenant, labels), v) end

return M
