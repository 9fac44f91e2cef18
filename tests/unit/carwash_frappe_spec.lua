-- flows/carwash/frappe.lua, the pure half of the car service's Frappe back
-- office: a car's vehicle type, Frappe's answers matched to business.lua,
-- the Service Booking doc and its changes with their ledger keys, and when
-- a failed write is tried again. (tests/integration/carwash_frappe_spec.lua
-- runs the whole thing against the fake Frappe.)
local frappe = dofile("flows/carwash/frappe.lua")

local TYPES = { { id = "Hatchback", models = { "Swift" } }, { id = "Sedan", default = true, models = { "City" } },
                { id = "SUV", models = { "Creta", "WR-V" } } }
local SERVICES = { { id = "basic_wash", title = "Basic Wash", names = { "basic" } },
                   { id = "foam_wash", title = "Foam Wash", names = { "foam", "premium wash" } } }
local ADDONS = { { id = "wax", title = "Wax polish", names = { "wax" } }, { id = "tyre_shine", title = "Tyre shine" } }

describe("carwash frappe", function()
  it("gives a model its vehicle type, and the default type to a model it does not list", function()
    assert.are.equal("SUV", frappe.vehicle_type(TYPES, "creta"))
    assert.are.equal("SUV", frappe.vehicle_type(TYPES, "WR V"))
    assert.are.equal("Hatchback", frappe.vehicle_type(TYPES, "Swift"))
    assert.are.equal("Sedan", frappe.vehicle_type(TYPES, "Nano"))
    assert.are.equal("Hatchback", frappe.vehicle_type({ TYPES[1], TYPES[3] }, "Nano"))   -- no default: the first
  end)

  it("keeps Frappe's products that business.lua can book, with Frappe's prices, in business.lua's order", function()
    local list, unknown = frappe.services({ success = true, services = {
      { product_id = "P-FOAM", product_name = "Premium Wash", base_price = 849 },
      { product_id = "P-CERAMIC", product_name = "Ceramic Coating", base_price = 9999 },
      { product_id = "P-BASIC", product_name = "basic wash", base_price = 549 },
    } }, SERVICES)
    assert.are.same({ { id = "basic_wash", title = "Basic Wash", names = { "basic" }, price = 549, product_id = "P-BASIC" },
                      { id = "foam_wash", title = "Foam Wash", names = { "foam", "premium wash" }, price = 849,
                        product_id = "P-FOAM" } }, list)
    assert.are.same({ "Ceramic Coating" }, unknown)
    assert.are.same({ nil, "none of Frappe's services is in business.lua" },
      { frappe.services({ success = true, services = { { product_name = "Ceramic", base_price = 1 } } }, SERVICES) })
    assert.are.same({ nil, "no services in the answer" }, { frappe.services({ success = false }, SERVICES) })
  end)

  it("prices add-ons from Frappe and totals them, or gives nil for an add-on Frappe does not sell", function()
    local prices = frappe.addons({ success = true, addons = {
      { addon_id = "A-WAX", addon_name = "Wax Polish", unit_price = 319 }, { addon_id = "A-X", addon_name = "Glitter", unit_price = 5 },
    } }, ADDONS)
    assert.are.same({ wax = { price = 319, addon_id = "A-WAX" } }, prices)
    local foam = { product_id = "P-FOAM", price = 849 }
    assert.are.equal(1168, frappe.sum(foam, prices, { "wax" }))
    assert.are.same({ product_id = "P-FOAM", addon_ids = { "A-WAX" }, electricity = 0, water = 0 },
      frappe.price_args(foam, prices, { "wax" }))
    assert.is_nil(frappe.sum(foam, prices, { "tyre_shine" }))
    assert.is_nil(frappe.price_args(foam, prices, { "tyre_shine" }))
    assert.is_nil(frappe.addons({}, ADDONS))
  end)

  it("writes a booking under its SR- id, and keys each change by the id and what changed", function()
    local b = { id = "SR-AB12CD34", status = "confirmed", start = 1800000000, service = "foam_wash",
                customer = { name = "Asha", phone = "+919876543210" } }
    local at = { date = "2027-01-15", time = "13:30" }
    local doc = frappe.booking_doc(b, at, { vehicle = "Honda City", vehicle_type = "Sedan", plate = "MH12AB1234",
                                           product_id = "P-FOAM", addon_ids = { "A-WAX" }, total = 1168 })
    assert.are.same({ name = "SR-AB12CD34", booking_id = "SR-AB12CD34", status = "Confirmed", booking_date = "2027-01-15",
                      time_slot = "13:30", customer_name = "Asha", phone = "+919876543210", service = "foam_wash",
                      product_id = "P-FOAM", addon_ids = { "A-WAX" }, total = 1168, vehicle = "Honda City",
                      vehicle_type = "Sedan", plate = "MH12AB1234" }, doc)
    assert.are.same({ nil, "frappe:book:SR-AB12CD34" }, { frappe.change("book", b, at) })
    assert.are.same({ { booking_date = "2027-01-15", time_slot = "13:30", status = "Confirmed" },
                      "frappe:move:SR-AB12CD34:1800000000" }, { frappe.change("move", b, at) })
    assert.are.same({ { status = "Cancelled" }, "frappe:cancel:SR-AB12CD34" }, { frappe.change("cancel", b, at) })
  end)

  it("tries a failed write again with a growing wait, never one Frappe refused, and gives up after 10 tries", function()
    assert.are.same({ 60, 120, 240 }, { frappe.retry_after("unavailable", 1, 60), frappe.retry_after("in doubt", 2, 60),
                                        frappe.retry_after("not found", 3, 60) })
    assert.are.equal(1800, frappe.retry_after("timeout", 9, 60))
    assert.is_nil(frappe.retry_after("timeout", 10, 60))
    assert.is_nil(frappe.retry_after("invalid", 1, 60))
    assert.is_nil(frappe.retry_after("forbidden", 1, 60))
  end)
end)
