#!/usr/bin/env python3
"""Fake WAPI (the car-service seed's WhatsApp provider) plus a webhook deliverer for flowhost integration tests.

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 server side is the
fake upstream's (tests/fakes/upstream.py: vendor_args, run_vendor).

Usage:
    python3 tests/fakes/wapi.py --port 0 [--host 127.0.0.1] [--port-file PATH]
                                [--token T] [--secret S]
    python3 tests/fakes/wapi.py --self-test    (signature vector and validation, exits 0)

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0. --token is the one Bearer token the API
takes (unset: any non-empty token), --secret the default webhook secret of
/_control/deliver; both can be set later with /_control/config.

What is known and what is ASSUMED. The outbound endpoints and their request
fields are the seed's (../shared/seeds/carwash-whatsapp-checklist.txt, "WAPI
Integration"): POST {api_url}/contact/send-message, send-interactive-message,
send-template-message, send-media-message, JSON bodies, "Authorization:
Bearer <token>". Everything else is assumed, as in scripts/channels/wapi.lua:
WAPI's answers (success and error shapes), its limits, and its inbound
webhook (the shape and the X-Wapi-Signature header). The inbound field names
are in FIELDS and the header in SIGNATURE_HEADER, mirroring the adapter's
table: correct both when WAPI's real format is known.

API: POST <any prefix>/contact/<endpoint> (the prefix is the api_url's path,
e.g. /api/v1; it is recorded but not checked), a JSON object body.
  Auth: "Authorization: Bearer <token>"; missing, not Bearer, or (with a
      configured token) a different one -> 401 {"status": "error",
      "message": "Unauthenticated."}.
  Validation (-> 400 {"status": "error", "message": "The <field> field is
      required." | "The <field> field is invalid: <why>", "field": "<field>"};
      the first problem found, in the order below):
    every endpoint: phone_number, digits with an optional leading "+",
        10-15 digits.
    send-message: message_body, a non-empty string of at most 4096 chars
        ("contact", the seed's optional contact info, is taken as is).
    send-interactive-message: interactive_type "button"; body_text, 1-1024
        chars; buttons, a list of 1-3 {id: 1-256 chars, title: 1-20 chars},
        ids distinct.
    send-template-message: template_name; template_language (a string);
        field_1, field_2, ... strings when given.
    send-media-message: media_type image|video|audio|document; media_url,
        an http(s) URL; file_name for documents; caption <= 1024 when given.
  Success: 200 {"status": "success", "message": "Message sent successfully.",
      "message_id": "wapi_<hex>"} (ASSUMED; the adapter reads message_id).
  Unknown path -> 404 {"status": "error", "message": "Not found."}; another
      method on an endpoint -> 405.

Every call on an endpoint is recorded, failed and dropped ones included:
{"path" (as requested), "endpoint" ("send-message", ...), "params" (the JSON
body, or {} when it was not a JSON object), "status" (null for dropped
connections), "at" (unix seconds, float), "id" (the message_id, or null),
"error" (the error message, or null)}.

Control API (JSON in and out):
  POST /_control/script {"steps": [step, ...]} appends steps; each API call
       takes the first step, before normal handling. Fields combine:
       {"delay_ms": M}       wait M ms first (then the rest, or normal handling)
       {"close": true}       drop the connection without answering
       {"status": 429[, "retry_after": N]}  "Too many requests." (Retry-After
                             header only when retry_after is given)
       {"status": 500}       "Server error." (any other status: its phrase)
       {"message": "..."}    overrides the error's text
  GET  /_control/sent   {"sent": [record, ...]} (?endpoint=E: only those)
  POST /_control/reset  forgets steps, records and what was sent, and the
       config (back to the command line's)
  POST /_control/config {"token": T | null, "secret": S | null} -> the config
  POST /_control/make_message {"from": phone, "name"?, "id"?, one of
       "text": "hi" | "button_id": "confirm" [, "title"] | "type": "image" ...}
       -> the inbound webhook payload as ASSUMED ({"contact": {...},
       "message": {...}}). A button reply's body is the title we last sent
       for that id to that number (else "title", else the id).
  POST /_control/deliver {"url": U, "payload": {...} | "raw text",
       "secret"?: S, "signature": "good"|"bad"|"missing", "times": 1,
       "gap_ms": 0, "parallel": false, "timeout_ms": 10000, "headers"?: {...}}
       POSTs the payload: compact JSON (UTF-8; a string payload is sent as its
       UTF-8 bytes), Content-Type: application/json, X-Wapi-Signature:
       sha256=<hex HMAC-SHA256 of the body with the secret> ("bad": signed
       with another secret, "missing": no header) ->
       {"statuses": [...], "bodies": [...], "signature": "sha256=..."|null}
       (status null, body "error: ..." for a failed exchange).
"""
import asyncio
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import sys
import time
from collections import deque
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import control_json, deliver_webhook, dumps, http_target, respond, run_vendor, vendor_args  # noqa: E402

API_PATH = re.compile(r"(/.*)?/contact/(send-message|send-interactive-message|send-template-message"
                      r"|send-media-message)/?")
PHONE_RE = re.compile(r"\+?\d{10,15}")
MEDIA_TYPES = ("image", "video", "audio", "document")
JSON_TYPE = "application/json"
# ASSUMED inbound format: the same names as FIELDS in scripts/channels/wapi.lua
SIGNATURE_HEADER = "X-Wapi-Signature"
FIELDS = {"contact": "contact", "phone": "phone_number", "name": "name",
          "message": "message", "id": "id", "type": "type", "text": "body", "button": "button_id"}

STEPS = deque()          # scripted steps, taken one per API call
SENT = []                # call records
BUTTONS = {}             # phone number -> {button id: title} of the last interactive message
CLI = {"token": None, "secret": None}
CONFIG = {}


def default_config():
    return {"token": CLI["token"], "secret": CLI["secret"]}


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- the API

class WapiError(Exception):
    def __init__(self, status, message, field=None, headers=()):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, list(headers)

    def body(self):
        out = {"status": "error", "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


def required(p, name):
    v = p.get(name)
    if v is None or (isinstance(v, str) and not v.strip()):
        raise WapiError(400, f"The {name} field is required.", name)
    return v


def invalid(name, why):
    return WapiError(400, f"The {name} field is invalid: {why}", name)


def text(p, name, hi, lo=1, optional=False):
    if optional and p.get(name) is None:
        return None
    v = required(p, name) if lo else p.get(name)
    if not isinstance(v, str):
        raise invalid(name, "must be a string")
    if not lo <= len(v) <= hi:
        raise invalid(name, f"must be {lo}-{hi} characters")
    return v


def check(endpoint, p):
    """Raises WapiError naming the first bad field of this endpoint's request."""
    phone = required(p, "phone_number")
    if not isinstance(phone, str) or not PHONE_RE.fullmatch(phone):
        raise invalid("phone_number", "expected 10-15 digits")
    if endpoint == "send-message":
        text(p, "message_body", 4096)
    elif endpoint == "send-interactive-message":
        if required(p, "interactive_type") != "button":
            raise invalid("interactive_type", 'only "button" is supported')
        text(p, "body_text", 1024)
        buttons = required(p, "buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise invalid("buttons", "expected a list of 1-3 buttons")
        for i, b in enumerate(buttons):
            if not isinstance(b, dict):
                raise invalid(f"buttons.{i}", "expected {id, title}")
            for key, hi in (("id", 256), ("title", 20)):
                if not isinstance(b.get(key), str) or not 1 <= len(b[key]) <= hi:
                    raise invalid(f"buttons.{i}.{key}", f"must be 1-{hi} characters")
        if len({b["id"] for b in buttons}) != len(buttons):
            raise invalid("buttons", "button ids must be distinct")
    elif endpoint == "send-template-message":
        text(p, "template_name", 512)
        text(p, "template_language", 16)
        for k, v in p.items():
            if re.fullmatch(r"field_\d+", k) and not isinstance(v, str):
                raise invalid(k, "must be a string")
    elif endpoint == "send-media-message":
        if required(p, "media_type") not in MEDIA_TYPES:
            raise invalid("media_type", f"must be one of {', '.join(MEDIA_TYPES)}")
        url = text(p, "media_url", 2048)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise invalid("media_url", "must be an http(s) URL")
        if p["media_type"] == "document":
            text(p, "file_name", 240)
        text(p, "caption", 1024, lo=0, optional=True)


def bearer(req):
    auth = req.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise WapiError(401, "Unauthenticated.")
    if CONFIG["token"] is not None and not hmac.compare_digest(token, str(CONFIG["token"])):
        raise WapiError(401, "Unauthenticated.")


def scripted_error(step):
    status = int(step["status"])
    headers = [("Retry-After", str(step["retry_after"]))] if "retry_after" in step else []
    default = {429: "Too many requests.", 500: "Server error."}.get(status)
    if default is None:
        try:
            default = http.client.responses[status] + "."
        except KeyError:
            default = "Error."
    return WapiError(status, step.get("message") or default, headers=headers)


async def api_call(req, path, endpoint):
    """-> (status, body, headers), or None to drop the connection."""
    record = {"path": path, "endpoint": endpoint, "params": {}, "status": None, "at": time.time(),
              "id": None, "error": None}
    SENT.append(record)
    try:
        p = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        p = None
    record["params"] = p if isinstance(p, dict) else {}
    try:
        if STEPS:
            step = STEPS.popleft()
            if step.get("delay_ms"):
                await asyncio.sleep(step["delay_ms"] / 1000)
            if step.get("close"):
                record["error"] = "dropped"
                return None
            if "status" in step:
                raise scripted_error(step)
        if req.method != "POST":
            raise WapiError(405, "Method not allowed.", headers=[("Allow", "POST")])
        bearer(req)
        if not isinstance(p, dict):
            raise WapiError(400, "The request body must be a JSON object.")
        check(endpoint, p)
    except WapiError as e:
        record["status"], record["error"] = e.status, e.message
        return e.status, e.body(), e.headers
    record["status"] = 200
    record["id"] = "wapi_" + secrets.token_hex(12)
    if endpoint == "send-interactive-message":
        BUTTONS[p["phone_number"]] = {b["id"]: b["title"] for b in p["buttons"]}
    return 200, {"status": "success", "message": "Message sent successfully.",
                 "message_id": record["id"]}, []


# ---------------------------------------------------------------- inbound webhooks

def make_message(spec):
    """-> the inbound payload as ASSUMED (see the module doc)."""
    phone = spec.get("from")
    if not isinstance(phone, str) or not phone:
        raise ValueError("from (the customer's phone number) is required")
    m = {FIELDS["id"]: str(spec.get("id") or "wapi_in_" + secrets.token_hex(10))}
    if spec.get("button_id") is not None:
        bid = str(spec["button_id"])
        m[FIELDS["type"]] = "button"
        m[FIELDS["button"]] = bid
        m[FIELDS["text"]] = str(BUTTONS.get(phone, {}).get(bid) or spec.get("title") or bid)
    elif spec.get("text") is not None:
        m[FIELDS["type"]] = "text"
        m[FIELDS["text"]] = str(spec["text"])
    else:
        m[FIELDS["type"]] = str(spec.get("type") or "image")   # a message with no text
    contact = {FIELDS["phone"]: phone}
    if spec.get("name") is not None:
        contact[FIELDS["name"]] = str(spec["name"])
    return {FIELDS["contact"]: contact, FIELDS["message"]: m}


async def deliver(msg):
    mode = msg.get("signature", "good")
    secret = msg.get("secret", CONFIG["secret"])

    def sign_headers(data):
        if mode not in ("good", "bad", "missing"):
            raise ValueError('signature must be "good", "bad" or "missing"')
        headers = [("User-Agent", "wapi-fake")]
        if mode != "missing":
            if secret is None:
                raise ValueError("secret is required to sign (or start the fake with --secret)")
            headers.append((SIGNATURE_HEADER, sign(str(secret) if mode == "good" else f"not-{secret}", data)))
        return headers

    def check_url():  # a URL that is no http://host[:port] is a 400 here, not a failed exchange
        http_target(msg["url"]).port

    return await deliver_webhook(msg, sign_headers, signature=SIGNATURE_HEADER, before_send=check_url)


# ---------------------------------------------------------------- control

def reset():
    STEPS.clear()
    SENT.clear()
    BUTTONS.clear()
    CONFIG.clear()
    CONFIG.update(default_config())


async def control_post(path, msg):
    """-> (status, answer) for a POST /_control/... with a JSON object body."""
    if path == "/_control/script":
        steps = msg.get("steps")
        if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
            return 400, {"error": 'expected {"steps": [{...}]}'}
        for step in steps:
            for key in ("status", "delay_ms", "retry_after"):
                if key in step and (isinstance(step[key], bool)
                                    or not isinstance(step[key], (int, float))):
                    return 400, {"error": f"step field {key} must be a number: {step}"}
        STEPS.extend(steps)
        return 200, {"queued": len(STEPS)}
    if path == "/_control/reset":
        reset()
        return 200, {"reset": True}
    if path == "/_control/config":
        for key in ("token", "secret"):
            if key in msg and msg[key] is not None and not isinstance(msg[key], str):
                return 400, {"error": f"{key} must be a string or null"}
        CONFIG.update({k: msg[k] for k in ("token", "secret") if k in msg})
        return 200, dict(CONFIG)
    if path == "/_control/make_message":
        return 200, make_message(msg)
    if path == "/_control/deliver":
        return 200, await deliver(msg)
    return 404, {"error": "not found"}


async def control(req, writer, keep_alive):
    if req.method == "GET" and req.path == "/_control/sent":
        endpoint = req.params.get("endpoint")
        records = [r for r in SENT if endpoint is None or r["endpoint"] == endpoint]
        await respond(writer, req, 200, dumps({"sent": records}), keep_alive)
        return keep_alive
    return await control_json(req, writer, keep_alive, control_post, (TypeError, ValueError, KeyError))


# ---------------------------------------------------------------- serving

async def route(req, writer, keep_alive):
    if req.path.startswith("/_control/"):
        return await control(req, writer, keep_alive)
    m = API_PATH.fullmatch(req.path)
    if not m:
        await respond(writer, req, 404, dumps({"status": "error", "message": "Not found."}), keep_alive)
        return keep_alive
    outcome = await api_call(req, req.path, m[2])
    if outcome is None:
        return False  # scripted {"close": true}
    status, body, headers = outcome
    await respond(writer, req, status, dumps(body), keep_alive, JSON_TYPE, headers)
    return keep_alive


def self_test():
    """HMAC vector, the assumed payload, and the validation rules."""
    assert sign("secret", b"test") == \
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    CONFIG.update(default_config())
    assert make_message({"from": "919876543210", "text": "hi", "name": "Rahul", "id": "m1"}) == \
        {"contact": {"phone_number": "919876543210", "name": "Rahul"},
         "message": {"id": "m1", "type": "text", "body": "hi"}}
    BUTTONS["919876543210"] = {"confirm": "Confirm"}
    b = make_message({"from": "919876543210", "button_id": "confirm"})["message"]
    assert (b["type"], b["button_id"], b["body"]) == ("button", "confirm", "Confirm"), b
    assert make_message({"from": "919876543210"})["message"]["type"] == "image"

    def field_of(endpoint, p):
        try:
            check(endpoint, p)
        except WapiError as e:
            assert e.status == 400 and e.field in e.message, e.message
            return e.field
        return None

    ph = {"phone_number": "919876543210"}
    assert field_of("send-message", {"message_body": "hi"}) == "phone_number"
    assert field_of("send-message", {"phone_number": "12", "message_body": "hi"}) == "phone_number"
    assert field_of("send-message", dict(ph)) == "message_body"
    assert field_of("send-message", dict(ph, message_body="hi")) is None
    btn = [{"id": "confirm", "title": "Confirm"}]
    inter = dict(ph, interactive_type="button", body_text="Ok?", buttons=btn)
    assert field_of("send-interactive-message", inter) is None
    assert field_of("send-interactive-message", dict(inter, buttons=btn * 4)) == "buttons"
    assert field_of("send-interactive-message", dict(inter, buttons=btn * 2)) == "buttons"
    assert field_of("send-interactive-message",
                    dict(inter, buttons=[{"id": "a", "title": "x" * 21}])) == "buttons.0.title"
    assert field_of("send-interactive-message", dict(inter, body_text="")) == "body_text"
    assert field_of("send-template-message", dict(ph, template_name="reminder")) == "template_language"
    assert field_of("send-template-message", dict(ph, template_name="r", template_language="en",
                                                  field_1="Rahul")) is None
    media = dict(ph, media_type="document", media_url="https://x/y.pdf")
    assert field_of("send-media-message", media) == "file_name"
    assert field_of("send-media-message", dict(media, file_name="y.pdf")) is None
    assert field_of("send-media-message", dict(media, media_type="image", media_url="ftp://x")) == "media_url"
    reset()
    print("self-test ok")


async def main():
    ap = vendor_args(__doc__)
    ap.add_argument("--token")
    ap.add_argument("--secret")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    CLI.update(token=args.token, secret=args.secret)
    CONFIG.update(default_config())
    await run_vendor(args, route)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
