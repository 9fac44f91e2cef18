-- wrk script for bench/webhooks.sh: Telegram webhooks with the secret
-- header, each a new update (and a new chat every 10 updates) so that the
-- dedupe lets every one into the stream.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tonumber(tid) or 1
  counter = 0
end

function request()
  counter = counter + 1
  local id = thread_id * 100000000 + counter + math.floor(os.time() % 100000) * 1000
  local chat = 7000000000 + thread_id * 1000000 + math.floor(counter / 10)
  local body = string.format('{"update_id":%d,"message":{"message_id":%d,"date":1,"from":{"id":%d,"first_name":"B"},'
    .. '"chat":{"id":%d,"type":"private"},"text":"hi"}}', id, counter, chat, chat)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = os.getenv("BENCH_SECRET") or "bench-secret" }, body)
end
