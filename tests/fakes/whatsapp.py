#!/usr/bin/env python3
"""Fake WhatsApp Cloud API (Graph API) plus a webhook deliverer for flowhost integration tests.

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 parsing is the fake
upstream's (tests/fakes/upstream.py). Wire shapes, error codes and edge cases
follow shared/reference/wire-formats.md section 1.

Usage:
    python3 tests/fakes/whatsapp.py --port 0 [--host 127.0.0.1] [--port-file PATH]
                                    [--app-secret S]
    python3 tests/fakes/whatsapp.py --self-test    (signature test vectors, exits 0)

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0. --app-secret is the default secret for
/_control/deliver and the automatic status callbacks.

Graph API: POST /<version>/<PHONE_NUMBER_ID>/messages (version like v21.0,
or none, as Graph allows), JSON body (form bodies work too, JSON-looking
values decoded). Answers are Graph JSON with non-ASCII escaped as \\uXXXX.
  Auth: "Authorization: Bearer <token>" (or an access_token parameter); any
      token of [A-Za-z0-9._|-] unless revoked. Missing or malformed -> 401
      code 190 "Invalid OAuth access token - Cannot parse access token";
      revoked -> 401 code 190 subcode 463 "Error validating access token:
      Session has expired ...".
  Errors: {"error":{"message":"(#N) ...","type":"OAuthException","code":N,
      "error_data":{"messaging_product":"whatsapp","details":"..."},
      "fbtrace_id":"..."}} (error_data only when there are details).
  Message bodies: messaging_product "whatsapp" and to (phone digits; "+",
      spaces, dashes and parentheses dropped for wa_id) are required; type
      defaults to text; recipient_type individual|group; context.message_id.
      Missing parameter -> 400 code 100 "(#100) The parameter X is required.";
      bad value -> 400 code 100 "(#100) Invalid parameter", details naming
      the field Meta-style (interactive['action']['buttons'][3] ...).
      text: body 1-4096. image/video/document: id or link, caption <= 1024;
      audio/sticker: id or link. location: latitude, longitude. contacts:
      non-empty list with name.formatted_name. reaction: message_id, emoji.
      template: name, language.code (any name is "approved").
      biz_opaque_callback_data (any type, a string of at most 512
      characters, else 400 code 100): returned in every status of that
      message (Meta: "included in statuses object within webhook payloads").
      interactive button: body.text 1-1024, header text <= 60, footer <= 60,
      1-3 buttons of type reply, reply.id 1-256, reply.title 1-20.
      interactive list: body.text 1-4096, header text-only <= 60, footer <= 60,
      action.button 1-20, 1-10 sections, 1-10 rows in total, row id 1-200,
      row title 1-24, row description <= 72, section title <= 24 (required
      with more than one section). cta_url/flow/product...: body and action
      objects only.
  24-hour window: per (phone_number_id, wa_id), opened by the timestamp of
      each inbound message /_control/deliver sends (or /_control/window).
      A non-template message outside it (no inbound ever counts as outside):
      window mode "reject" (default) -> 400 code 131047 "(#131047)
      Re-engagement message"; "accept" -> 200 and the message is marked so a
      later failed status carries 131047 (sent automatically when a
      status_url is configured); "off" -> no check.
  Success: {"messaging_product":"whatsapp","contacts":[{"input":to,
      "wa_id":W}],"messages":[{"id":"wamid.HBg..."}]} (+ "message_status":
      "accepted" for templates). Mark read ({"status":"read","message_id"})
      -> {"success":true} (the reference marks this UNCONFIRMED).
  Anything else: unknown path -> 400 code 2500 "Unknown path components";
      non-numeric phone number id -> 400 code 100 subcode 33; other methods
      -> 400 code 100 "Unsupported <method> request."

Every Graph call on a phone number id is recorded, failed and dropped ones
included: {"path", "params" (query and body merged, access_token left out),
"status" (null for dropped connections), "at" (unix seconds, float), "id"
(the wamid, or null), "code" (Graph error code, or null)}.

Control API (JSON in and out):
  POST /_control/script {"phone_number_id": P, "steps": [step, ...]} appends
       steps; each Graph call for P takes the first step, before normal
       handling. Fields combine:
       {"delay_ms": M}      wait M ms first (then the rest, or normal handling)
       {"close": true}      drop the connection without answering
       {"lose_answer": true} handle the call (the message is sent, its
                            statuses follow), then drop the connection
                            without the answer, as a network that fails
                            on the way back does
       {"status": 429}      code 130429 "(#130429) Rate limit hit", subcode
                            2494055 (no retry hint header: the reference
                            names none); {"status": 429, "code": 80007} WABA
                            limit, {"status": 400, "code": 130429} as seen by
                            clients, {"code": 131056} pair limit, {"code": 4}
       {"status": 500}      code 1 "An unknown error has occurred." (503: code
                            2); 401: 190; 403: 10; 400: 100 unless "code"
       {"message", "details", "subcode"}  override the error's texts
  GET  /_control/sent?phone_number_id=P  {"sent": [record, ...]} (no P: every
       number's records, each with "phone_number_id")
  POST /_control/reset   forgets steps, records, revocations, windows, sent
       messages and the config (back to the command line's)
  POST /_control/revoke {"token": T[, "revoked": false]}  (un)revokes a token
  POST /_control/config {"window": "reject"|"accept"|"off", "status_url": U,
       "app_secret": S, "status_delay_ms": 100}  with a status_url, every
       accepted message is followed by signed status POSTs to U: "sent" and
       "delivered", or "failed" (131047) when sent outside the window
  POST /_control/window {"phone_number_id"?, "wa_id": W, "last_inbound":
       unix seconds | "now" | null}  sets (null: closes) a window
  POST /_control/make_message {"from": W, "name"?, "phone_number_id"?,
       "display_phone_number"?, "waba_id"?, "id"?, "timestamp"?, "context"?,
       one of "text": "hi" | "button_reply": {"id"[, "title"]} | "list_reply":
       {"id"[, "title", "description"]} | "button": {"payload", "text"} |
       "location": {...} | "image"/"audio"/"video"/"document"/"sticker": {...}
       | "reaction": {...}; or "type" + "message": {...} for anything else}
       -> a webhook payload as Meta sends it. Button and list replies get
       context {"from": display number, "id": the wamid of the last
       interactive message sent to W} and the title we sent for that id.
       "messages": [spec, ...] batches several messages in one change;
       "statuses": [status spec, ...] adds statuses to the same change.
  POST /_control/make_status {"message_id"?, "recipient_id"?, "status":
       "sent"|"delivered"|"read"|"failed", "timestamp"?, "phone_number_id"?,
       "code"?|"errors"?} -> a status webhook (no contacts, no messages;
       conversation and pricing on sent/delivered; failed carries errors,
       131047 for a message accepted outside the window, else 131026).
       Defaults come from the sent message (the last one when no id).
       "statuses": [spec, ...] batches several (any order).
  POST /_control/deliver {"url": U, "payload": {...} | "raw text",
       "app_secret"?: S, "signature": "good"|"bad"|"missing", "times": 1,
       "gap_ms": 0, "parallel": false, "timeout_ms": 10000, "retries": 0,
       "retry_base_ms": 200, "headers"?: {...}} POSTs the payload as Meta
       does: compact JSON, non-ASCII as \\uXXXX (a string payload is sent as
       its UTF-8 bytes), Content-Type: application/json, X-Hub-Signature-256:
       sha256=<hex HMAC-SHA256 of the body> and X-Hub-Signature: sha1=...
       ("bad": wrong HMACs, "missing": neither header). Each delivery is
       retried up to "retries" times on a non-2xx answer or a failed
       exchange, waiting retry_base_ms, then twice that, and so on. ->
       {"statuses": [...], "bodies": [...], "signature": "sha256=..."|null}
       for every attempt (status null, body "error: ..." for failed ones).
       Inbound messages in the payload open their senders' windows.
  GET  /_control/verify?url=U&verify_token=T[&challenge=C][&mode=subscribe]
       (or POST with a JSON object) sends Meta's verification GET
       (hub.mode, hub.verify_token, hub.challenge; C defaults to a random
       number) -> {"status", "body", "challenge"}.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
from collections import defaultdict, deque
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import (control_json, deliver_webhook, dumps, http_request, respond, run_vendor,  # noqa: E402
                      try_request, vendor_args)

GRAPH_PATH = re.compile(r"/(?:(v\d+\.\d+)/)?([^/]+)/messages/?")
TOKEN_RE = re.compile(r"[A-Za-z0-9._|-]+")
DEFAULT_WABA_ID = "102290129340398"       # the reference's sample ids
DEFAULT_DISPLAY = "15550783881"
DEFAULT_PHONE_ID = "106540352242922"
WINDOW_SECONDS = 24 * 3600
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
CAPTIONED = ("image", "video", "document")
SEND_TYPES = {"text", "interactive", "template", "location", "contacts", "reaction",
              *MEDIA_TYPES}
INTERACTIVE_TYPES = {"button", "list", "cta_url", "flow", "product", "product_list",
                     "catalog_message", "location_request_message", "address_message"}
MEDIA_MIME = {"image": "image/jpeg", "audio": "audio/ogg; codecs=opus", "video": "video/mp4",
              "document": "application/pdf", "sticker": "image/webp"}
GRAPH_JSON = "application/json; charset=UTF-8"
META_HEADERS = [("User-Agent", "facebookexternalua"), ("Accept", "*/*")]  # on every webhook and GET
ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
ERRORS = {  # code -> (message, details); titles in webhooks drop the "(#N) " prefix
    1: ("An unknown error has occurred.", None),
    2: ("Service temporarily unavailable", None),
    4: ("(#4) Application request limit reached", None),
    10: ("(#10) Application does not have permission for this action", None),
    100: ("(#100) Invalid parameter", None),
    368: ("(#368) Temporarily blocked for policies violations", None),
    80007: ("(#80007) Rate limit issues",
            "The WhatsApp Business Account has reached its rate limit."),
    130429: ("(#130429) Rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number in a short period of time"),
    131026: ("(#131026) Message undeliverable", "Message Undeliverable."),
    131030: ("(#131030) Recipient phone number not in allowed list",
             "Recipient phone number not in allowed list: Add recipient phone number to "
             "recipient list and try again."),
    131047: ("(#131047) Re-engagement message",
             "More than 24 hours have passed since the recipient last replied to the sender "
             "number."),
    131056: ("(#131056) (Business Account, Consumer Account) pair rate limit hit",
             "Message failed to send because there were too many messages sent from this "
             "phone number to the same phone number in a short period of time."),
}
STATUS_CODES = {400: 100, 401: 190, 403: 10, 429: 130429, 500: 1, 502: 2, 503: 2}

STEPS = defaultdict(deque)       # phone_number_id -> scripted steps
SENT = defaultdict(list)         # phone_number_id -> call records
REVOKED = set()                  # tokens
LAST_INBOUND = {}                # (phone_number_id, wa_id) -> unix seconds of the last user message
OUTBOUND = {}                    # wamid -> what we accepted (phone_number_id, to, type, ...)
LAST_OUTBOUND = {}               # wa_id -> wamid of the last message accepted for it
LAST_INTERACTIVE = {}            # (phone_number_id, wa_id) -> wamid of the last interactive message
CONVERSATIONS = {}               # (phone_number_id, wa_id) -> {"id", "expires", "category"}
BACKGROUND = set()               # automatic status deliveries under way
CLI = {"app_secret": None}
CONFIG = {}


def default_config():
    return {"window": "reject", "status_url": None, "app_secret": CLI["app_secret"],
            "status_delay_ms": 100}


def meta_json(value):
    """Compact JSON with non-ASCII as lowercase \\uXXXX, as Meta serialises."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode()


def sign(secret, body, algo="sha256"):
    digest = hmac.new(secret.encode("utf-8"), body, getattr(hashlib, algo)).hexdigest()
    return f"{algo}={digest}"


def new_wamid(wa_id, inbound=False):
    """A wamid shaped like Meta's: base64 of the number plus a random tail."""
    digits = (re.sub(r"\D", "", str(wa_id)) or "0")[:60]
    tail = secrets.token_hex(10 if inbound else 9).upper()
    raw = (b"\x1c\x18" + bytes([len(digits)]) + digits.encode() + b"\x15\x02\x00"
           + (b"\x12\x18\x14" if inbound else b"\x11\x18\x12") + tail.encode() + b"\x00")
    return "wamid." + base64.b64encode(raw).decode()


def media_id():
    return str(10 ** 15 + secrets.randbelow(9 * 10 ** 15))


def stamp(value=None):
    """Unix seconds as the string Meta sends."""
    if value is None:
        return str(int(time.time()))
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("timestamp must be unix seconds")
    return str(int(float(value)))


# ---------------------------------------------------------------- errors

class GraphError(Exception):
    """A Graph API error: HTTP status plus the error envelope."""

    def __init__(self, status, code, message=None, details=None, subcode=None,
                 etype="OAuthException"):
        super().__init__(code)
        known = ERRORS.get(code, (None, None))
        self.status, self.code, self.subcode, self.etype = status, code, subcode, etype
        self.message = message or known[0] or f"(#{code}) Error"
        self.details = details if details is not None else known[1]

    def body(self):
        err = {"message": self.message, "type": self.etype, "code": self.code}
        if self.details is not None:
            err["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode:
            err["error_subcode"] = self.subcode
        if self.code in (1, 2):
            err["is_transient"] = True
        err["fbtrace_id"] = "A" + secrets.token_urlsafe(17)[:22]
        return {"error": err}


def missing(name):
    return GraphError(400, 100, f"(#100) The parameter {name} is required.")


def invalid(details):
    return GraphError(400, 100, "(#100) Invalid parameter", details)


def bad_token():
    return GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")


def expired_token():
    fmt = "%A, %d-%b-%y %H:%M:%S UTC"
    now = time.time()
    return GraphError(401, 190, "Error validating access token: Session has expired on "
                      f"{time.strftime(fmt, time.gmtime(now - 3600))}. The current time is "
                      f"{time.strftime(fmt, time.gmtime(now))}.", subcode=463)


def scripted_error(step):
    status = int(step["status"]) if "status" in step else 400
    code = int(step.get("code", STATUS_CODES.get(status, 1)))
    if code == 190 and "message" not in step:
        err = expired_token()
        err.status = status
        return err
    subcode = step.get("subcode", 2494055 if code == 130429 else None)
    return GraphError(status, code, step.get("message"), step.get("details"), subcode)


def webhook_error(code):
    """The {code, title, message, error_data, href} of statuses[].errors[]."""
    message, details = ERRORS.get(code, (f"(#{code}) Error", None))
    title = re.sub(r"^\(#\d+\) ", "", message)
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details or title}, "href": ERROR_HREF}


# ---------------------------------------------------------------- parameters

def request_params(req):
    """Query and body parameters merged (body wins), access_token left out."""
    params = dict(req.params)
    base = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if req.body.strip():
        if base == "application/x-www-form-urlencoded" and not req.body.lstrip().startswith(b"{"):
            form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        else:  # Graph reads JSON whatever the client called it
            try:
                data = json.loads(req.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise invalid("Request body is not valid JSON") from None
            if not isinstance(data, dict):
                raise invalid("Request body must be a JSON object")
            params.update(data)
    for k, v in list(params.items()):  # form and query values may carry JSON objects
        if isinstance(v, str) and v[:1] in ("{", "["):
            try:
                params[k] = json.loads(v)
            except ValueError:
                pass
    return params


def access_token(req, params):
    auth = req.headers.get("authorization", "")
    scheme, _, value = auth.strip().partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    tok = params.get("access_token")
    return tok if isinstance(tok, str) and tok else None


def pname(path, key):
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}['{key}']" if path else key


def get_obj(parent, key, path, required=True):
    v, name = parent.get(key), pname(path, key)
    if v is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(v, dict):
        raise invalid(f"Param {name} must be a JSON object.")
    return v


def get_str(parent, key, path, hi=None, required=True):
    v, name = parent.get(key), pname(path, key)
    if v is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(v, str):
        raise invalid(f"Param {name} must be a string.")
    if required and not v:
        raise invalid(f"Param {name} must be at least 1 character long.")
    if hi is not None and len(v) > hi:
        raise invalid(f"Param {name} must be at most {hi} characters long.")
    return v


def get_list(parent, key, path, lo, hi, what):
    v, name = parent.get(key), pname(path, key)
    if v is None:
        raise missing(name)
    if not isinstance(v, list):
        raise invalid(f"Param {name} must be an array.")
    if not lo <= len(v) <= hi:
        raise invalid(f"Param {name} must have between {lo} and {hi} {what}; got {len(v)}.")
    return v


def check_header(inter, text_only):
    header = get_obj(inter, "header", "interactive", required=False)
    if header is None:
        return
    kind = get_str(header, "type", "interactive['header']")
    allowed = ("text",) if text_only else ("text", "image", "video", "document")
    if kind not in allowed:
        raise invalid(f"Param interactive['header']['type'] must be one of "
                      f"{{{', '.join(allowed)}}}.")
    if kind == "text":
        get_str(header, "text", "interactive['header']", 60)
    else:
        check_media(header, kind, "interactive['header']")


def check_media(parent, kind, path=""):
    obj = get_obj(parent, kind, path)
    name = pname(path, kind)
    if not (isinstance(obj.get("id"), str) and obj["id"]) and \
            not (isinstance(obj.get("link"), str) and obj["link"]):
        raise invalid(f"Param {name} must contain either id or link.")
    if kind in CAPTIONED and not path:
        get_str(obj, "caption", name, 1024, required=False)
    if kind == "document":
        get_str(obj, "filename", name, 240, required=False)


def check_buttons(action):
    buttons = get_list(action, "buttons", "interactive['action']", 1, 3, "buttons")
    for i, b in enumerate(buttons):
        path = f"interactive['action']['buttons'][{i}]"
        if not isinstance(b, dict):
            raise invalid(f"Param {path} must be a JSON object.")
        if get_str(b, "type", path) != "reply":
            raise invalid(f"Param {path}['type'] must be reply.")
        reply = get_obj(b, "reply", path)
        get_str(reply, "id", f"{path}['reply']", 256)
        get_str(reply, "title", f"{path}['reply']", 20)


def check_sections(action):
    get_str(action, "button", "interactive['action']", 20)
    sections = get_list(action, "sections", "interactive['action']", 1, 10, "sections")
    total = 0
    for i, sec in enumerate(sections):
        path = f"interactive['action']['sections'][{i}]"
        if not isinstance(sec, dict):
            raise invalid(f"Param {path} must be a JSON object.")
        get_str(sec, "title", path, 24, required=len(sections) > 1)
        rows = get_list(sec, "rows", path, 1, 10, "rows")
        for j, row in enumerate(rows):
            rpath = f"{path}['rows'][{j}]"
            if not isinstance(row, dict):
                raise invalid(f"Param {rpath} must be a JSON object.")
            get_str(row, "id", rpath, 200)
            get_str(row, "title", rpath, 24)
            get_str(row, "description", rpath, 72, required=False)
        total += len(rows)
    if total > 10:
        raise invalid(f"Param interactive['action']['sections'] must have at most 10 rows in "
                      f"total; got {total}.")


def check_interactive(p):
    inter = get_obj(p, "interactive", "")
    kind = get_str(inter, "type", "interactive")
    if kind not in INTERACTIVE_TYPES:
        raise invalid(f"Param interactive['type'] must be one of "
                      f"{{{', '.join(sorted(INTERACTIVE_TYPES))}}}; got \"{kind}\".")
    body = get_obj(inter, "body", "interactive", required=kind not in ("product", "product_list"))
    if body is not None:
        get_str(body, "text", "interactive['body']", 4096 if kind == "list" else 1024)
    footer = get_obj(inter, "footer", "interactive", required=False)
    if footer is not None:
        get_str(footer, "text", "interactive['footer']", 60)
    check_header(inter, text_only=kind == "list")
    action = get_obj(inter, "action", "interactive", required=kind != "location_request_message")
    if kind == "button":
        check_buttons(action)
    elif kind == "list":
        check_sections(action)
    elif kind == "cta_url":
        params = get_obj(action, "parameters", "interactive['action']")
        get_str(params, "display_text", "interactive['action']['parameters']", 20)
        get_str(params, "url", "interactive['action']['parameters']")


def check_send(p):
    """Validates a message body as the Cloud API does -> (type, wa_id)."""
    product = p.get("messaging_product")
    if product is None:
        raise missing("messaging_product")
    if product != "whatsapp":
        raise invalid("Param messaging_product must be whatsapp.")
    to = p.get("to")
    if to is None or to == "":
        raise missing("to")
    if isinstance(to, bool) or not isinstance(to, (str, int)):
        raise invalid("Param to must be a string.")
    wa_id = re.sub(r"[\s+().-]", "", str(to))
    if not re.fullmatch(r"\d{7,15}", wa_id):
        raise invalid(f"Param to is not a valid phone number: {to}")
    rtype = p.get("recipient_type")
    if rtype is not None and rtype not in ("individual", "group"):
        raise invalid("Param recipient_type must be one of {individual, group}.")
    ctx = get_obj(p, "context", "", required=False)
    if ctx is not None:
        get_str(ctx, "message_id", "context")
    kind = p.get("type", "text")
    if kind not in SEND_TYPES:
        raise invalid(f"Param type must be one of {{{', '.join(sorted(SEND_TYPES))}}}; "
                      f"got \"{kind}\".")
    if kind == "text":
        text = get_obj(p, "text", "")
        get_str(text, "body", "text", 4096)
        if not isinstance(text.get("preview_url", False), bool):
            raise invalid("Param text['preview_url'] must be a boolean.")
    elif kind in MEDIA_TYPES:
        check_media(p, kind)
    elif kind == "location":
        loc = get_obj(p, "location", "")
        for k in ("latitude", "longitude"):
            v = loc.get(k)
            if v is None:
                raise missing(f"location['{k}']")
            try:
                float(v)
            except (TypeError, ValueError):
                raise invalid(f"Param location['{k}'] must be a number.") from None
    elif kind == "contacts":
        cards = get_list(p, "contacts", "", 1, 257, "contacts")
        for i, card in enumerate(cards):
            if not isinstance(card, dict):
                raise invalid(f"Param contacts[{i}] must be a JSON object.")
            get_str(get_obj(card, "name", f"contacts[{i}]"), "formatted_name",
                    f"contacts[{i}]['name']")
    elif kind == "reaction":
        reaction = get_obj(p, "reaction", "")
        get_str(reaction, "message_id", "reaction")
        if not isinstance(reaction.get("emoji"), str):
            raise missing("reaction['emoji']")
    elif kind == "template":
        template = get_obj(p, "template", "")
        get_str(template, "name", "template", 512)
        get_str(get_obj(template, "language", "template"), "code", "template['language']")
        comps = template.get("components")
        if comps is not None and not isinstance(comps, list):
            raise invalid("Param template['components'] must be an array.")
    elif kind == "interactive":
        check_interactive(p)
    return kind, wa_id


# ---------------------------------------------------------------- sending

def window_open(phone_id, wa_id, now=None):
    last = LAST_INBOUND.get((phone_id, wa_id))
    return last is not None and (now or time.time()) - last < WINDOW_SECONDS


def conversation(phone_id, wa_id, category):
    now = int(time.time())
    conv = CONVERSATIONS.get((phone_id, wa_id))
    if conv is None or conv["expires"] <= now:
        conv = {"id": secrets.token_hex(16), "expires": now + WINDOW_SECONDS, "category": category}
        CONVERSATIONS[(phone_id, wa_id)] = conv
    return conv


def send_message(phone_id, p):
    """A message or mark-read body -> (answer, wamid or None)."""
    if p.get("status") == "read" and "to" not in p:
        if p.get("messaging_product") != "whatsapp":
            raise missing("messaging_product")
        get_str(p, "message_id", "")
        return {"success": True}, None
    kind, wa_id = check_send(p)
    opaque = p.get("biz_opaque_callback_data")
    if opaque is not None and (not isinstance(opaque, str) or len(opaque) > 512):
        raise invalid("biz_opaque_callback_data must be a string of at most 512 characters")
    closed = kind != "template" and not window_open(phone_id, wa_id)
    if closed and CONFIG["window"] == "reject":
        raise GraphError(400, 131047)
    if CONFIG["window"] == "off":
        closed = False
    wamid = new_wamid(wa_id)
    sent = {"phone_number_id": phone_id, "to": wa_id, "type": kind, "at": time.time(),
            "window_closed": closed, "options": {}}
    if opaque is not None:
        sent["biz_opaque_callback_data"] = opaque
    if kind == "interactive":
        action = p["interactive"].get("action") or {}
        for b in action.get("buttons") or []:
            sent["options"][b["reply"]["id"]] = {"title": b["reply"]["title"]}
        for sec in action.get("sections") or []:
            for row in sec["rows"]:
                sent["options"][row["id"]] = {k: row[k] for k in ("title", "description")
                                              if k in row}
        LAST_INTERACTIVE[(phone_id, wa_id)] = wamid
    OUTBOUND[wamid] = sent
    LAST_OUTBOUND[wa_id] = wamid
    conversation(phone_id, wa_id, "utility" if kind == "template" else "service")
    message = {"id": wamid}
    if kind == "template":
        message["message_status"] = "accepted"
    if CONFIG["status_url"]:
        task = asyncio.get_running_loop().create_task(auto_statuses(wamid))
        BACKGROUND.add(task)
        task.add_done_callback(BACKGROUND.discard)
    return {"messaging_product": "whatsapp", "contacts": [{"input": str(p["to"]), "wa_id": wa_id}],
            "messages": [message]}, wamid


async def auto_statuses(wamid):
    """What Meta posts after accepting a message: sent + delivered, or failed."""
    sent = OUTBOUND.get(wamid)
    kinds = ["failed"] if sent and sent["window_closed"] else ["sent", "delivered"]
    for kind in kinds:
        await asyncio.sleep(max(0, float(CONFIG["status_delay_ms"])) / 1000)
        url, secret = CONFIG["status_url"], CONFIG["app_secret"]
        if not url or wamid not in OUTBOUND:
            return
        data = meta_json(make_status({"message_id": wamid, "status": kind}))
        headers = [("Content-Type", "application/json"),
                   *webhook_headers(secret, data, "good" if secret else "missing")]
        await try_request("POST", url, data, headers, 10)


def take_step(phone_id):
    queue = STEPS.get(phone_id)
    return queue.popleft() if queue else {}


async def graph_call(req, phone_id):
    """One Graph call, recorded. -> (status, body), or None to drop the connection."""
    params, early = {}, None
    try:
        params = request_params(req)
    except GraphError as e:
        early = e
    record = {"path": req.path, "params": {k: v for k, v in params.items() if k != "access_token"},
              "status": None, "at": time.time(), "id": None, "code": None}
    SENT[phone_id].append(record)
    try:
        step = take_step(phone_id)
        if step.get("delay_ms"):
            await asyncio.sleep(float(step["delay_ms"]) / 1000)
        if step.get("close"):
            return None
        if ("status" in step or "code" in step) and not 200 <= int(step.get("status", 400)) < 300:
            raise scripted_error(step)
        token = access_token(req, params)
        if token is None or not TOKEN_RE.fullmatch(token):
            raise bad_token()
        if token in REVOKED:
            raise expired_token()
        if req.method != "POST":
            raise GraphError(400, 100, f"Unsupported {req.method.lower()} request.")
        if not phone_id.isdigit():
            raise GraphError(400, 100, f"Unsupported post request. Object with ID '{phone_id}' "
                             "does not exist, cannot be loaded due to missing permissions, or "
                             "does not support this operation. Please read the Graph API "
                             "documentation at https://developers.facebook.com/docs/graph-api",
                             subcode=33, etype="GraphMethodException")
        if early:
            raise early
        try:
            answer, wamid = send_message(phone_id, params)
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # a shape no check foresaw
            raise invalid(f"Malformed request: {e!r}") from None
    except GraphError as e:
        record["status"], record["code"] = e.status, e.code
        return e.status, e.body()
    record["status"], record["id"] = 200, wamid
    if step.get("lose_answer"):
        return None  # taken, but the answer is lost on the way back
    return 200, answer


# ---------------------------------------------------------------- webhook payloads

def envelope(phone_id, display, waba_id, value):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": display, "phone_number_id": phone_id}, **value}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": waba_id, "changes": [{"field": "messages", "value": value}]}]}


def reply_object(spec, key, sent):
    """{"id", "title"[, "description"]} for a button/list reply, titles from what we sent."""
    given = spec[key]
    reply = {"id": given} if isinstance(given, str) else dict(given)
    if not isinstance(reply.get("id"), str):
        raise ValueError(f"{key}.id (a string) is required")
    known = (sent or {}).get("options", {}).get(reply["id"], {})
    out = {"id": reply["id"], "title": reply.get("title", known.get("title", "Option"))}
    if key == "list_reply" and ("description" in reply or "description" in known):
        out["description"] = reply.get("description", known.get("description"))
    return out


def inbound_message(spec, phone_id, display):
    wa_id = str(spec.get("from") or "")
    if not re.fullmatch(r"\d{5,20}", wa_id):
        raise ValueError("from (the user's wa_id, digits) is required")
    msg = {"from": wa_id, "id": spec.get("id") or new_wamid(wa_id, inbound=True),
           "timestamp": stamp(spec.get("timestamp"))}
    ctx = spec.get("context")
    if isinstance(ctx, str):
        ctx = {"from": display, "id": ctx}
    elif isinstance(ctx, dict):
        ctx = {"from": display, **ctx}
    if "button_reply" in spec or "list_reply" in spec:
        key = "button_reply" if "button_reply" in spec else "list_reply"
        if ctx is None and (phone_id, wa_id) in LAST_INTERACTIVE:
            ctx = {"from": display, "id": LAST_INTERACTIVE[(phone_id, wa_id)]}
        sent = OUTBOUND.get(ctx["id"]) if ctx else None
        msg["type"] = "interactive"
        body = {"interactive": {"type": key, key: reply_object(spec, key, sent)}}
    elif "button" in spec:
        b = spec["button"] if isinstance(spec["button"], dict) else {"payload": str(spec["button"])}
        msg["type"] = "button"
        payload = str(b.get("payload", ""))
        body = {"button": {"payload": payload, "text": b.get("text", payload)}}
    elif "location" in spec:
        loc = dict(spec["location"]) if isinstance(spec["location"], dict) else {}
        msg["type"] = "location"
        body = {"location": {"latitude": loc.pop("latitude", 40.4168),
                             "longitude": loc.pop("longitude", -3.7038), **loc}}
    elif any(k in spec for k in MEDIA_TYPES):
        kind = next(k for k in MEDIA_TYPES if k in spec)
        given = spec[kind] if isinstance(spec[kind], dict) else {}
        media = {"mime_type": MEDIA_MIME[kind],
                 "sha256": base64.b64encode(secrets.token_bytes(32)).decode(), "id": media_id()}
        if kind == "document":
            media["filename"] = "document.pdf"
        media.update(given)
        msg["type"] = kind
        body = {kind: media}
    elif "reaction" in spec:
        r = spec["reaction"]
        r = r if isinstance(r, dict) else {"emoji": str(r)}
        msg["type"] = "reaction"
        body = {"reaction": {"message_id": r.get("message_id", LAST_OUTBOUND.get(wa_id, "")),
                             "emoji": r.get("emoji", "\U0001f44d")}}
    elif "message" in spec or ("type" in spec and "text" not in spec):
        kind = str(spec.get("type") or "unsupported")
        msg["type"] = kind
        body = spec.get("message") if isinstance(spec.get("message"), dict) else {}
    else:
        msg["type"] = "text"
        body = {"text": {"body": str(spec.get("text", "hi"))}}
    if ctx:
        msg["context"] = ctx
    msg.update(body)
    return msg


def make_message(spec):
    phone_id = str(spec.get("phone_number_id") or DEFAULT_PHONE_ID)
    display = str(spec.get("display_phone_number") or DEFAULT_DISPLAY)
    specs = spec.get("messages")
    if specs is None:
        specs = [spec]
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise ValueError("messages must be a list of objects")
    shared = {k: spec[k] for k in ("from", "name", "timestamp") if k in spec}
    contacts, messages = [], []
    for s in specs:
        merged = s if s is spec else {**shared, **s}
        msg = inbound_message(merged, phone_id, display)
        if not any(c["wa_id"] == msg["from"] for c in contacts):
            contacts.append({"profile": {"name": str(merged.get("name") or "Test User")},
                             "wa_id": msg["from"]})
        messages.append(msg)
    value = {"contacts": contacts, "messages": messages}
    if spec.get("statuses"):
        value["statuses"] = status_objects(spec["statuses"], phone_id)
    return envelope(phone_id, display, str(spec.get("waba_id") or DEFAULT_WABA_ID), value)


def status_target(spec):
    """The wamid a status spec is about: given, or the last one sent (to recipient_id)."""
    wamid = spec.get("message_id") or LAST_OUTBOUND.get(str(spec.get("recipient_id") or ""))
    if wamid is None and OUTBOUND:
        wamid = next(reversed(OUTBOUND))
    if not isinstance(wamid, str):
        raise ValueError("message_id is required (no message was sent yet)")
    return wamid


def status_object(spec, phone_id=None):
    wamid = status_target(spec)
    sent = OUTBOUND.get(wamid, {})
    kind = spec.get("status", "sent")
    if kind not in ("sent", "delivered", "read", "failed", "deleted"):
        raise ValueError("status must be sent, delivered, read, failed or deleted")
    wa_id = str(spec.get("recipient_id") or sent.get("to") or "16505551234")
    out = {"id": wamid, "status": kind, "timestamp": stamp(spec.get("timestamp")),
           "recipient_id": wa_id}
    if sent.get("biz_opaque_callback_data") is not None:    # Meta returns it in every status
        out["biz_opaque_callback_data"] = sent["biz_opaque_callback_data"]
    pid = phone_id or sent.get("phone_number_id") or DEFAULT_PHONE_ID
    if kind in ("sent", "delivered") and spec.get("conversation", True):
        category = "utility" if sent.get("type") == "template" else "service"
        conv = conversation(pid, wa_id, category)
        out["conversation"] = {"id": conv["id"], "expiration_timestamp": str(conv["expires"]),
                               "origin": {"type": conv["category"]}}
        out["pricing"] = {"billable": True, "pricing_model": "CBP", "category": conv["category"]}
    if kind == "failed":
        errors = spec.get("errors")
        if errors is None:
            code = spec.get("code") or (131047 if sent.get("window_closed") else 131026)
            errors = [webhook_error(int(code))]
        out["errors"] = errors
    return out


def status_objects(specs, phone_id):
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise ValueError("statuses must be a list of objects")
    return [status_object(s, phone_id) for s in specs]


def make_status(spec):
    specs = spec.get("statuses")
    if specs is None:
        specs = [spec]
    if not isinstance(specs, list) or not specs or not isinstance(specs[0], dict):
        raise ValueError("statuses must be a non-empty list of objects")
    sent = OUTBOUND.get(status_target(specs[0]), {})
    phone_id = str(spec.get("phone_number_id") or sent.get("phone_number_id") or DEFAULT_PHONE_ID)
    value = {"statuses": status_objects(specs, phone_id)}
    return envelope(phone_id, str(spec.get("display_phone_number") or DEFAULT_DISPLAY),
                    str(spec.get("waba_id") or DEFAULT_WABA_ID), value)


# ---------------------------------------------------------------- delivering webhooks

def webhook_headers(secret, data, mode):
    """Meta's headers on a webhook: X-Hub-Signature(-256) HMACs of the body with
    the app secret ("bad": wrong HMACs, "missing": neither header)."""
    if mode == "missing":
        return list(META_HEADERS)
    if mode not in ("good", "bad"):
        raise ValueError('signature must be "good", "bad" or "missing"')
    if secret is None:
        raise ValueError("app_secret is required (or start the fake with --app-secret)")
    key = secret if mode == "good" else f"not-{secret}"
    return META_HEADERS + [("X-Hub-Signature", sign(key, data, "sha1")),
                           ("X-Hub-Signature-256", sign(key, data))]


def open_windows(payload):
    """Inbound messages in a payload open (refresh) their senders' windows."""
    if isinstance(payload, (str, bytes)):
        try:
            payload = json.loads(payload)
        except ValueError:
            return
    if not isinstance(payload, dict):
        return
    for entry in payload.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            phone_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
            for m in value.get("messages") or []:
                if not isinstance(m, dict) or not m.get("from"):
                    continue
                try:
                    at = float(m.get("timestamp"))
                except (TypeError, ValueError):
                    at = time.time()
                key = (phone_id, str(m["from"]))
                LAST_INBOUND[key] = max(LAST_INBOUND.get(key, at), at)


async def deliver(msg):
    secret = msg.get("app_secret", CONFIG["app_secret"])
    mode = msg.get("signature", "good")
    return await deliver_webhook(
        msg, lambda data: webhook_headers(None if secret is None else str(secret), data, mode),
        encode=meta_json, retries=True, signature="X-Hub-Signature-256",
        # the user wrote, whether or not our receiver takes it
        before_send=lambda: open_windows(msg.get("payload")))


async def verify(msg):
    url = msg.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("url is required")
    challenge = str(msg.get("challenge") or secrets.randbelow(9 * 10 ** 9) + 10 ** 9)
    query = urlencode({"hub.mode": str(msg.get("mode", "subscribe")),
                       "hub.challenge": challenge,
                       "hub.verify_token": str(msg.get("verify_token", ""))})
    full = f"{url}{'&' if urlsplit(url).query else '?'}{query}"
    timeout = max(1, float(msg.get("timeout_ms", 10000))) / 1000
    try:
        status, _, body = await http_request("GET", full, None, META_HEADERS, timeout)
        body = body.decode("utf-8", "replace")
    except asyncio.TimeoutError:
        status, body = None, f"error: no answer within {timeout * 1000:.0f} ms"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError) as e:
        status, body = None, f"error: {e!r}"
    return {"status": status, "body": body, "challenge": challenge}


# ---------------------------------------------------------------- control

def reset():
    for table in (STEPS, SENT, LAST_INBOUND, OUTBOUND, LAST_OUTBOUND, LAST_INTERACTIVE,
                  CONVERSATIONS):
        table.clear()
    REVOKED.clear()
    for task in list(BACKGROUND):
        task.cancel()
    CONFIG.clear()
    CONFIG.update(default_config())


async def control_post(path, msg):
    """-> (status, answer) for a POST /_control/... with a JSON object body."""
    if path == "/_control/script":
        steps, pid = msg.get("steps"), msg.get("phone_number_id")
        if (not isinstance(pid, str) or not isinstance(steps, list)
                or not all(isinstance(s, dict) for s in steps)):
            return 400, {"error": 'expected {"phone_number_id": str, "steps": [{...}]}'}
        for step in steps:
            for key in ("status", "code", "subcode", "delay_ms"):
                if key in step and (isinstance(step[key], bool)
                                    or not isinstance(step[key], (int, float))):
                    return 400, {"error": f"step field {key} must be a number: {step}"}
        STEPS[pid].extend(steps)
        return 200, {"queued": len(STEPS[pid])}
    if path == "/_control/reset":
        reset()
        return 200, {"reset": True}
    if path == "/_control/revoke":
        if not isinstance(msg.get("token"), str):
            return 400, {"error": 'expected {"token": str}'}
        (REVOKED.add if msg.get("revoked", True) else REVOKED.discard)(msg["token"])
        return 200, {"revoked": sorted(REVOKED)}
    if path == "/_control/config":
        if msg.get("window", CONFIG["window"]) not in ("reject", "accept", "off"):
            return 400, {"error": 'window must be "reject", "accept" or "off"'}
        CONFIG.update({k: msg[k] for k in ("window", "status_url", "app_secret",
                                           "status_delay_ms") if k in msg})
        return 200, dict(CONFIG)
    if path == "/_control/window":
        key = (str(msg.get("phone_number_id") or DEFAULT_PHONE_ID), str(msg.get("wa_id") or ""))
        last = msg.get("last_inbound", "now")
        if last is None:
            LAST_INBOUND.pop(key, None)
        else:
            LAST_INBOUND[key] = time.time() if last == "now" else float(last)
        return 200, {"open": window_open(*key), "last_inbound": LAST_INBOUND.get(key)}
    if path == "/_control/make_message":
        return 200, make_message(msg)
    if path == "/_control/make_status":
        return 200, make_status(msg)
    if path == "/_control/deliver":
        return 200, await deliver(msg)
    if path == "/_control/verify":
        return 200, await verify(msg)
    return 404, {"error": "not found"}


async def control(req, writer, keep_alive):
    if req.method == "GET" and req.path == "/_control/sent":
        pid = req.params.get("phone_number_id")
        if pid is not None:
            records = list(SENT.get(pid, []))
        else:
            records = [dict(r, phone_number_id=p) for p, rs in SENT.items() for r in rs]
        await respond(writer, req, 200, dumps({"sent": records}), keep_alive)
        return keep_alive
    if req.method == "GET" and req.path == "/_control/verify":
        try:
            answer = await verify(req.params)
            status = 200
        except ValueError as e:
            status, answer = 400, {"error": str(e)}
        await respond(writer, req, status, dumps(answer), keep_alive)
        return keep_alive
    return await control_json(req, writer, keep_alive, control_post, (TypeError, ValueError, KeyError))


# ---------------------------------------------------------------- serving

async def route(req, writer, keep_alive):
    if req.path.startswith("/_control/"):
        return await control(req, writer, keep_alive)
    m = GRAPH_PATH.fullmatch(req.path)
    if not m:
        err = GraphError(400, 2500, f"Unknown path components: {req.path}")
        await respond(writer, req, 400, meta_json(err.body()), keep_alive, GRAPH_JSON)
        return keep_alive
    outcome = await graph_call(req, m[2])
    if outcome is None:
        return False  # scripted {"close": true}
    status, body = outcome
    await respond(writer, req, status, meta_json(body), keep_alive, GRAPH_JSON)
    return keep_alive




def self_test():
    """The reference's X-Hub-Signature-256 vectors and a few validation rules."""
    assert sign("secret", b"test") == \
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    empty = meta_json({"object": "whatsapp_business_account", "entry": []})
    assert len(empty) == 49 and sign("test_app_secret", empty) == \
        "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"
    escaped = meta_json({"text": {"body": "Ol\u00e1"}})
    assert escaped == b'{"text":{"body":"Ol\\u00e1"}}', escaped
    assert sign("test_app_secret", escaped) == \
        "sha256=039f8d0a705371c76b0b5c3e1170cba0af0eb0a64d0ba9756cfd79997f4c84b2"
    assert sign("test_app_secret", '{"text":{"body":"Olá"}}'.encode()) == \
        "sha256=2b3b628dc62b2f1dc528f18409bf8f818ffa992e446198f1c880901ed571fc19"

    def code_of(body):
        try:
            check_send(body)
        except GraphError as e:
            return e.code
        return None

    def buttons(n, title="ok"):
        rows = [{"type": "reply", "reply": {"id": f"b{i}", "title": title}} for i in range(n)]
        return {"messaging_product": "whatsapp", "to": "16505551234", "type": "interactive",
                "interactive": {"type": "button", "body": {"text": "Pick"},
                                "action": {"buttons": rows}}}

    assert code_of(buttons(3)) is None and code_of(buttons(4)) == 100
    assert code_of(buttons(1, "x" * 21)) == 100 and code_of(buttons(0)) == 100
    assert code_of({"messaging_product": "whatsapp", "to": "1650555", "text": {"body": ""}}) == 100
    assert code_of({"to": "16505551234", "text": {"body": "hi"}}) == 100
    assert check_send({"messaging_product": "whatsapp", "to": "+1 650-555-1234",
                       "text": {"body": "hi"}}) == ("text", "16505551234")
    assert new_wamid("16505551234").startswith("wamid.")
    print("self-test ok")


async def main():
    ap = vendor_args(__doc__)
    ap.add_argument("--app-secret")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return
    CLI["app_secret"] = args.app_secret
    CONFIG.update(default_config())

    await run_vendor(args, route)
    for task in list(BACKGROUND):
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
