-- The Odoo records of an appointment: the customer (res.partner), their
-- lead (crm.lead, its stage moved) and the visit (calendar.event). Every
-- change carries an idempotency key made from the Vapi toolCallId, so a
-- repeated tool call changes nothing twice. Each function returns its
-- value, or nil, word (the connector's: "unavailable", "forbidden", ...).
local M = {}

--- "+15125550100" from "(512) 555-0100", "15125550100" or "+1 512 555 0100"
function M.phone(p)
  local d = tostring(p or ""):gsub("%D", "")
  if #d == 10 then return "+1" .. d end
  if #d >= 11 and #d <= 15 then return "+" .. d end
end

local function odoo(c) return c.connectors.odoo end

-- the ids of partners with this phone or email
function M.partners(c, phone, email)
  local domain = {}
  if phone and email then domain = { "|", { "phone", "=", phone }, { "email", "=ilike", email } }
  elseif phone then domain = { { "phone", "=", phone } }
  elseif email then domain = { { "email", "=ilike", email } }
  else return {} end
  local found, err = odoo(c):search_read("res.partner", domain, { fields = { "name" }, limit = 20 })
  if not found then return nil, err end
  local ids = {}
  for i, p in ipairs(found) do ids[i] = p.id end
  return ids
end

--- the caller's partner id, found by phone or email, else created
function M.partner(c, a, key)
  local ids, err = M.partners(c, a.phone, a.email)
  if not ids then return nil, err end
  if ids[1] then return ids[1] end
  return odoo(c):create("res.partner", { name = a.customer_name, phone = a.phone or false, email = a.email or false,
    street = a.address, zip = a.zip, city = "Austin" }, { key = "partner:" .. key })
end

--- the caller's open lead (by phone or email), or a new one when the tenant
--- creates leads for first-time callers; false when there is none
function M.lead(c, a, partner_id, key)
  local domain = a.phone and { { "phone", "=", a.phone } } or { { "email_from", "=ilike", a.email } }
  local found, err = odoo(c):search_read("crm.lead", domain, { fields = { "name", "stage_id" }, limit = 1,
                                                                 order = "id desc" })
  if not found then return nil, err end
  if found[1] then return found[1].id end
  if not c.tenant.dispatch.create_leads then return false end
  return odoo(c):create("crm.lead", { name = a.service_title .. " - " .. a.customer_name, type = "lead",
    partner_id = partner_id, contact_name = a.customer_name, phone = a.phone or false, email_from = a.email or false,
    street = a.address, zip = a.zip, description = a.notes or false }, { key = "lead:" .. key })
end

--- moves a lead to the stage the tenant names for `what` ("scheduled",
--- "cancelled"); a stage Odoo does not have is logged and skipped
function M.stage(c, lead_id, what, key)
  local name = c.tenant.dispatch.stages[what]
  if not lead_id or not name then return true end
  local st, err = odoo(c):search_read("crm.stage", { { "name", "=", name } }, { fields = { "name" }, limit = 1 })
  if not st then return nil, err end
  if not st[1] then
    require("log").warn("hvac: no crm.stage with this name; the lead keeps its stage", { stage = name })
    return true
  end
  return odoo(c):write("crm.lead", { lead_id }, { stage_id = st[1].id }, { key = "stage:" .. key })
end

local FIELDS = { "name", "start", "stop", "user_id", "partner_ids", "location", "description", "res_model", "res_id" }
M.FIELDS = FIELDS

--- one event by id (nil, "not found" when gone or archived)
function M.event(c, id)
  local found, err = odoo(c):search_read("calendar.event", { { "id", "=", tonumber(id) or -1 } }, { fields = FIELDS, limit = 1 })
  if not found then return nil, err end
  return found[1] or nil, found[1] == nil and "not found" or nil
end

--- the events of these partners starting in [from, to] (Odoo times), soonest first
function M.events_of(c, partner_ids, from, to)
  if #partner_ids == 0 then return {} end
  return odoo(c):search_read("calendar.event", { { "partner_ids", "in", partner_ids },
    { "start", ">=", from }, { "start", "<=", to } }, { fields = FIELDS, limit = 20, order = "start asc" })
end

return M
