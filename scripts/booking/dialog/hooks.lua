--- booking.dialog.hooks: what a flow adds to the booking kit around the
--- engine: its own price for the summary, and a function called after a
--- booking is confirmed, moved or cancelled (a flow writes it to its back
--- office there). Every hook is optional.
--
--   hooks.configure(k, cfg)      copies cfg.price / on_booked / on_rescheduled /
--                                on_cancelled into the kit k; raises on a non-function
--   hooks.price(k, c, service, addons) -> number | nil   (nil: no price hook, or it gave none)
--   hooks.after(k, c, event, booking)   event: "booked" | "rescheduled" | "cancelled";
--                                calls k.on_<event>(c, booking) if the flow gave one. An
--                                error in it is logged and swallowed: the engine already
--                                did the change, and the customer hears so. May yield
--                                (the hook may call a connector).
local M = {}

M.EVENTS = { "booked", "rescheduled", "cancelled" }

function M.configure(k, cfg)
  local names = { "price" }
  for _, e in ipairs(M.EVENTS) do names[#names + 1] = "on_" .. e end
  for _, n in ipairs(names) do
    local fn = cfg[n]
    if fn ~= nil and type(fn) ~= "function" then
      error(("booking.dialog.new: %s must be a function (c, ...)"):format(n), 4)
    end
    k[n] = fn
  end
end

function M.price(k, c, service, addons)
  if not k.price then return nil end
  local v = k.price(c, service, addons)
  return type(v) == "number" and v or nil
end

function M.after(k, c, event, booking)
  local fn = k["on_" .. event]
  if not fn then return end
  local ok, err = pcall(fn, c, booking)
  if not ok then
    require("log").error("booking kit: the flow's on_" .. event .. " failed; the booking stands",
      { booking = booking and booking.id, err = tostring(err) })
  end
end

return M
