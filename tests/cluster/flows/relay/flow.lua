-- Relay: "<turn>: <text>" for every message. The turn number is the
-- conversation's own count: two turns of one conversation that overlapped
-- would both read the same count (one number twice, one missing), and two
-- that ran out of order would pair a number with the other's text.
local function reply(c)
  c.data.n = (c.data.n or 0) + 1
  c:say("echo", { n = c.data.n, text = c.msg.text or "" })
end

return {
  start = "relay",
  slots = {},
  states = { relay = { reply = reply } },
}
