-- Unit spec for the `llm` module (scripts/llm.lua and scripts/llm/*), run
-- inside the host runtime against the fake LLM (tests/fakes/llm.py) named by
-- LLM_FAKE_URL. Every test scripts its own model name, so steps and recorded
-- requests never leak between tests.
local llm = require("llm")
local http = require("http")
local json = require("json")
local time = require("time")
local crypto = require("crypto")

local FAKE = assert(os.getenv("LLM_FAKE_URL"), "set LLM_FAKE_URL to the fake LLM (tests/fakes/llm.py)")

local function new_model(tag)
  return "spec-" .. tag .. "-" .. crypto.random_hex(4)
end

local function script(model, steps)
  local res = assert(http.request{ method = "POST", url = FAKE .. "/_control/script",
                                   headers = { ["Content-Type"] = "application/json" },
                                   body = json.encode{ model = model, steps = steps } })
  assert.are.equal(200, res.status, res.body)
end

-- the requests the fake received for model, as {method, path, headers, body}
local function sent(model)
  local res = assert(http.request{ url = FAKE .. "/_control/requests?model=" .. model })
  return json.decode(res.body).requests
end

local function client(provider, model, extra)
  local opts = { provider = provider, model = model, timeout = 5,
                 base_url = provider == "openai" and FAKE .. "/v1" or FAKE,
                 api_key = provider == "openai" and "sk-spec-0123456789" or "sk-ant-spec-0123456789" }
  for k, v in pairs(extra or {}) do opts[k] = v ~= false and v or nil end -- false: leave it out
  return llm.client(opts)
end

local CONTACT = {
  type = "object",
  properties = { name = { type = "string", minLength = 1 }, phone = { type = "string" } },
  required = { "name", "phone" },
  additionalProperties = false,
}

local SLOTS_TOOL = {
  name = "check_slots", description = "Free slots of a day",
  parameters = { type = "object", properties = { date = { type = "string" } },
                 required = { "date" }, additionalProperties = false },
}

local function elapsed_since(t0)
  return time.monotonic() - t0
end

describe("llm.client", function()
  it("raises on an unknown provider", function()
    assert.error_matches(function() llm.client{ provider = "gemini", model = "m" } end,
      "unknown provider gemini", 1, true)
  end)

  it("raises when model is missing", function()
    assert.error_matches(function() llm.client{ provider = "openai" } end, "'model' is required", 1, true)
  end)

  it("raises when api_key_env names a variable that is not set", function()
    local name = "FLOWHOST_SPEC_UNSET_" .. crypto.random_hex(4):upper()
    assert.error_matches(function() llm.client{ provider = "openai", model = "m", api_key_env = name } end,
      "environment variable " .. name .. " is not set", 1, true)
  end)

  it("lets an OpenAI-compatible server of one's own (Ollama) run without the key api_key_env names", function()
    local name = "FLOWHOST_SPEC_UNSET_" .. crypto.random_hex(4):upper()
    local m = new_model("nokey")
    local c = llm.client{ provider = "openai", model = m, base_url = FAKE .. "/v1", api_key_env = name, retries = 0 }
    c:chat{ messages = { { role = "user", content = "hi" } } }   -- (this fake wants a key: 401)
    assert.is_nil(sent(m)[1].headers["authorization"])
    -- OpenAI's own API and Anthropic's need one
    assert.error_matches(function()
      llm.client{ provider = "openai", model = "m", base_url = "https://api.openai.com/v1", api_key_env = name }
    end, "environment variable " .. name .. " is not set", 1, true)
    assert.error_matches(function()
      llm.client{ provider = "anthropic", model = "m", base_url = FAKE, api_key_env = name }
    end, "environment variable " .. name .. " is not set", 1, true)
  end)

  it("raises on a breaker setting that is not a table or false", function()
    assert.error_matches(function() llm.client{ provider = "openai", model = "m", breaker = 3 } end,
      "'breaker' must be a table", 1, true)
    assert.error_matches(function() llm.client{ provider = "openai", model = "m", breaker = { failures = 0 } } end,
      "'breaker.failures' must be a positive number", 1, true)
  end)

  it("raises on a structured mode it does not know", function()
    assert.error_matches(function() llm.client{ provider = "openai", model = "m", structured = "grammar" } end,
      "'structured' must be", 1, true)
  end)

  it("raises on a negative retries count", function()
    assert.error_matches(function() llm.client{ provider = "openai", model = "m", retries = -1 } end,
      "'retries' must be a whole number", 1, true)
  end)

  it("reads the key from the environment variable api_key_env names", function()
    local ffi = require("ffi")
    pcall(ffi.cdef, "int setenv(const char *name, const char *value, int overwrite);")
    local name = "FLOWHOST_SPEC_LLM_KEY_" .. crypto.random_hex(4):upper()
    local key = "sk-env-" .. crypto.random_hex(8)
    assert.are.equal(0, ffi.C.setenv(name, key, 1))
    local m = new_model("envkey")
    local c = llm.client{ provider = "openai", model = m, base_url = FAKE .. "/v1", api_key_env = name }
    assert(c:chat{ messages = { { role = "user", content = "hi" } } })
    assert.are.equal("Bearer " .. key, sent(m)[1].headers["authorization"])

    local a = new_model("envkey-anthropic")
    local ca = llm.client{ provider = "anthropic", model = a, base_url = FAKE, api_key_env = name }
    assert(ca:chat{ messages = { { role = "user", content = "hi" } } })
    assert.are.equal(key, sent(a)[1].headers["x-api-key"])
  end)
end)

describe("client:chat", function()
  it("returns the text, usage and finish of an OpenAI chat completion", function()
    local m = new_model("openai-chat")
    script(m, { { content = "Hello, 10:00 is free." } })
    local res, err = client("openai", m):chat{ system = "You book appointments.",
                                               messages = { { role = "user", content = "Tomorrow 10am?" } } }
    assert.is_nil(err)
    assert.are.equal("Hello, 10:00 is free.", res.text)
    assert.are.equal("stop", res.finish)
    assert.are.same({}, res.tool_calls)
    assert.is_true(res.usage.input > 0 and res.usage.output > 0)
    local reqs = sent(m)
    assert.are.equal(1, #reqs)
    assert.are.equal("/v1/chat/completions", reqs[1].path)
    assert.are.equal("Bearer sk-spec-0123456789", reqs[1].headers["authorization"])
    assert.are.equal("application/json", reqs[1].headers["content-type"])
    local body = reqs[1].body
    assert.are.equal(m, body.model)
    assert.are.same({ { role = "system", content = "You book appointments." },
                      { role = "user", content = "Tomorrow 10am?" } }, body.messages)
    assert.are.equal(0, body.temperature)
    assert.are.equal(512, body.max_tokens)
  end)

  it("returns an Anthropic answer and sends x-api-key, anthropic-version and a top-level system", function()
    local m = new_model("anthropic-chat")
    script(m, { { content = "Hallo!" } })
    local res, err = client("anthropic", m, { max_tokens = 300 }):chat{
      system = "Be brief.", messages = { { role = "user", content = "Hi" } }, temperature = 0.5 }
    assert.is_nil(err)
    assert.are.equal("Hallo!", res.text)
    assert.are.equal("stop", res.finish)
    assert.is_true(res.usage.input > 0 and res.usage.output > 0)
    local reqs = sent(m)
    assert.are.equal(1, #reqs)
    local r = reqs[1]
    assert.are.equal("/v1/messages", r.path)
    assert.are.equal("sk-ant-spec-0123456789", r.headers["x-api-key"])
    assert.are.equal("2023-06-01", r.headers["anthropic-version"])
    assert.are.equal("application/json", r.headers["content-type"])
    assert.is_nil(r.headers["authorization"])
    assert.are.equal("Be brief.", r.body.system)
    assert.are.equal(300, r.body.max_tokens)
    assert.are.equal(0.5, r.body.temperature)
    assert.are.same({ { role = "user", content = "Hi" } }, r.body.messages)
  end)

  it("returns OpenAI tool calls with their arguments decoded", function()
    local m = new_model("openai-tools")
    script(m, { { tool_calls = { { id = "call_1", name = "check_slots", arguments = { date = "2025-07-01" } } } } })
    local res = assert(client("openai", m):chat{ messages = { { role = "user", content = "free tomorrow?" } },
                                                 tools = { SLOTS_TOOL } })
    assert.are.equal("tool_calls", res.finish)
    assert.are.same({ { id = "call_1", name = "check_slots", arguments = { date = "2025-07-01" } } }, res.tool_calls)
    local body = sent(m)[1].body
    assert.are.equal("function", body.tools[1].type)
    assert.are.equal("check_slots", body.tools[1]["function"].name)
    assert.are.same({ "date" }, body.tools[1]["function"].parameters.required)
    assert.is_true(body.tools[1]["function"].strict)
    assert.are.equal("auto", body.tool_choice)
  end)

  it("returns Anthropic tool_use blocks as tool calls", function()
    local m = new_model("anthropic-tools")
    script(m, { { tool_calls = { { id = "toolu_1", name = "check_slots", arguments = { date = "2025-07-02" } } } } })
    local res = assert(client("anthropic", m):chat{ messages = { { role = "user", content = "free?" } },
                                                    tools = { SLOTS_TOOL }, tool_choice = "check_slots" })
    assert.are.equal("tool_calls", res.finish)
    assert.are.same({ { id = "toolu_1", name = "check_slots", arguments = { date = "2025-07-02" } } }, res.tool_calls)
    local body = sent(m)[1].body
    assert.are.same({ type = "tool", name = "check_slots" }, body.tool_choice)
    assert.are.equal("check_slots", body.tools[1].name)
    assert.are.equal("object", body.tools[1].input_schema.type)
  end)

  local ROUND_TRIP = {
    { role = "user", content = "Tomorrow 10am?" },
    { role = "assistant", tool_calls = { { id = "call_a", name = "check_slots", arguments = { date = "2025-07-01" } },
                                         { id = "call_b", name = "check_slots", arguments = { date = "2025-07-02" } } } },
    { role = "tool", tool_call_id = "call_a", content = "10:00, 11:30" },
    { role = "tool", tool_call_id = "call_b", content = "none" },
  }

  it("sends a tool round trip in OpenAI's shape (arguments as a JSON string)", function()
    local m = new_model("openai-roundtrip")
    local res = assert(client("openai", m):chat{ messages = ROUND_TRIP, tools = { SLOTS_TOOL } })
    assert.are.equal("ok", res.text)
    local msgs = sent(m)[1].body.messages
    assert.are.equal(4, #msgs)
    assert.are.equal("function", msgs[2].tool_calls[1].type)
    assert.are.equal('{"date":"2025-07-01"}', msgs[2].tool_calls[1]["function"].arguments)
    assert.are.same({ role = "tool", tool_call_id = "call_b", content = "none" }, msgs[4])
  end)

  it("sends a tool round trip in Anthropic's shape (tool results in one user message)", function()
    local m = new_model("anthropic-roundtrip")
    local res = assert(client("anthropic", m):chat{ messages = ROUND_TRIP, tools = { SLOTS_TOOL } })
    assert.are.equal("ok", res.text)
    local msgs = sent(m)[1].body.messages
    assert.are.equal(3, #msgs)
    assert.are.same({ type = "tool_use", id = "call_a", name = "check_slots", input = { date = "2025-07-01" } },
                    msgs[2].content[1])
    assert.are.equal("user", msgs[3].role)
    assert.are.same({ { type = "tool_result", tool_use_id = "call_a", content = "10:00, 11:30" },
                      { type = "tool_result", tool_use_id = "call_b", content = "none" } }, msgs[3].content)
  end)

  it("raises on a system role inside messages", function()
    assert.error_matches(function()
      client("anthropic", "m"):chat{ messages = { { role = "system", content = "x" } } }
    end, "the system prompt goes in system =", 1, true)
  end)

  it("raises on empty messages", function()
    assert.error_matches(function() client("openai", "m"):chat{ messages = {} } end,
      "'messages' must be a non-empty list", 1, true)
  end)

  it("returns nil, \"bad answer\" for an OpenAI refusal, without asking again", function()
    local m = new_model("refusal")
    script(m, { { refusal = "I can't help with that." }, { content = "late" } })
    local res, err = client("openai", m):chat{ messages = { { role = "user", content = "x" } } }
    assert.is_nil(res)
    assert.are.equal("bad answer", err)
    assert.are.equal(1, #sent(m))
  end)
end)

describe("client:extract", function()
  it("asks with response_format json_schema and returns the parsed content", function()
    local m = new_model("extract-rf")
    script(m, { { json = { name = "Ana", phone = "+34 600 000 000" } } })
    local v, err = client("openai", m):extract{ system = "Extract the contact.", text = "Ana, +34 600 000 000",
                                                schema = CONTACT, name = "contact" }
    assert.is_nil(err)
    assert.are.same({ name = "Ana", phone = "+34 600 000 000" }, v)
    local body = sent(m)[1].body
    assert.are.equal("json_schema", body.response_format.type)
    assert.are.equal("contact", body.response_format.json_schema.name)
    assert.is_true(body.response_format.json_schema.strict)
    assert.are.same({ "name", "phone" }, body.response_format.json_schema.schema.required)
    assert.is_nil(body.tools)
    assert.are.same({ role = "user", content = "Ana, +34 600 000 000" }, body.messages[2])
  end)

  it("sends strict only when OpenAI strict mode accepts the schema", function()
    local m = new_model("extract-nonstrict")
    local loose = { type = "object", properties = { name = { type = "string" }, note = { type = "string" } },
                    required = { "name" } }
    script(m, { { json = { name = "Bo" } } })
    assert.are.same({ name = "Bo" }, assert(client("openai", m):extract{ text = "Bo", schema = loose }))
    local js = sent(m)[1].body.response_format.json_schema
    assert.is_nil(js.strict)
    assert.are.equal("extract", js.name)
  end)

  it("drops an empty required list instead of sending it as an object", function()
    local m = new_model("extract-empty-required")
    local s = { type = "object", properties = { note = { type = "string" } }, required = {} }
    local v, err = client("anthropic", m):extract{ text = "nothing", schema = s }
    assert.is_nil(err)
    assert.are.same({}, v) -- the fake's default: only the required properties
    assert.is_nil(sent(m)[1].body.tools[1].input_schema.required)
  end)

  it("asks with one forced function tool when structured = \"tools\"", function()
    local m = new_model("extract-tools")
    script(m, { { json = { name = "Cy", phone = "123" } } })
    local v = assert(client("openai", m, { structured = "tools" }):extract{ text = "Cy 123", schema = CONTACT,
                                                                             name = "contact" })
    assert.are.same({ name = "Cy", phone = "123" }, v)
    local body = sent(m)[1].body
    assert.is_nil(body.response_format)
    assert.are.equal(1, #body.tools)
    assert.are.equal("contact", body.tools[1]["function"].name)
    assert.are.same({ "name", "phone" }, body.tools[1]["function"].parameters.required)
    assert.are.same({ type = "function", ["function"] = { name = "contact" } }, body.tool_choice)
  end)

  it("reads the input of Anthropic's forced tool_use block", function()
    local m = new_model("extract-anthropic")
    script(m, { { json = { name = "Di", phone = "456" } } })
    local v = assert(client("anthropic", m):extract{ system = "Extract.", text = "Di 456", schema = CONTACT,
                                                     name = "contact" })
    assert.are.same({ name = "Di", phone = "456" }, v)
    local body = sent(m)[1].body
    assert.are.same({ type = "tool", name = "contact" }, body.tool_choice)
    assert.are.equal("contact", body.tools[1].name)
    assert.are.same(CONTACT.required, body.tools[1].input_schema.required)
    assert.are.equal("Extract.", body.system)
  end)

  it("asks once more after an answer that breaks the schema, then returns nil, \"bad answer\"", function()
    local m = new_model("extract-schema-bad")
    script(m, { { json = { name = "Ed", phone = 5 } }, { json = { name = "", phone = "1" } },
                { json = { name = "Ed", phone = "1" } } })
    local v, err = client("openai", m):extract{ text = "Ed", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)
    assert.are.equal(2, #sent(m))
  end)

  it("returns the second answer when the first broke the schema", function()
    local m = new_model("extract-schema-fixed")
    script(m, { { json = { name = "Fa" } }, { json = { name = "Fa", phone = "7" } } })
    local v = assert(client("anthropic", m):extract{ text = "Fa 7", schema = CONTACT })
    assert.are.same({ name = "Fa", phone = "7" }, v)
    assert.are.equal(2, #sent(m))
  end)

  it("returns nil, \"bad answer\" for malformed JSON after one more try", function()
    local m = new_model("extract-malformed")
    script(m, { { malformed = true }, { malformed = true }, { json = { name = "G", phone = "8" } } })
    local v, err = client("openai", m):extract{ text = "G 8", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)
    assert.are.equal(2, #sent(m))
  end)

  it("returns nil, \"bad answer\" for tool arguments that are not JSON", function()
    local m = new_model("extract-bad-args")
    script(m, { { tool_calls = { { name = "extract", arguments = '{"name": "H", "pho' } } },
                { tool_calls = { { name = "extract", arguments = "not json" } } } })
    local v, err = client("openai", m, { structured = "tools" }):extract{ text = "H", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)
    assert.are.equal(2, #sent(m))
  end)

  it("returns nil, \"bad answer\" when the answer was cut at max_tokens", function()
    local m = new_model("extract-length")
    script(m, { { json = { name = "I", phone = "9" }, length = true }, { json = { name = "I", phone = "9" }, length = true } })
    local v, err = client("openai", m):extract{ text = "I 9", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)

    local a = new_model("extract-max-tokens")
    script(a, { { content = "I am", length = true }, { content = "I am", length = true } })
    v, err = client("anthropic", a):extract{ text = "I 9", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)
  end)

  it("returns nil, \"bad answer\" when Anthropic answers text instead of the tool", function()
    local m = new_model("extract-no-tool")
    script(m, { { content = "Sure! Name: J" }, { content = "Sure! Name: J" } })
    local v, err = client("anthropic", m):extract{ text = "J", schema = CONTACT }
    assert.is_nil(v)
    assert.are.equal("bad answer", err)
    assert.are.equal(2, #sent(m))
  end)

  it("raises on a schema keyword it cannot check", function()
    assert.error_matches(function()
      client("openai", "m"):extract{ text = "x", schema = { anyOf = { { type = "string" } } } }
    end, "keyword anyOf is not supported", 1, true)
  end)
end)

describe("retries and deadlines", function()
  local ASK = { { role = "user", content = "hi" } }

  it("waits for Retry-After (1 s) after a 429, then returns the answer", function()
    local m = new_model("retry-after")
    script(m, { { status = 429, retry_after = 1 }, { content = "after the wait" } })
    local t0 = time.monotonic()
    local res, err = client("openai", m):chat{ messages = ASK }
    local took = elapsed_since(t0)
    assert.is_nil(err)
    assert.are.equal("after the wait", res.text)
    assert.are.equal(2, #sent(m))
    assert.is_true(took >= 0.95 and took < 2.5, "took " .. took .. " s")
  end)

  it("prefers retry-after-ms to retry-after", function()
    local m = new_model("retry-after-ms")
    script(m, { { status = 429, retry_after = 5, retry_after_ms = 300 }, { content = "ok" } })
    local t0 = time.monotonic()
    assert(client("anthropic", m):chat{ messages = ASK })
    local took = elapsed_since(t0)
    assert.is_true(took >= 0.28 and took < 2, "took " .. took .. " s")
  end)

  it("returns the answer after 500, 500", function()
    local m = new_model("retry-500")
    script(m, { { status = 500 }, { status = 500 }, { content = "third time" } })
    local res, err = client("openai", m):chat{ messages = ASK }
    assert.is_nil(err)
    assert.are.equal("third time", res.text)
    assert.are.equal(3, #sent(m))
  end)

  it("retries Anthropic's 529 overloaded_error", function()
    local m = new_model("retry-529")
    script(m, { { status = 529 }, { content = "back" } })
    local res = assert(client("anthropic", m):chat{ messages = ASK })
    assert.are.equal("back", res.text)
    assert.are.equal(2, #sent(m))
  end)

  it("returns nil, \"unavailable\" after 1 + retries answers of 500", function()
    local m = new_model("retry-500x4")
    script(m, { { status = 500 }, { status = 500 }, { status = 500 }, { status = 500 }, { content = "too late" } })
    local res, err = client("openai", m):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("unavailable", err)
    assert.are.equal(4, #sent(m))
  end)

  it("returns nil, \"rate limited\" when 429s outlast the retries", function()
    local m = new_model("retry-429s")
    script(m, { { status = 429, retry_after = 0 }, { status = 429, retry_after = 0 } })
    local res, err = client("openai", m, { retries = 1 }):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("rate limited", err)
    assert.are.equal(2, #sent(m))
  end)

  it("does not retry OpenAI's insufficient_quota 429", function()
    local m = new_model("quota")
    script(m, { { status = 429, quota = true }, { content = "never" } })
    local res, err = client("openai", m):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("rate limited", err)
    assert.are.equal(1, #sent(m))
  end)

  it("retries llama.cpp's 503 \"Loading model\"", function()
    local m = new_model("loading")
    script(m, { { status = 503, loading = true }, { content = "loaded" } })
    local res = assert(client("openai", m):chat{ messages = ASK })
    assert.are.equal("loaded", res.text)
    assert.are.equal(2, #sent(m))
  end)

  it("does not retry when the server says x-should-retry: false", function()
    local m = new_model("should-not-retry")
    script(m, { { status = 503, should_retry = false }, { content = "never" } })
    local res, err = client("anthropic", m):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("unavailable", err)
    assert.are.equal(1, #sent(m))
  end)

  it("returns nil, \"timeout\" when every attempt is slower than timeout", function()
    local m = new_model("slow")
    script(m, { { delay_ms = 1500 }, { delay_ms = 1500 } })
    local t0 = time.monotonic()
    local res, err = client("openai", m, { timeout = 0.3, retries = 1 }):chat{ messages = ASK }
    local took = elapsed_since(t0)
    assert.is_nil(res)
    assert.are.equal("timeout", err)
    assert.are.equal(2, #sent(m))
    assert.is_true(took >= 0.55 and took < 1.4, "took " .. took .. " s")
  end)

  it("returns nil, \"deadline\" at once when Retry-After would outlast the deadline", function()
    local m = new_model("deadline-retry-after")
    script(m, { { status = 429, retry_after = 3 }, { content = "too late" } })
    local t0 = time.monotonic()
    local res, err = client("openai", m):chat{ messages = ASK, deadline = time.now() + 2 }
    local took = elapsed_since(t0)
    assert.is_nil(res)
    assert.are.equal("deadline", err)
    assert.are.equal(1, #sent(m))
    assert.is_true(took < 1, "took " .. took .. " s")
  end)

  it("cuts an attempt's timeout to the time left before the deadline", function()
    local m = new_model("deadline-cut")
    script(m, { { delay_ms = 3000 } })
    local t0 = time.monotonic()
    local res, err = client("anthropic", m, { timeout = 10 }):chat{ messages = ASK, deadline = time.now() + 0.5 }
    local took = elapsed_since(t0)
    assert.is_nil(res)
    assert.are.equal("deadline", err)
    assert.is_true(took >= 0.4 and took < 1.5, "took " .. took .. " s")
  end)

  it("returns nil, \"deadline\" without a request when the deadline has passed", function()
    local m = new_model("deadline-passed")
    local res, err = client("openai", m):chat{ messages = ASK, deadline = time.now() - 1 }
    assert.is_nil(res)
    assert.are.equal("deadline", err)
    assert.are.equal(0, #sent(m))
  end)

  it("returns nil, \"unauthorized\" for a missing key, without retrying", function()
    local m = new_model("no-key")
    local res, err = client("openai", m, { api_key = false }):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("unauthorized", err)
    local reqs = sent(m)
    assert.are.equal(1, #reqs)
    assert.is_nil(reqs[1].headers["authorization"])
  end)

  it("returns nil, \"unauthorized\" for Anthropic's 401, without retrying", function()
    local m = new_model("anthropic-401")
    script(m, { { status = 401 }, { content = "never" } })
    local res, err = client("anthropic", m):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("unauthorized", err)
    assert.are.equal(1, #sent(m))
  end)

  it("returns nil, \"bad request\" for a 404 unknown model, without retrying", function()
    local m = new_model("not-found")
    script(m, { { status = 404 }, { content = "never" } })
    local res, err = client("openai", m):chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("bad request", err)
    assert.are.equal(1, #sent(m))
  end)

  it("returns nil, \"unavailable\" when nothing listens, after its retries", function()
    local c = llm.client{ provider = "openai", model = "m", base_url = "http://127.0.0.1:1/v1", retries = 1 }
    local t0 = time.monotonic()
    local res, err = c:chat{ messages = ASK }
    assert.is_nil(res)
    assert.are.equal("unavailable", err)
    assert.is_true(elapsed_since(t0) < 1)
  end)

  it("retries a connection reset mid-body", function()
    local m = new_model("reset")
    script(m, { { reset = true }, { content = "whole" } })
    local res = assert(client("openai", m):chat{ messages = ASK })
    assert.are.equal("whole", res.text)
    assert.are.equal(2, #sent(m))
  end)
end)

describe("llm.retry", function()
  local retry = require("llm.retry")

  it("reads retry-after-ms first, then Retry-After as seconds or as an HTTP-date", function()
    assert.are.equal(7, retry.after({ ["retry-after"] = "7" }, 0))
    assert.are.equal(0.25, retry.after({ ["retry-after"] = "7", ["retry-after-ms"] = "250" }, 0))
    -- Sun, 06 Nov 1994 08:49:37 GMT is 784111777 seconds after the epoch
    assert.are.equal(2, retry.after({ ["retry-after"] = "Sun, 06 Nov 1994 08:49:37 GMT" }, 784111775))
    assert.are.equal(0, retry.after({ ["retry-after"] = "Sun, 06 Nov 1994 08:49:37 GMT" }, 784111800))
    assert.is_nil(retry.after({ ["retry-after"] = "soon" }, 0))
    assert.is_nil(retry.after({}, 0))
  end)

  it("draws each backoff uniformly within [0, min(4, 0.25 * 2^(n-1))]", function()
    for n = 1, 8 do
      local cap, seen = math.min(4, 0.25 * 2 ^ (n - 1)), {}
      for i = 1, 20 do
        local w = retry.backoff(n)
        assert.is_true(w >= 0 and w <= cap, ("retry %d waited %s > %s"):format(n, w, cap))
        seen[i] = w
      end
      table.sort(seen)
      assert.is_true(seen[20] - seen[1] > cap / 10, "jitter spreads the waits")
    end
  end)
end)

describe("llm.validate", function()
  local ORDER = {
    type = "object",
    properties = {
      id = { type = "integer", minimum = 1 },
      size = { enum = { "S", "M", "L" } },
      note = { type = { "string", "null" }, maxLength = 5 },
      items = { type = "array", minItems = 1, items = {
        type = "object", properties = { qty = { type = "number", exclusiveMinimum = 0 } }, required = { "qty" } } },
      ["first name"] = { type = "string" },
    },
    required = { "id", "items" },
    additionalProperties = false,
  }

  it("accepts a value that fits", function()
    assert.is_true(llm.validate(ORDER, { id = 3, size = "M", note = json.null, items = { { qty = 1.5 } } }))
  end)

  it("names the path and the problem", function()
    local cases = {
      { { items = { { qty = 1 } } }, "$.id: is required" },
      { { id = 1.5, items = { { qty = 1 } } }, "$.id: expected integer, got number" },
      { { id = 0, items = { { qty = 1 } } }, "$.id: below minimum 1" },
      { { id = "7", items = { { qty = 1 } } }, "$.id: expected integer, got string" },
      { { id = 1, items = {} }, "$.items: fewer than 1 items" },
      { { id = 1, items = { { qty = 1 }, { qty = 0 } } }, "$.items[1].qty: not above 0" },
      { { id = 1, items = { { qty = 1 }, {} } }, "$.items[1].qty: is required" },
      { { id = 1, items = { { qty = 1 } }, size = "XL" }, '$.size: must be one of ["S","M","L"]' },
      { { id = 1, items = { { qty = 1 } }, note = "toolong" }, "$.note: longer than 5 characters" },
      { { id = 1, items = { { qty = 1 } }, note = 4 }, "$.note: expected string or null, got number" },
      { { id = 1, items = { { qty = 1 } }, extra = true }, "$.extra: is not allowed" },
      { { id = 1, items = { { qty = 1 } }, ["first name"] = false }, '$["first name"]: expected string, got boolean' },
      { { 1, 2 }, "$: expected object, got array" },
    }
    for _, c in ipairs(cases) do
      local ok, err = llm.validate(ORDER, c[1])
      assert.is_nil(ok, c[2])
      assert.are.equal(c[2], err)
    end
  end)

  it("counts lengths in UTF-8 characters, not bytes", function()
    assert.is_true(llm.validate({ type = "string", maxLength = 5 }, "\195\177and\195\186")) -- "ñandú"
    local ok, err = llm.validate({ type = "string", minLength = 6 }, "\195\177and\195\186")
    assert.is_nil(ok)
    assert.are.equal("$: shorter than 6 characters", err)
  end)

  it("takes an empty table as an empty array and as an empty object", function()
    assert.is_true(llm.validate({ type = "array", items = { type = "string" } }, {}))
    assert.is_true(llm.validate({ type = "object", properties = { a = { type = "string" } } }, {}))
    local ok, err = llm.validate({ type = "object", required = { "a" } }, {})
    assert.is_nil(ok)
    assert.are.equal("$.a: is required", err)
  end)

  it("checks additionalProperties given as a schema", function()
    local s = { type = "object", additionalProperties = { type = "number" } }
    assert.is_true(llm.validate(s, { a = 1, b = 2 }))
    local ok, err = llm.validate(s, { a = 1, b = "2" })
    assert.is_nil(ok)
    assert.are.equal("$.b: expected number, got string", err)
  end)

  it("raises on a schema it cannot check", function()
    assert.error_matches(function() llm.validate({ type = "strnig" }, "x") end, "unknown type strnig", 1, true)
    assert.error_matches(function() llm.validate({ oneOf = {} }, "x") end, "keyword oneOf is not supported", 1, true)
    assert.error_matches(function() llm.validate({ type = "object", required = "a" }, {}) end,
      "required must be a list", 1, true)
  end)
end)

describe("the circuit breaker", function()
  it("opens after `failures` calls in a row that found the LLM down, then fails at once without a request", function()
    local m = new_model("breaker")
    local c = client("openai", m, { retries = 0, breaker = { failures = 2, cooldown = 0.3 } })
    script(m, { { status = 503 }, { status = 503 } })
    for _ = 1, 2 do assert.are.same({ nil, "unavailable" }, { c:chat{ messages = { { role = "user", content = "x" } } } }) end
    local t0 = time.monotonic()
    assert.are.same({ nil, "unavailable" }, { c:chat{ messages = { { role = "user", content = "x" } } } })
    assert.is_true(elapsed_since(t0) < 0.05)
    assert.are.equal(2, #sent(m))
    assert.are.equal("open", c.breaker.state)
  end)

  it("lets one probe through after the cool-down and closes when it gets an answer", function()
    local m = new_model("breaker-probe")
    local c = client("openai", m, { retries = 3, breaker = { failures = 1, cooldown = 0.2 } })
    script(m, { { status = 400 } })                      -- an answer, though an error: not a failure
    assert.are.same({ nil, "bad request" }, { c:chat{ messages = { { role = "user", content = "x" } } } })
    assert.are.equal("closed", c.breaker.state)
    script(m, { { status = 500 }, { status = 500 }, { status = 500 }, { status = 500 } })
    assert.are.same({ nil, "unavailable" }, { c:chat{ messages = { { role = "user", content = "x" } } } })
    assert.are.equal("open", c.breaker.state)
    time.sleep(0.25)
    script(m, { { content = "up again" } })
    local res = assert(c:chat{ messages = { { role = "user", content = "x" } } })
    assert.are.equal("up again", res.text)
    assert.are.equal("closed", c.breaker.state)
    assert.are.equal(1 + 4 + 1, #sent(m))                -- the probe was one attempt
  end)

  it("does not count a call that made no request (its deadline had passed)", function()
    local m = new_model("breaker-nodeadline")
    local c = client("openai", m, { retries = 0, breaker = { failures = 1, cooldown = 30 } })
    assert.are.same({ nil, "deadline" },
      { c:chat{ messages = { { role = "user", content = "x" } }, deadline = time.now() - 1 } })
    assert.are.equal("closed", c.breaker.state)
    assert.are.equal(0, #sent(m))
  end)

  it("names its endpoint in the metrics without a user, password or query string", function()
    local breaker = require("llm.breaker")
    assert.are.equal("http://h:1/v1", breaker.new{ endpoint = "http://u:secret@h:1/v1?key=k" }.endpoint)
    assert.are.equal(FAKE .. "/v1", client("openai", new_model("ep")).breaker.endpoint)
  end)

  it("is one per tenant and endpoint: a tenant's clients (its reps') share it", function()
    local tenant = "spec" .. crypto.random_hex(4)
    local opts = { provider = "openai", model = "m", base_url = FAKE .. "/v1", api_key = "sk-spec-0123456789" }
    local a, b = llm.client(opts, { tenant = tenant }), llm.client(opts, { tenant = tenant .. ".anna" })
    assert.are.equal(a.breaker, b.breaker)
    assert.are_not.equal(a.breaker, llm.client(opts, { tenant = "other" .. crypto.random_hex(4) }).breaker)
    assert.are_not.equal(llm.client(opts).breaker, llm.client(opts).breaker)   -- no tenant: its own
  end)

  it("is off with breaker = false", function()
    local m = new_model("breaker-off")
    local c = llm.client{ provider = "openai", model = m, base_url = FAKE .. "/v1", api_key = "sk-spec-0123456789",
                          retries = 0, breaker = false }
    script(m, { { status = 503 }, { status = 503 }, { status = 503 }, { status = 503 } })
    for _ = 1, 4 do c:chat{ messages = { { role = "user", content = "x" } } } end
    assert.are.equal(4, #sent(m))
  end)
end)
