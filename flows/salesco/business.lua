-- What Sales Co offers a prospect: a 30 minute Zoom call with their rep.
-- Each rep's own hours and calendar are in config/tenants/salesco.lua;
-- follow-up delays and price limits in playbook.lua.
return {
  services = {
    -- free for the prospect; the engine needs a price above 0
    { id = "call", title = "Zoom call", price = 1, minutes = 30, names = { "call", "meeting", "zoom", "demo" } },
  },
  resources = { rep = { title = "Rep", count = 1 } },
  hours = { weekdays = "9am-6pm" },          -- a rep's own hours replace these
  start_every_minutes = 30,
  notice_minutes = 60,
  horizon_days = 14,
  currency = "USD",
  -- "call me", "I want to talk to a human": the rep takes over (flow.lua,
  -- escalate; the Russian phrases are in playbook.lua)
  intents = {
    human = { "call me", "phone me", "can you call me", "talk to a human", "talk to a person",
              "speak to a human", "real person" },
  },
}
