-- `flowhost chat <tenant>`: a conversation with a tenant's flow in the
-- terminal (the flow runs in this process, against the configured Redis).
--   type a message and Enter; a number like #2 taps the second button
--   /state  /slots  show the conversation;  /buttons  list the buttons again
--   /new    start a new conversation;       /quit (or end of input) leaves
-- The conversation is a JSON-chat one ("chat:cli-<128 random bits>"): as on
-- the chat API, the customer is that conversation, and sees only the
-- bookings made in it. Log lines go to a file ($FLOWHOST_CHAT_LOG, default
-- $TMPDIR/flowhost-chat.log; set by core/main.c), not into the conversation.
local host = require "host"
local json = require "json"
local crypto = require "crypto"
local turn = require "flow.turn"
local tenant = require "flow.tenant"

local M = {}

local function new_conversation() return "chat:cli-" .. crypto.random_hex(16) end

local function out(...) io.stdout:write(...); io.stdout:flush() end

function M.run(argv)
  local id = argv[1]
  if not id then
    io.stderr:write("usage: flowhost chat <tenant>\n")
    return host.exit(2)
  end
  local t, err, problems = tenant.get(id)
  if not t then
    io.stderr:write(("flowhost chat: tenant '%s': %s\n"):format(id, err))
    for _, p in ipairs(problems or {}) do io.stderr:write("  ", p, "\n") end
    return host.exit(1)
  end
  local conv = new_conversation()
  local last = { replies = {}, state = "-", slots = {} }
  out(("talking to %s (%s), conversation %s. /quit to leave, #N taps button N, /state, /slots.\n")
    :format(t.name, id, conv))
  out(("(log lines go to %s)\n"):format(os.getenv("FLOWHOST_CHAT_LOG") or "stderr"))
  while true do
    out("you> ")
    local line = io.read("*l")
    if not line or line == "/quit" then break end
    if line == "/state" then out("state: ", tostring(last.state), "\n")
    elseif line == "/slots" then out("slots: ", json.encode(last.slots or {}), "\n")
    elseif line == "/new" then conv = new_conversation(); out("new conversation ", conv, "\n")
    elseif line:find("%S") then
      local msg = { text = line }
      local n = tonumber(line:match("^#(%d+)$"))
      if n then
        local buttons = {}
        for _, r in ipairs(last.replies) do for _, b in ipairs(r.buttons or {}) do buttons[#buttons + 1] = b end end
        if buttons[n] then msg = { button = buttons[n].id } else out("(no button ", n, ")\n") end
      end
      local res, terr = turn.run(id, conv, msg)
      if not res then out("(turn failed: ", tostring(terr), ")\n") else
        last = res
        for _, r in ipairs(res.replies) do
          out("bot> ", r.text:gsub("\n", "\n     "), "\n")
          for i, b in ipairs(r.buttons or {}) do out(("     #%d %s\n"):format(i, b.title)) end
        end
      end
    end
  end
  out("\n")
  host.exit(0)
end

return M
