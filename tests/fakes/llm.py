#!/usr/bin/env python3
"""Fake LLM provider (OpenAI Chat Completions + Anthropic Messages) for flowhost tests.

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 parsing is the fake
upstream's (tests/fakes/upstream.py). Wire shapes and error envelopes follow
shared/reference/wire-formats.md section 5.

Usage:
    python3 tests/fakes/llm.py --port 0 [--host 127.0.0.1] [--port-file PATH]
                               [--api-key KEY] [--no-auth]

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0.

Provider routes (POST):
  /v1/chat/completions   OpenAI shape. Auth: "Authorization: Bearer <key>".
  /v1/messages           Anthropic shape. Auth: "x-api-key: <key>" and
                         "anthropic-version" (missing version -> 400).
  Any non-empty key is accepted unless --api-key KEY is given (then only
  KEY); --no-auth accepts requests without a key (Ollama, llama.cpp).
  Bodies are checked as the real services do: 400 on bad JSON, missing
  model/messages (Anthropic: max_tokens), empty messages, a "system" role in
  Anthropic messages, tool results that answer no tool call, `required` or
  `messages` that are not arrays, strict OpenAI schemas whose objects do not
  list every property in `required` with additionalProperties false, a
  forced tool that is not among the tools, and "stream": true (not
  supported by this fake).

Scripting, per model name (each request for model M takes M's next step):
  POST /_control/script {"model": "m1", "steps": [step, ...]}   appends steps
  GET  /_control/requests?model=m1  {"requests": [{"method","path","headers"
       (lowercased),"body" (parsed JSON, or the raw text)}]}, every request
       received for that model, rejected ones included (no model: all)
  POST /_control/reset              forgets all steps and requests
A step (fields combine; "delay_ms" waits first, then the rest happens):
  {"status": 429, "retry_after": 1}     the provider's real error envelope for
      that status (429 rate limit, 500, 503, Anthropic 529 overloaded, 401,
      403, 404, 400...); optional "retry_after" (number or raw header text,
      e.g. an HTTP-date), "retry_after_ms", "should_retry" (x-should-retry),
      "message", "type", "code" to override the envelope
  {"status": 429, "quota": true}        OpenAI insufficient_quota (x-should-retry: false)
  {"status": 503, "loading": true}      llama.cpp "Loading model"
  {"delay_ms": 3000}                    answer late (normally, unless more fields)
  {"malformed": true}                   200 whose JSON body is cut in half
  {"reset": true}                       headers and half the body, then close
  {"content": "text"}                   a text answer
  {"json": {...}, "tool": "name"?}      structured answer in the form asked for:
      response_format -> message content (a JSON string); tools -> a tool call
      (OpenAI: arguments as a JSON string; Anthropic: tool_use with input)
  {"tool_calls": [{"name", "arguments": {...} or "raw text", "id"?}]}
      tool calls as given (raw text arguments can be malformed JSON)
  {"refusal": "text"}                   OpenAI message.refusal; Anthropic
                                        stop_reason "refusal"
  {"length": true}                      finish_reason "length" / stop_reason
                                        "max_tokens", content cut in half
With no step queued: chat answers the text "ok"; a structured request
(response_format json_schema, or a forced tool) answers the smallest value
the schema allows: every required property, "" for strings (minLength
x's), minimum or 0 for numbers, false, [] (minItems copies), the first enum
value; optional properties are left out.
"""
import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections import defaultdict, deque

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import (MAX_HEADER_BYTES, BadRequest, head_bytes, read_request, respond,  # noqa: E402
                      serve_until_stopped, vendor_args, run_vendor)

STEPS = defaultdict(deque)   # model -> steps to play
SEEN = defaultdict(list)     # model -> requests received
CONFIG = {"api_key": None, "no_auth": False}


class Reject(Exception):
    """A request the provider refuses: status and the provider's error body."""

    def __init__(self, status, body, headers=()):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, list(headers)


def rid(prefix, n=12):
    return prefix + secrets.token_hex(n)


def tokens(text):
    return len(text) // 4 + 1 if text else 0


# ---------------------------------------------------------------- errors

OPENAI_ERRORS = {  # status -> (type, code, message)
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported"),
    404: ("invalid_request_error", "model_not_found",
          "The model does not exist or you do not have access to it."),
    408: ("server_error", None, "Request timed out."),
    409: ("server_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded",
          "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None,
          "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later"),
}
ANTHROPIC_ERRORS = {  # status -> (type, message)
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    409: ("conflict_error", "Conflict."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


DEFAULT = object()


def openai_error(status, message=None, type_=None, code=DEFAULT, param=None):
    t, c, m = OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                         None, "Error."))
    return {"error": {"message": message or m, "type": type_ or t, "param": param,
                      "code": c if code is DEFAULT else code}}


def anthropic_error(status, message=None, type_=None):
    t, m = ANTHROPIC_ERRORS.get(status, ("api_error" if status >= 500 else "invalid_request_error",
                                         "Error."))
    return {"type": "error", "error": {"type": type_ or t, "message": message or m},
            "request_id": rid("req_")}


def reject(provider, status, message, param=None, code=None):
    """A check failing: code None is sent as null."""
    if provider == "openai":
        return Reject(status, openai_error(status, message, param=param, code=code))
    return Reject(status, anthropic_error(status, message))


def scripted_error(provider, step):
    status = int(step["status"])
    extra = []
    if "retry_after" in step:
        extra.append(("retry-after", str(step["retry_after"])))
    if "retry_after_ms" in step:
        extra.append(("retry-after-ms", str(step["retry_after_ms"])))
    if "should_retry" in step:
        extra.append(("x-should-retry", "true" if step["should_retry"] else "false"))
    if step.get("loading"):  # llama.cpp while the model loads
        return Reject(503, {"error": {"code": 503, "message": "Loading model",
                                      "type": "unavailable_error"}}, extra)
    if provider == "openai":
        if step.get("quota"):
            body = openai_error(429, "You exceeded your current quota, please check your plan and "
                                "billing details.", "insufficient_quota", "insufficient_quota")
            extra.append(("x-should-retry", "false"))
        else:
            body = openai_error(status, step.get("message"), step.get("type"),
                                step.get("code", DEFAULT))
    else:
        body = anthropic_error(status, step.get("message"), step.get("type"))
    return Reject(status, body, extra)


# ---------------------------------------------------------------- checks

def check_auth(provider, headers):
    if CONFIG["no_auth"]:
        return
    want = CONFIG["api_key"]
    if provider == "openai":
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            raise reject("openai", 401, "You didn't provide an API key. You need to provide your "
                         "API key in an Authorization header using Bearer auth (i.e. "
                         "Authorization: Bearer YOUR_KEY).")
        key = auth[7:].strip()
        if want is not None and key != want:
            shown = key[:3] + "*" * 4 + key[-4:] if len(key) > 8 else "*" * len(key)
            raise reject("openai", 401, f"Incorrect API key provided: {shown}.",
                         code="invalid_api_key")
    else:
        key = headers.get("x-api-key", "")
        if not key:
            raise reject("anthropic", 401, "x-api-key header is required")
        if want is not None and key != want:
            raise reject("anthropic", 401, "invalid x-api-key")


def check_schema(provider, where, s, strict, ctx=()):
    """The schema checks both providers make (and OpenAI's strict-mode rules)."""
    if not isinstance(s, dict):
        raise reject(provider, 400, f"Invalid schema for {where}: schema must be an object.")
    if "required" in s and not isinstance(s["required"], list):
        raise reject(provider, 400, f"Invalid schema for {where}: In context={tuple(ctx)}, "
                     f"{json.dumps(s['required'])} is not of type 'array'.")
    props = s.get("properties", {})
    if not isinstance(props, dict):
        raise reject(provider, 400, f"Invalid schema for {where}: In context={tuple(ctx)}, "
                     "'properties' is not of type 'object'.")
    types = s.get("type") if isinstance(s.get("type"), list) else [s.get("type")]
    if strict and ("object" in types or "properties" in s):
        if s.get("additionalProperties") is not False:
            raise reject(provider, 400, f"Invalid schema for {where}: In context={tuple(ctx)}, "
                         "'additionalProperties' is required to be supplied and to be false.")
        missing = [k for k in props if k not in s.get("required", [])]
        if missing:
            raise reject(provider, 400, f"Invalid schema for {where}: In context={tuple(ctx)}, "
                         "'required' is required to be supplied and to be an array including "
                         f"every key in properties. Missing '{missing[0]}'.")
    for name, sub in props.items():
        check_schema(provider, where, sub, strict, (*ctx, "properties", name))
    if "items" in s:
        check_schema(provider, where, s["items"], strict, (*ctx, "items"))


def check_openai(body):
    p = "openai"
    if not body.get("model"):
        raise reject(p, 400, "you must provide a model parameter")
    if "messages" not in body:
        raise reject(p, 400, "Missing required parameter: 'messages'.", "messages",
                     "missing_required_parameter")
    msgs = body["messages"]
    if not isinstance(msgs, list):
        raise reject(p, 400, "Invalid type for 'messages': expected an array of objects, but got "
                     f"{type(msgs).__name__} instead.", "messages", "invalid_type")
    if not msgs:
        raise reject(p, 400, "Invalid 'messages': empty array. Expected an array with minimum "
                     "length 1, but got an empty array instead.", "messages", "empty_array")
    if body.get("stream"):
        raise reject(p, 400, "stream is not supported by this fake", "stream")
    pending = set()
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in (
                "system", "developer", "user", "assistant", "tool"):
            raise reject(p, 400, f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role")
        if m["role"] == "tool":
            if m.get("tool_call_id") not in pending:
                raise reject(p, 400, "Invalid parameter: messages with role 'tool' must be a "
                             "response to a preceeding message with 'tool_calls'.",
                             f"messages.[{i}].role")
            pending.discard(m["tool_call_id"])
            continue
        if pending:
            raise reject(p, 400, "An assistant message with 'tool_calls' must be followed by tool "
                         "messages responding to each 'tool_call_id'. The following tool_call_ids "
                         f"did not have response messages: {', '.join(sorted(pending))}",
                         "messages")
        for c in m.get("tool_calls") or []:
            args = c.get("function", {}).get("arguments")
            if not isinstance(args, str):
                raise reject(p, 400, f"Invalid type for 'messages[{i}].tool_calls.function."
                             "arguments': expected a string.", "messages", "invalid_type")
            pending.add(c.get("id"))
    tools = body.get("tools")
    names = []
    if tools is not None:
        if not isinstance(tools, list):
            raise reject(p, 400, "Invalid type for 'tools': expected an array.", "tools",
                         "invalid_type")
        for t in tools:
            fn = t.get("function") if isinstance(t, dict) else None
            if not isinstance(fn, dict) or not fn.get("name"):
                raise reject(p, 400, "Missing required parameter: 'tools[0].function'.", "tools")
            names.append(fn["name"])
            check_schema(p, f"function '{fn['name']}'", fn.get("parameters", {}), fn.get("strict"))
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = choice.get("function", {}).get("name")
        if name not in names:
            raise reject(p, 400, f"Invalid value for 'tool_choice': function '{name}' not found "
                         "in 'tools'.", "tool_choice")
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        js = rf.get("json_schema")
        if not isinstance(js, dict) or not js.get("name"):
            raise reject(p, 400, "Missing required parameter: 'response_format.json_schema.name'.",
                         "response_format.json_schema.name", "missing_required_parameter")
        check_schema(p, f"response_format '{js['name']}'", js.get("schema", {}), js.get("strict"))


def check_anthropic(body, headers):
    p = "anthropic"
    if not headers.get("anthropic-version"):
        raise reject(p, 400, "anthropic-version: header is required")
    for field in ("model", "messages", "max_tokens"):
        if field not in body:
            raise reject(p, 400, f"{field}: Field required")
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        raise reject(p, 400, "max_tokens: Input should be a valid integer greater than 0")
    if body.get("stream"):
        raise reject(p, 400, "stream: not supported by this fake")
    msgs = body["messages"]
    if not isinstance(msgs, list):
        raise reject(p, 400, "messages: Input should be a valid list")
    if not msgs:
        raise reject(p, 400, "messages: at least one message is required")
    uses = set()
    for i, m in enumerate(msgs):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "system":
            raise reject(p, 400, 'messages: Unexpected role "system". The Messages API accepts a '
                         'top-level `system` parameter, not "system" as an input message role.')
        if role not in ("user", "assistant"):
            raise reject(p, 400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = m.get("content")
        blocks = content if isinstance(content, list) else []
        if not isinstance(content, (list, str)):
            raise reject(p, 400, f"messages.{i}.content: Input should be a valid list")
        for j, b in enumerate(blocks):
            if b.get("type") == "tool_result" and b.get("tool_use_id") not in uses:
                raise reject(p, 400, f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                             "`tool_result` blocks. Each `tool_result` block must have a "
                             "corresponding `tool_use` block in the previous message.")
            if b.get("type") == "tool_use" and not isinstance(b.get("input"), dict):
                raise reject(p, 400, f"messages.{i}.content.{j}.tool_use.input: Input should be "
                             "a valid dictionary")
        uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    tools = body.get("tools")
    names = []
    if tools is not None:
        if not isinstance(tools, list):
            raise reject(p, 400, "tools: Input should be a valid list")
        for i, t in enumerate(tools):
            if not isinstance(t, dict) or not t.get("name") or "input_schema" not in t:
                raise reject(p, 400, f"tools.{i}.input_schema: Field required")
            names.append(t["name"])
            check_schema(p, f"tools.{i}.input_schema", t["input_schema"], False)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool" and choice.get("name") not in names:
        raise reject(p, 400, f"tool_choice: Tool '{choice.get('name')}' not found in tools")


# ---------------------------------------------------------------- answers

def example(s):
    """The smallest value the schema allows (see the module doc)."""
    if not isinstance(s, dict):
        return None
    if "const" in s:
        return s["const"]
    if s.get("enum"):
        return s["enum"][0]
    t = s.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or (t is None and "properties" in s):
        props = s.get("properties", {})
        return {k: example(props.get(k, {})) for k in s.get("required", [])}
    if t == "array":
        return [example(s.get("items", {})) for _ in range(s.get("minItems", 0))]
    if t == "string":
        return "x" * s.get("minLength", 0)
    if t in ("integer", "number"):
        if "minimum" in s:
            return s["minimum"]
        if "exclusiveMinimum" in s:
            return s["exclusiveMinimum"] + 1
        return 0
    if t == "boolean":
        return False
    return None


def structured_form(provider, body):
    """('content'|'tool', schema, tool name) the request asks for, or None."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if provider == "openai":
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            return "content", (rf.get("json_schema") or {}).get("schema", {}), None
        byname = {t["function"]["name"]: t["function"].get("parameters", {}) for t in tools}
        if isinstance(choice, dict):
            name = choice["function"]["name"]
            return "tool", byname[name], name
        if choice == "required" and tools:
            name = tools[0]["function"]["name"]
            return "tool", byname[name], name
    else:
        byname = {t["name"]: t.get("input_schema", {}) for t in tools}
        if isinstance(choice, dict) and choice.get("type") == "tool":
            return "tool", byname[choice["name"]], choice["name"]
        if isinstance(choice, dict) and choice.get("type") == "any" and tools:
            return "tool", byname[tools[0]["name"]], tools[0]["name"]
    return None


def first_tool(provider, body):
    tools = body.get("tools") or []
    if not tools:
        return None
    return tools[0]["function"]["name"] if provider == "openai" else tools[0]["name"]


def plan(provider, body, step):
    """-> (text, calls [(id, name, arguments)], finish) from the step."""
    form = structured_form(provider, body)
    if "refusal" in step:
        return step["refusal"], [], "refusal"
    if "tool_calls" in step:
        calls = [(c.get("id"), c["name"], c.get("arguments", {})) for c in step["tool_calls"]]
        return None, calls, "tool_calls"
    if "json" in step or ("content" not in step and form):
        value = step["json"] if "json" in step else example(form[1])
        name = step.get("tool") or (form[2] if form and form[0] == "tool" else None)
        if name is None and not (form and form[0] == "content") and body.get("tools"):
            name = first_tool(provider, body)
        if name:
            return None, [(None, name, value)], "tool_calls"
        return json.dumps(value), [], "stop"
    return step.get("content", "ok"), [], "stop"


def input_text(body):
    parts = [body.get("system") or ""]
    for m in body.get("messages", []):
        c = m.get("content")
        parts.append(c if isinstance(c, str) else json.dumps(c))
    return "".join(parts)


def openai_answer(body, step):
    text, calls, finish = plan("openai", body, step)
    msg = {"role": "assistant", "content": None, "refusal": None}
    if finish == "refusal":
        msg["refusal"], finish = text, "stop"
    elif calls:
        msg["tool_calls"] = [
            {"id": cid or rid("call_", 12), "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for cid, name, args in calls]
    else:
        msg["content"] = text
    if step.get("length"):
        finish = "length"
        if msg["content"]:
            msg["content"] = msg["content"][: max(1, len(msg["content"]) // 2)]
        for c in msg.get("tool_calls", []):
            c["function"]["arguments"] = c["function"]["arguments"][: len(c["function"]["arguments"]) // 2]
    out = msg["content"] or msg["refusal"] or json.dumps(msg.get("tool_calls", ""))
    prompt, completion = tokens(input_text(body)), tokens(out)
    return {
        "id": rid("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
        "model": body["model"], "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }


def anthropic_answer(body, step):
    text, calls, finish = plan("anthropic", body, step)
    content = []
    stop = {"stop": "end_turn", "tool_calls": "tool_use", "refusal": "refusal"}[finish]
    if text:
        content.append({"type": "text", "text": text})
    for cid, name, args in calls:
        content.append({"type": "tool_use", "id": cid or rid("toolu_01", 11), "name": name,
                        "input": args})
    if step.get("length"):
        stop = "max_tokens"
        if text:
            content[0]["text"] = text[: max(1, len(text) // 2)]
    return {
        "id": rid("msg_01", 11), "type": "message", "role": "assistant", "model": body["model"],
        "content": content, "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": tokens(input_text(body)),
                  "output_tokens": tokens(json.dumps(content)),
                  "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }


# ---------------------------------------------------------------- serving

async def serve_llm(provider, req, writer, keep_alive):
    id_header = ("x-request-id", rid("req_")) if provider == "openai" else ("request-id", rid("req_01"))
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        body = None
    model = body.get("model") if isinstance(body, dict) else None
    SEEN[model if isinstance(model, str) else ""].append({
        "method": req.method, "path": req.path, "headers": req.headers,
        "body": body if body is not None else req.body.decode("utf-8", "replace")})
    try:
        if req.method != "POST":
            raise reject(provider, 405, f"Invalid method for URL ({req.method} {req.path})")
        check_auth(provider, req.headers)
        if not isinstance(body, dict):
            raise reject(provider, 400, "We could not parse the JSON body of your request. (HINT: "
                         "This likely means you aren't using your HTTP library correctly. The "
                         "OpenAI API expects a JSON payload, but what was sent was not valid JSON."
                         if provider == "openai" else "There was an error parsing the body of "
                         "your request as JSON.")
        try:
            if provider == "openai":
                check_openai(body)
            else:
                check_anthropic(body, req.headers)
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # a shape no check foresaw
            raise reject(provider, 400, f"malformed request: {e!r}") from None
        queue = STEPS.get(model)
        step = queue.popleft() if queue else {}
        if step.get("delay_ms"):
            await asyncio.sleep(step["delay_ms"] / 1000)
        if "status" in step and not 200 <= int(step["status"]) < 300:
            raise scripted_error(provider, step)
    except Reject as r:
        await respond(writer, req, r.status, r.body, keep_alive, extra=[id_header, *r.headers])
        return keep_alive
    answer = openai_answer(body, step) if provider == "openai" else anthropic_answer(body, step)
    data = json.dumps(answer).encode()
    if step.get("malformed"):
        data = data[: len(data) // 2]
    if step.get("reset"):
        writer.write(head_bytes(200, len(data), "application/json", True, [id_header]))
        writer.write(data[: len(data) // 2])
        await writer.drain()
        return False
    await respond(writer, req, 200, data, keep_alive, extra=[id_header])
    return keep_alive


async def control(req, writer, keep_alive):
    if req.path == "/_control/script" and req.method == "POST":
        try:
            msg = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            msg = None
        if (not isinstance(msg, dict) or not isinstance(msg.get("model"), str)
                or not isinstance(msg.get("steps"), list)
                or not all(isinstance(s, dict) for s in msg["steps"])):
            await respond(writer, req, 400, {"error": 'expected {"model": str, "steps": [{...}]}'},
                          keep_alive)
        else:
            STEPS[msg["model"]].extend(msg["steps"])
            await respond(writer, req, 200, {"queued": len(STEPS[msg["model"]])}, keep_alive)
    elif req.path == "/_control/requests" and req.method == "GET":
        model = req.params.get("model")
        seen = SEEN.get(model, []) if model is not None else [r for rs in SEEN.values() for r in rs]
        await respond(writer, req, 200, {"requests": seen}, keep_alive)
    elif req.path == "/_control/reset" and req.method == "POST":
        STEPS.clear()
        SEEN.clear()
        await respond(writer, req, 200, {"reset": True}, keep_alive)
    else:
        await respond(writer, req, 404, {"error": "not found"}, keep_alive)
    return keep_alive


async def route(req, writer, keep_alive):
    if req.path == "/v1/chat/completions":
        return await serve_llm("openai", req, writer, keep_alive)
    if req.path == "/v1/messages":
        return await serve_llm("anthropic", req, writer, keep_alive)
    if req.path.startswith("/_control/"):
        return await control(req, writer, keep_alive)
    await respond(writer, req, 404, {"error": "not found"}, keep_alive)
    return keep_alive




async def main():
    ap = vendor_args(__doc__)
    ap.add_argument("--api-key", help="accept only this key (default: any non-empty key)")
    ap.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    args = ap.parse_args()
    CONFIG["api_key"], CONFIG["no_auth"] = args.api_key, args.no_auth

    await run_vendor(args, route)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
