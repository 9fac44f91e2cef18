--- bench.turn: the conversation turn of the peer benchmark (../shared/bench),
--- as pure functions (no I/O). Same behaviour as the peers' reference step:
---
---   turn.parse(body) -> tenant, conversation, text | nil
---       nil unless body is a JSON object with string tenant, conversation
---       and text.
---   turn.step(state_json, text, llm_text?) -> new_state_json, reply_json
---       state_json: the stored state (a string), or anything else for
---       "none"; a state that is missing, not JSON or not an object starts
---       as {state = "start", history = {}, slots = {}, turns = 0}. The
---       text is appended to history (the last 20 are kept), a 10-digit
---       number found in the text is the phone, the state machine moves
---       start -> ask_phone -> confirm (needs a phone) -> done (text holds
---       "yes", else back to ask_phone) -> start, turns grows by one.
---       reply_json is {"state":"...","reply":"..."} (always this key order;
---       the peers' cjson output follows their table order); llm_text, when
---       given, replaces the reply text.
local json = require "json"

local decode, encode = json.decode, json.encode
local find = string.find
local type, tonumber = type, tonumber

local HISTORY_CAP = 20
local PHONE = "%d%d%d%d%d%d%d%d%d%d"

-- The replies are constants (but one), so their JSON is built once.
local function reply_of(text, state)
  return '{"state":"' .. state .. '","reply":' .. encode(text) .. '}'
end
local R_GREET = reply_of("Hi! What is your phone number?", "ask_phone")
local R_ASK_AGAIN = reply_of("Please send a 10-digit phone number.", "ask_phone")
local R_THANKS = reply_of("Thanks, we will call you.", "done")
local R_WRONG = reply_of("OK, what is the right number?", "ask_phone")
local R_ELSE = reply_of("Anything else?", "start")

local M = {}

function M.parse(body)
  if type(body) ~= "string" then return nil end
  local req = decode(body)
  if type(req) ~= "table" then return nil end
  local tenant, conversation, text = req.tenant, req.conversation, req.text
  if type(tenant) == "string" and type(conversation) == "string" and type(text) == "string" then
    return tenant, conversation, text
  end
  return nil
end

function M.step(state_json, text, llm_text)
  local st = type(state_json) == "string" and decode(state_json) or nil
  if type(st) ~= "table" then
    st = { state = "start", history = {}, slots = {}, turns = 0 }
  end
  local history = st.history
  if type(history) ~= "table" then
    history = {}
    st.history = history
  end
  local slots = st.slots
  if type(slots) ~= "table" then
    slots = {}
    st.slots = slots
  end

  -- append, then keep the last HISTORY_CAP entries (shift left in place)
  local n = #history + 1
  history[n] = text
  if n > HISTORY_CAP then
    local drop = n - HISTORY_CAP
    for i = 1, HISTORY_CAP do history[i] = history[i + drop] end
    for i = n, HISTORY_CAP + 1, -1 do history[i] = nil end
  end

  local from, reply, to = st.state, nil, nil
  if from == "start" then
    to, reply = "ask_phone", R_GREET
  elseif from == "ask_phone" then
    local s, e = find(text, PHONE)
    if s then
      local phone = text:sub(s, e)
      slots.phone = phone
      to, reply = "confirm", '{"state":"confirm","reply":"Is ' .. phone .. ' correct?"}'
    else
      to, reply = "ask_phone", R_ASK_AGAIN
    end
  elseif from == "confirm" then
    if find(text, "yes", 1, true) then
      to, reply = "done", R_THANKS
    else
      to, reply = "ask_phone", R_WRONG
    end
  else
    to, reply = "start", R_ELSE
  end
  st.state = to
  st.turns = (tonumber(st.turns) or 0) + 1
  if llm_text then reply = reply_of(llm_text, to) end
  return encode(st), reply
end

return M
