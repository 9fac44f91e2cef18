#!/usr/bin/env python3
"""Fake Vapi server-URL webhooks (Vapi calling OUR server during a voice call).

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 server side is the
fake upstream's (tests/fakes/upstream.py). Wire shapes and edge cases follow
shared/reference/wire-formats.md section 4. Vapi has no API we call here: the
fake only *sends* webhooks, driven by the control API below.

Usage:
    python3 tests/fakes/vapi.py --port 0 [--host 127.0.0.1] [--port-file PATH]

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0.

Common control fields (JSON objects):
  "url"        our server URL (http:// only), required
  "auth"       {"mode": "bearer" | "x-vapi-secret" | "none", "secret": S,
               "header": name?, "prefix": true?}   (default: none)
               bearer        -> Authorization: Bearer S (Bearer Token
                                credential; "header" renames the header,
                                "prefix": false drops "Bearer ")
               x-vapi-secret -> X-Vapi-Secret: S (legacy server.secret)
               none          -> no auth header
  "headers"    {name: value} extra static headers (server.headers)
  "call_id"    call.id (default: a fresh uuid4)
  "call"       {...} merged over the call object {"id", "orgId",
               "assistantId", "customer": {"number"}} (defaults: fixed
               org/assistant uuids of this fake, customer "+919876543210";
               "org_id", "assistant_id", "customer_number" also override)
  "timeout_ms" how long Vapi waits for the answer (default 20000 =
               server.timeoutSeconds 20); no retry (no backoffPlan)

Control API (JSON in and out; anything else -> 404):
  POST /_control/tool_calls {..., "calls": [{"id": "toolu_...", "name": "...",
       "arguments": {...} | "json string", "parameters": {schema}?}]}
       POSTs {"message": {"type": "tool-calls", "timestamp": <ms>, "call",
       "toolCallList": [{"id", "type": "function", "function": {"name",
       "arguments"}}], "toolWithToolCallList": [{"type": "function",
       "function": {"name", "parameters"}, "server": {"url"}, "messages": [],
       "toolCall": {...}}]}} (arguments sent exactly as given: object or
       string; parameters default to a schema guessed from the arguments),
       then checks OUR answer as Vapi does: HTTP 200, a JSON object with a
       "results" list, one entry per toolCallId (any order, exact ids, no
       unknown or duplicate ids), each with "result" or "error" being a
       single-line string (no \\n or \\r) ->
       {"status", "body", "elapsed_ms", "valid": bool, "problems": [...],
        "results": {toolCallId: result-or-error string}, "kinds":
        {toolCallId: "result" | "error"}}.
       No answer within timeout_ms -> status null, "problems": ["timeout"];
       connection failures -> status null, "problems": ["connection error: ..."].
  POST /_control/event {..., "type": "end-of-call-report" | "status-update"
       | "transcript", ...fields} POSTs the informational event ->
       {"status", "body", "elapsed_ms"} (status null and body "error: ..."
       when the exchange failed or timed out).
       end-of-call-report: "endedReason" (default "customer-ended-call"),
           "summary", "durationSeconds", "artifact" {"transcript",
           "messages", "recording"} (top-level "transcript", "messages",
           "recording" fields fill the artifact), plus startedAt, endedAt,
           cost, analysis.
       status-update: "status" in scheduled, queued, ringing, in-progress,
           forwarding, ended (default in-progress); "endedReason" when
           ended (default "customer-ended-call").
       transcript: "role" (user|assistant, default user), "transcriptType"
           (partial|final, default final), "transcript" (default "Hello").
       Any other field given is copied into the message as is.
  POST /_control/assistant_request {...} POSTs {"message": {"type":
       "assistant-request", "timestamp", "call"}} (an inbound call to a
       number without an assistant) with Vapi's 7.5 s limit (timeout_ms
       default 7500) and checks OUR answer: HTTP 200 and a JSON object with
       exactly one of "assistantId" (a non-empty string), "assistant" (an
       object), "destination" ({"type": "number", "phoneNumber": "+..."})
       or "error" (a string: Vapi ends the call with it) ->
       {"status", "body", "elapsed_ms", "valid", "problems", "answer"}.
  GET  /_control/sent   {"sent": [{"kind", "url", "headers", "payload",
       "status", "body", "elapsed_ms", "at"}, ...]} every webhook sent so far
  POST /_control/reset  forgets the records
"""
import asyncio
import json
import os
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import control_json, dumps, http_target, respond, run_vendor, try_request, vendor_args  # noqa: E402

ORG_ID = str(uuid.uuid4())
ASSISTANT_ID = str(uuid.uuid4())
DEFAULT_CUSTOMER = "+919876543210"
DEFAULT_TIMEOUT_MS = 20000
STATUSES = ("scheduled", "queued", "ringing", "in-progress", "forwarding", "ended")
EVENT_TYPES = ("end-of-call-report", "status-update", "transcript")
CONTROL_KEYS = {"url", "auth", "headers", "call_id", "call", "timeout_ms", "type",
                "org_id", "assistant_id", "customer_number", "calls"}
SENT = []


class Invalid(ValueError):
    """A malformed control request (-> 400)."""


def now_ms():
    return int(time.time() * 1000)


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


# ---------------------------------------------------------------- outgoing HTTP

def auth_headers(auth):
    if auth is None:
        return []
    if not isinstance(auth, dict):
        raise Invalid('auth must be {"mode": ..., "secret": ...}')
    mode = str(auth.get("mode", "none")).lower()
    if mode == "none":
        return []
    secret = auth.get("secret")
    if not isinstance(secret, str):
        raise Invalid(f"auth mode {mode} needs a string secret")
    if mode == "bearer":
        name = auth.get("header") or "Authorization"
        value = f"Bearer {secret}" if auth.get("prefix", True) else secret
        return [(str(name), value)]
    if mode == "x-vapi-secret":
        return [("X-Vapi-Secret", secret)]
    raise Invalid("auth mode must be bearer, x-vapi-secret or none")


def request_headers(msg):
    headers = auth_headers(msg.get("auth"))
    extra = msg.get("headers") or {}
    if not isinstance(extra, dict):
        raise Invalid("headers must be an object")
    headers += [(str(k), str(v)) for k, v in extra.items()]
    for k, v in headers:
        if not k or ":" in k or any(c in k + v for c in "\r\n"):
            raise Invalid(f"bad header {k!r}")
    return headers


async def send(kind, msg, payload):
    """POSTs payload to msg["url"] -> the record (status None on failure)."""
    url = msg.get("url")
    if not isinstance(url, str) or not url:
        raise Invalid("url is required")
    http_target(url)
    headers = request_headers(msg)
    timeout_ms = msg.get("timeout_ms", DEFAULT_TIMEOUT_MS)
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, (int, float)) or timeout_ms <= 0:
        raise Invalid("timeout_ms must be a positive number")
    record = {"kind": kind, "url": url, "headers": dict(headers), "payload": payload,
              "status": None, "body": None, "elapsed_ms": None, "at": time.time(), "failure": None}
    SENT.append(record)
    start = time.monotonic()
    a = await try_request("POST", url, dumps(payload), [("Content-Type", "application/json"), *headers],
                          timeout_ms / 1000)
    record["status"], record["body"] = a.status, a.body
    if isinstance(a.error, asyncio.TimeoutError):
        record["failure"] = "timeout"
        record["body"] = f"error: no answer within {timeout_ms:.0f} ms"
    elif a.error is not None:
        record["failure"] = f"connection error: {a.error!r}"
    record["elapsed_ms"] = round((time.monotonic() - start) * 1000, 1)
    return record


# ---------------------------------------------------------------- payloads

def call_object(msg):
    call_id = msg.get("call_id") or str(uuid.uuid4())
    call = {"id": str(call_id),
            "orgId": msg.get("org_id") or ORG_ID,
            "assistantId": msg.get("assistant_id") or ASSISTANT_ID,
            "customer": {"number": msg.get("customer_number") or DEFAULT_CUSTOMER}}
    extra = msg.get("call")
    if extra is not None:
        if not isinstance(extra, dict):
            raise Invalid("call must be an object")
        call.update(extra)
    return call


def json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "string"


def guess_schema(arguments):
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            arguments = {}
    if not isinstance(arguments, dict):
        arguments = {}
    return {"type": "object",
            "properties": {k: {"type": json_type(v)} for k, v in arguments.items()},
            "required": []}


def tool_calls_payload(msg):
    calls = msg.get("calls")
    if not isinstance(calls, list) or not calls or not all(isinstance(c, dict) for c in calls):
        raise Invalid('calls must be a non-empty list of {"id", "name", "arguments"}')
    tool_call_list, with_list, ids = [], [], []
    for c in calls:
        cid = c.get("id") or "toolu_" + uuid.uuid4().hex[:24]
        name = c.get("name")
        if not isinstance(name, str) or not name:
            raise Invalid("every call needs a name")
        args = c.get("arguments", {})
        if not isinstance(args, (dict, str)):
            raise Invalid("arguments must be an object or a JSON string")
        tool_call = {"id": str(cid), "type": "function",
                     "function": {"name": name, "arguments": args}}
        ids.append(str(cid))
        tool_call_list.append(tool_call)
        with_list.append({"type": "function",
                          "function": {"name": name,
                                       "parameters": c.get("parameters") or guess_schema(args)},
                          "server": {"url": msg["url"]},
                          "messages": [],
                          "toolCall": json.loads(json.dumps(tool_call))})
    if len(set(ids)) != len(ids):
        raise Invalid("tool call ids must be distinct")
    message = {"type": "tool-calls", "timestamp": now_ms(), "call": call_object(msg),
               "toolCallList": tool_call_list, "toolWithToolCallList": with_list}
    return {"message": message}, ids


def default_messages(start):
    start = int(start * 1000)
    return [
        {"role": "system", "message": "You are the booking assistant.", "time": start,
         "secondsFromStart": 0},
        {"role": "bot", "message": "Hello, how can I help you today?",
         "time": start + 400, "endTime": start + 2100, "secondsFromStart": 0.4,
         "duration": 1700},
        {"role": "user", "message": "I would like to book an appointment.",
         "time": start + 3000, "endTime": start + 5200, "secondsFromStart": 3.0,
         "duration": 2200},
    ]


def event_payload(msg):
    etype = msg.get("type")
    if etype not in EVENT_TYPES:
        raise Invalid(f"type must be one of {', '.join(EVENT_TYPES)}")
    message = {"type": etype, "timestamp": now_ms(), "call": call_object(msg)}
    fields = {k: v for k, v in msg.items() if k not in CONTROL_KEYS}
    if etype == "status-update":
        status = fields.pop("status", "in-progress")
        if status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        message["status"] = status
        if status == "ended":
            message["endedReason"] = fields.pop("endedReason", "customer-ended-call")
    elif etype == "transcript":
        message["role"] = fields.pop("role", "user")
        message["transcriptType"] = fields.pop("transcriptType", "final")
        message["transcript"] = fields.pop("transcript", "Hello")
    else:  # end-of-call-report
        duration = fields.pop("durationSeconds", 42.5)
        ended = time.time()
        started = ended - float(duration)
        artifact = fields.pop("artifact", None) or {}
        if not isinstance(artifact, dict):
            raise Invalid("artifact must be an object")
        artifact = dict(artifact)
        for key in ("transcript", "messages", "recording"):
            if key in fields:
                artifact[key] = fields.pop(key)
        artifact.setdefault("messages", default_messages(started))
        artifact.setdefault("transcript", "AI: Hello, how can I help you today?\n"
                                          "User: I would like to book an appointment.\n")
        rec_base = f"https://storage.vapi.ai/{message['call']['id']}"
        artifact.setdefault("recording", {
            "stereoUrl": f"{rec_base}-stereo.wav",
            "mono": {"combinedUrl": f"{rec_base}-mono.wav",
                     "assistantUrl": f"{rec_base}-assistant.wav",
                     "customerUrl": f"{rec_base}-customer.wav"}})
        if isinstance(artifact["recording"], dict) and "recordingUrl" not in artifact:
            mono = artifact["recording"].get("mono") or {}
            if isinstance(mono, dict) and mono.get("combinedUrl"):
                artifact["recordingUrl"] = mono["combinedUrl"]
        summary = fields.pop("summary", "The caller asked to book an appointment.")
        message.update({
            "endedReason": fields.pop("endedReason", "customer-ended-call"),
            "summary": summary,
            "durationSeconds": duration,
            "startedAt": fields.pop("startedAt", iso(started)),
            "endedAt": fields.pop("endedAt", iso(ended)),
            "cost": fields.pop("cost", 0.0731),
            "analysis": fields.pop("analysis", {"summary": summary, "successEvaluation": "true"}),
            "artifact": artifact,
        })
    message.update(fields)
    return {"message": message}


# ---------------------------------------------------------------- validation

def check_tool_answer(record, ids):
    """Vapi's reading of OUR answer to tool-calls -> (problems, results, kinds)."""
    if record["failure"]:
        return [record["failure"]], {}, {}
    problems, results, kinds = [], {}, {}
    if record["status"] != 200:
        problems.append(f"HTTP status {record['status']}: Vapi ignores any answer that is not 200")
    try:
        answer = json.loads(record["body"])
    except ValueError:
        problems.append("body is not JSON")
        return problems, results, kinds
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        problems.append('body is not a JSON object with a "results" list')
        return problems, results, kinds
    seen = set()
    for i, entry in enumerate(answer["results"]):
        if not isinstance(entry, dict):
            problems.append(f"results[{i}] is not an object")
            continue
        tcid = entry.get("toolCallId")
        if not isinstance(tcid, str):
            problems.append(f"results[{i}] has no string toolCallId")
            continue
        if tcid not in ids:
            problems.append(f"results[{i}] toolCallId {tcid!r} matches no tool call")
            continue
        if tcid in seen:
            problems.append(f"duplicate result for toolCallId {tcid!r}")
            continue
        seen.add(tcid)
        kind = "result" if "result" in entry else "error" if "error" in entry else None
        if kind is None:
            problems.append(f"result for {tcid!r} has neither result nor error")
            continue
        value = entry[kind]
        if not isinstance(value, str):
            problems.append(f"{kind} for {tcid!r} is not a string but {json.dumps(value)[:80]}")
            continue
        if "\n" in value or "\r" in value:
            problems.append(f"{kind} for {tcid!r} is not a single line")
        results[tcid], kinds[tcid] = value, kind
    for tcid in ids:
        if tcid not in seen:
            problems.append(f"no result for toolCallId {tcid!r}")
    return problems, results, kinds


def check_assistant_answer(record):
    """Vapi's reading of OUR answer to assistant-request -> (problems, answer)."""
    if record["failure"]:
        return [record["failure"]], None
    if record["status"] != 200:
        return [f"HTTP status {record['status']}: the call fails"], None
    try:
        answer = json.loads(record["body"])
    except ValueError:
        return ["body is not JSON"], None
    if not isinstance(answer, dict):
        return ["body is not a JSON object"], None
    given = [k for k in ("assistantId", "assistant", "destination", "error") if k in answer]
    if len(given) != 1:
        return [f"expected exactly one of assistantId, assistant, destination, error; got {given}"], answer
    k = given[0]
    v = answer[k]
    if k == "assistantId" and not (isinstance(v, str) and v):
        return ["assistantId must be a non-empty string"], answer
    if k == "assistant" and not isinstance(v, dict):
        return ["assistant must be an object"], answer
    if k == "destination" and not (isinstance(v, dict) and v.get("type") == "number"
                                   and isinstance(v.get("phoneNumber"), str) and v["phoneNumber"].startswith("+")):
        return ['destination must be {"type": "number", "phoneNumber": "+..."}'], answer
    if k == "error" and not isinstance(v, str):
        return ["error must be a string"], answer
    return [], answer


# ---------------------------------------------------------------- control

async def control_post(path, msg):
    if path == "/_control/tool_calls":
        if not isinstance(msg.get("url"), str) or not msg["url"]:
            raise Invalid("url is required")
        payload, ids = tool_calls_payload(msg)
        record = await send("tool-calls", msg, payload)
        problems, results, kinds = check_tool_answer(record, ids)
        return 200, {"status": record["status"], "body": record["body"],
                     "elapsed_ms": record["elapsed_ms"], "valid": not problems,
                     "problems": problems, "results": results, "kinds": kinds}
    if path == "/_control/assistant_request":
        msg = dict(msg)
        msg.setdefault("timeout_ms", 7500)
        payload = {"message": {"type": "assistant-request", "timestamp": now_ms(), "call": call_object(msg)}}
        record = await send("assistant-request", msg, payload)
        problems, answer = check_assistant_answer(record)
        return 200, {"status": record["status"], "body": record["body"], "elapsed_ms": record["elapsed_ms"],
                     "valid": not problems, "problems": problems, "answer": answer}
    if path == "/_control/event":
        payload = event_payload(msg)
        record = await send(payload["message"]["type"], msg, payload)
        return 200, {"status": record["status"], "body": record["body"],
                     "elapsed_ms": record["elapsed_ms"]}
    if path == "/_control/reset":
        SENT.clear()
        return 200, {"reset": True}
    return 404, {"error": "not found"}


async def route(req, writer, keep_alive):
    if req.path == "/_control/sent" and req.method == "GET":
        await respond(writer, req, 200, dumps({"sent": SENT}), keep_alive)
        return keep_alive
    if not req.path.startswith("/_control/"):
        await respond(writer, req, 404, {"error": "not found"}, keep_alive)
        return keep_alive
    return await control_json(req, writer, keep_alive, control_post, (Invalid, TypeError, ValueError))


async def main():
    args = vendor_args(__doc__).parse_args()
    await run_vendor(args, route)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
