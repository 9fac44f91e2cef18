#!/usr/bin/env python3
"""Fake Twilio Messaging API (WhatsApp, SMS) plus a webhook deliverer for flowhost integration tests.

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 parsing and the
connection loop are the fake upstream's (tests/fakes/upstream.py). Wire
shapes, error codes and edge cases follow shared/reference/wire-formats.md
section 2.

Usage:
    python3 tests/fakes/twilio.py --port 0 [--host 127.0.0.1] [--port-file PATH]
    python3 tests/fakes/twilio.py --self-test    (signature test vectors, exits 0)

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0.

REST API (answers are JSON, Content-Type: application/json; charset=utf-8,
with a Twilio-Request-Id header):
  POST /2010-04-01/Accounts/{AccountSid}/Messages.json   creates a message.
  GET  /2010-04-01/Accounts/{AccountSid}/Messages.json   lists the messages
       created for the account (one page, newest first).
  GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json   one message,
       with its current status (moved on by the automatic status callbacks).
  Other methods -> 405 code 20004; other paths -> 404 code 20404 "The
  requested resource <path> was not found".
  Auth: HTTP Basic "AccountSid:AuthToken" (or "ApiKeySid:secret", SK + 32
      hex). Any AC + 32 hex equal to the AccountSid of the path and any
      non-empty token unless revoked. Missing header, empty or revoked token,
      or an AccountSid other than the path's -> 401 code 20003 "Authenticate";
      a username that is no AC/SK sid -> 401 code 20003 "Authentication
      Error - invalid username". 401s carry WWW-Authenticate: Basic.
  Body: application/x-www-form-urlencoded (other bodies are not read, so
      they fail like an empty one). Parameters: To, From or
      MessagingServiceSid, Body (<= 1600 characters) or ContentSid (+
      ContentVariables, a JSON object as a string), MediaUrl (repeatable),
      StatusCallback. Checked in this order:
        no To -> 21604 "A 'To' phone number is required."
        To not [whatsapp:]+E.164 (spaces, dashes, dots, parentheses allowed)
           -> 21211 "The 'To' number X is not a valid phone number."
        neither From nor MessagingServiceSid -> 21603 "A 'From' phone number
           is required."
        MessagingServiceSid not MG + 32 hex -> 21705 "The Messaging Service
           is invalid"
        From not [whatsapp:]+E.164, a short code or an alphanumeric sender id
           -> 21212; From and To of different channels -> 21910
        ContentVariables without ContentSid -> 21654; ContentSid not HX + 32
           hex -> 21655; ContentVariables not a JSON object of non-empty
           values -> 21656
        no Body, ContentSid or MediaUrl -> 21602 "Message body is required."
        Body over 1600 characters -> 21617; a MediaUrl that is no http(s)
           URL -> 21620; a StatusCallback that is no http(s) URL -> 21609
      Errors: {"code": N, "message": "...", "more_info":
      "https://www.twilio.com/docs/errors/N", "status": S}.
  Success: 201 with the Message resource: sid "SM" + 32 hex ("MM" with
      media), strings for num_segments/num_media, RFC 2822 dates, status
      "queued" ("accepted" and num_segments "0" with a MessagingServiceSid).
      SMS bodies are segmented as Twilio bills them (GSM-7 160/153, else
      UCS-2 70/67); WhatsApp is always one segment.
  WhatsApp window: /_control/deliver of an inbound WhatsApp message opens a
      24 h window for (To, From) (or /_control/window). A free-form message
      (no ContentSid) sent outside it is still accepted (201 queued), as
      Twilio does, but is marked: it turns "failed" with error_code 63016
      and its status callback says so. /_control/config {"window": "off"}
      disables the check.
  Status callbacks: a message created with StatusCallback gets signed
      form POSTs to that URL ("queued" first with a Messaging Service, then
      "sent" and "delivered"; or "failed" + ErrorCode=63016 outside the
      window), status_delay_ms apart, signed with the auth token of the
      create call (or config auth_tokens[AccountSid]). No callback for the
      status the create call answered.

Every REST call on an account is recorded, failed and dropped ones included:
{"path", "method", "params" (the form decoded: a string per name, a list
when a name is repeated; MediaUrl is always a list), "status" (null for
dropped connections), "at" (unix seconds, float), "sid" (the message sid, or
null), "code" (Twilio error code, or null)}.

Control API (JSON in and out; anything else -> 404):
  POST /_control/script {"account_sid": A, "steps": [step, ...]} appends
       steps; each REST call for A takes the first step, before normal
       handling (authentication included). Fields combine:
       {"delay_ms": M}      wait M ms first (then the rest, or normal handling)
       {"lose_answer": true} handle the call (a message is created, its
                            status callbacks follow), then drop the
                            connection without the answer
       {"close": true}      drop the connection without answering
       {"status": 429, "retry_after": N}  code 20429 "Too Many Requests" with
                            a Retry-After: N header (N defaults to 1)
       {"status": 500}      code 20500 (503: 20503; 401: 20003; 404: 20404;
                            400: 21211 unless "code" says otherwise)
       {"code": 21610}      that code with its usual status and message
       {"message": "..."}   overrides the error's message
  GET  /_control/sent?account_sid=A   {"sent": [record, ...]} (no A: every
       account's records, each with "account_sid")
  GET  /_control/callbacks  {"callbacks": [{"url", "params", "status",
       "body", "at", "sid"}]}: the automatic status callbacks made so far
  POST /_control/reset   forgets steps, records, revocations, messages,
       windows, callbacks and the config
  POST /_control/revoke {"token": T[, "revoked": false]}  (un)revokes an
       auth token (or API key secret)
  POST /_control/config {"window": "enforce"|"off", "status_delay_ms": 100,
       "statuses": ["sent", "delivered"], "auth_tokens": {A: T}}
  POST /_control/window {"user": "whatsapp:+91...", "business"?:
       "whatsapp:+1415...", "last_inbound": unix seconds | "now" | null}
       opens (null: closes) a WhatsApp window
  POST /_control/make_message {"from": "whatsapp:+919876543210" | "+1...",
       "to"?: business number (whatsapp:+14155238886, or +15005550006 for
       SMS), one of "body": "hi" | "button_payload": P [+ "button_text": T]
       | "media": [{"url"?, "content_type"?}, ...] (+ "body") | "location":
       {"latitude", "longitude"[, "address", "label"]}, "profile_name"?,
       "account_sid"?, "message_sid"?, "messaging_service_sid"?, "extra"?:
       true | [[name, value], ...]} -> {"params": [[name, value], ...]}: an
       inbound webhook's fields in Twilio's order. WhatsApp: MessageSid,
       SmsSid, SmsMessageSid, AccountSid, From, To, Body, NumMedia,
       NumSegments, SmsStatus=received, ProfileName, WaId, MessageType,
       ReferralNumMedia, ApiVersion (+ ButtonText, ButtonPayload and
       OriginalRepliedMessageSender/Sid for button taps, MediaUrlN and
       MediaContentTypeN, Latitude/Longitude). SMS: the geo fields instead of
       ProfileName/WaId. "extra": true adds fields a receiver does not know
       about (AddOns, and ChannelMetadata on WhatsApp) - a signature must
       cover them.
  POST /_control/make_status {"message_sid"?, "status": "delivered", "to"?,
       "from"?, "account_sid"?, "error_code"?} -> {"params": [...]}: a status
       callback (ErrorCode on failed/undelivered: 63016 for a message sent
       outside the window, else 30008). Defaults come from the message (the
       last one created when no sid).
  POST /_control/deliver {"url": U, "auth_token": T, "params": [[n, v], ...]
       | {n: v | [v, ...]}, "signature": "good"|"bad"|"missing", "sign_url"?:
       the URL to sign instead of U (the public URL configured in Twilio, U
       with :443, ...), "method": "POST"|"GET", "times": 1, "gap_ms": 0,
       "parallel": false, "timeout_ms": 15000, "headers"?: {...}} sends the
       params as Twilio does: form-encoded in the given order (spaces as "+",
       "+" as %2B), X-Twilio-Signature = base64 HMAC-SHA1(T, sign URL + each
       name + value, names sorted, a repeated name's values de-duplicated and
       sorted) ("bad": signed with another token; "missing": no header),
       I-Twilio-Idempotency-Token (the same for every repetition),
       User-Agent: TwilioProxy/1.1. GET puts the params in the query and
       signs the full URL alone. -> {"statuses", "bodies", "content_types",
       "errors", "replies", "signature"} per attempt (status null, body
       "error: ..." for failed exchanges). "errors" is what Twilio's debugger
       would log: null, "11200 HTTP retrieval failure ...", and for inbound
       messages (no MessageStatus) "12300 Invalid Content-Type" when a
       non-empty answer is not text/xml or application/xml, "12100 Document
       parse failure" when it is no <Response> document; "replies" lists the
       <Message> texts of the TwiML answer. Delivering an inbound WhatsApp
       message opens its window; delivering a status callback moves the
       message to that status.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import sys
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit
from xml.etree import ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import (control_json, deliver_webhook, dumps, respond, run_vendor, try_request,  # noqa: E402
                      vendor_args)

API_VERSION = "2010-04-01"
API_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json")
ACCOUNT_RE = re.compile(r"AC[0-9a-fA-F]{32}")
API_KEY_RE = re.compile(r"SK[0-9a-fA-F]{32}")
SERVICE_RE = re.compile(r"MG[0-9a-fA-F]{32}")
CONTENT_RE = re.compile(r"HX[0-9a-fA-F]{32}")
MESSAGE_SID_RE = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
E164_RE = re.compile(r"\+[1-9]\d{6,14}")
SHORT_CODE_RE = re.compile(r"\d{3,8}")
ALPHA_ID_RE = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
DEFAULT_ACCOUNT = "AC7d1f0c2e5b9a4e3f8c6d2b1a0e9f8c7d"
DEFAULT_WHATSAPP = "whatsapp:+14155238886"   # the WhatsApp sandbox sender
DEFAULT_SMS = "+15005550006"                 # Twilio's "valid From" test number
CHANNEL_INSTALL_SID = "XE" + secrets.token_hex(16)
JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY = 1600
WINDOW_SECONDS = 24 * 3600
STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
            "accepted", "scheduled", "canceled", "partially_delivered", "receiving", "received")
COUNTRIES = {"1": "US", "7": "RU", "20": "EG", "27": "ZA", "33": "FR", "34": "ES", "39": "IT",
             "44": "GB", "49": "DE", "52": "MX", "54": "AR", "55": "BR", "57": "CO", "61": "AU",
             "62": "ID", "63": "PH", "81": "JP", "86": "CN", "90": "TR", "91": "IN", "92": "PK",
             "234": "NG", "254": "KE", "971": "AE"}
GSM_BASIC = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
                "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")
ERRORS = {  # code -> (HTTP status, message; {to}, {from}, {path} are filled in)
    20003: (401, "Authenticate"),
    20004: (405, "Method not allowed"),
    20404: (404, "The requested resource {path} was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service unavailable"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21212: (400, "The 'From' number {from} is not a valid phone number, shortcode, or "
                 "alphanumeric sender ID."),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21606: (400, "The 'From' phone number provided is not a valid message-capable Twilio phone "
                 "number for this destination/account."),
    21608: (400, "The number {to} is unverified. Trial accounts cannot send messages to "
                 "unverified numbers."),
    21609: (400, "Invalid StatusCallback url"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21612: (400, "The 'To' phone number: {to}, is not currently reachable using the 'From' "
                 "phone number: {from} via SMS."),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21620: (400, "Invalid media URL(s)"),
    21654: (400, "ContentSid Required"),
    21655: (400, "The ContentSid is Invalid"),
    21656: (400, "The ContentVariables Parameter is invalid"),
    21705: (400, "The Messaging Service is invalid"),
    21910: (400, "Invalid 'From' and 'To' pair. 'From' and 'To' should be of the same channel"),
    30008: (400, "Unknown error"),
    63016: (400, "Failed to send freeform message because you are outside the allowed window. "
                 "If you are using WhatsApp, please use a Message Template."),
}
STATUS_CODES = {400: 21211, 401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500,
                502: 20500, 503: 20503}

STEPS = defaultdict(deque)       # account sid -> scripted steps
SENT = defaultdict(list)         # account sid -> call records
REVOKED = set()                  # auth tokens / API key secrets
MESSAGES = {}                    # message sid -> {"resource", "account", "window_closed", ...}
WINDOWS = {}                     # (business, user), both "whatsapp:+...", -> last inbound (unix s)
CALLBACKS = []                   # automatic status callback deliveries
BACKGROUND = set()               # automatic status callbacks under way
CONFIG = {}


def default_config():
    return {"window": "enforce", "status_delay_ms": 100, "statuses": ["sent", "delivered"],
            "auth_tokens": {}}


def twilio_json(value):
    """Twilio's API answers: UTF-8 JSON with ", " and ": " separators."""
    return json.dumps(value, ensure_ascii=False).encode()


def new_sid(prefix):
    return prefix + secrets.token_hex(16)


def rfc2822(t):
    return format_datetime(datetime.fromtimestamp(t, timezone.utc))


def segments(body, whatsapp=False):
    """How many segments Twilio counts for a body (num_segments)."""
    if whatsapp or not body:
        return 1
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in body):
        units, single, multi = sum(2 if c in GSM_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, multi = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / multi)


# ---------------------------------------------------------------- signatures

def signed_string(url, params):
    """The string X-Twilio-Signature covers: the URL, then name + value for every
    parameter, names sorted, a repeated name's values de-duplicated and sorted."""
    by_name = {}
    for name, value in params:
        by_name.setdefault(name, set()).add(value)
    parts = [url]
    for name in sorted(by_name, key=lambda n: n.encode("utf-8")):
        for value in sorted(by_name[name], key=lambda v: v.encode("utf-8")):
            parts.append(name + value)
    return "".join(parts)


def signature(token, url, params=()):
    digest = hmac.new(token.encode("utf-8"), signed_string(url, params).encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def body_sha256_url(url, body):
    """A JSON-body webhook's URL: bodySHA256=<hex sha256 of the raw body> appended."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{url}{'&' if urlsplit(url).query else '?'}bodySHA256={digest}"


# ---------------------------------------------------------------- errors

class TwilioError(Exception):
    """A 2010 API error: HTTP status plus {code, message, more_info, status}."""

    def __init__(self, code, status=None, message=None, **fill):
        super().__init__(code)
        known_status, text = ERRORS.get(code, (400, f"Error {code}"))
        self.code, self.status = code, status or known_status
        if message is None:
            try:
                message = text.format(**{"to": "", "from": "", "path": "", **fill})
            except (KeyError, IndexError):
                message = text
        self.message = message
        self.headers = []

    def body(self):
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
                "status": self.status}


def scripted_error(step, fill):
    status = int(step["status"]) if "status" in step else None
    code = int(step["code"]) if "code" in step else STATUS_CODES.get(status or 400, 20500)
    err = TwilioError(code, status, step.get("message"), **fill)
    if err.status == 429:
        err.headers.append(("Retry-After", str(int(step.get("retry_after", 1)))))
    return err


def auth_failed(message="Authenticate"):
    err = TwilioError(20003, 401, message)
    err.headers.append(("WWW-Authenticate", 'Basic realm="Twilio API"'))
    return err


# ---------------------------------------------------------------- parameters

def form_pairs(req):
    """The request's parameters in order: the query of a GET, the form body of a POST."""
    if req.method in ("GET", "HEAD", "DELETE"):
        text = req.query
    else:
        base = req.headers.get("content-type", "").split(";")[0].strip().lower()
        if base not in ("", "application/x-www-form-urlencoded"):
            return []
        text = req.body.decode("utf-8", "replace")
    return parse_qsl(text, keep_blank_values=True)


def decoded(pairs):
    """Pairs -> {name: value}, a list for repeated names and for MediaUrl."""
    grouped = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return {n: vs if len(vs) > 1 or n == "MediaUrl" else vs[0] for n, vs in grouped.items()}


def basic_auth(req):
    scheme, _, value = req.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8") \
            .partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def authenticate(req, account):
    """-> (username, password) of valid Basic credentials for the account."""
    creds = basic_auth(req)
    if creds is None:
        raise auth_failed()
    user, password = creds
    if ACCOUNT_RE.fullmatch(user):
        if user != account:
            raise auth_failed()
    elif not API_KEY_RE.fullmatch(user):
        raise auth_failed("Authentication Error - invalid username")
    if not password or password in REVOKED:
        raise auth_failed()
    if not ACCOUNT_RE.fullmatch(account):
        raise TwilioError(20404, path=req.path)
    return user, password


def address(value):
    """'whatsapp:+1 415-523-8886' -> ('whatsapp', '+14155238886'); None when no E.164."""
    channel, number = ("whatsapp", value[9:]) if value.lower().startswith("whatsapp:") \
        else ("sms", value)
    number = re.sub(r"[\s().-]", "", number)
    return (channel, number) if E164_RE.fullmatch(number) else None


def sender(value):
    """A From value -> (channel, normalised), or None."""
    found = address(value)
    if found:
        return found
    if SHORT_CODE_RE.fullmatch(value) or ALPHA_ID_RE.fullmatch(value):
        return "sms", value
    return None


def http_url(value):
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def check_content_variables(raw):
    try:
        value = json.loads(raw)
    except ValueError:
        return False
    return isinstance(value, dict) and all(
        v is not None and v != "" and not isinstance(v, (dict, list)) for v in value.values())


# ---------------------------------------------------------------- messages

def full(channel, number):
    return f"whatsapp:{number}" if channel == "whatsapp" else number


def window_open(business, user, now=None):
    now = now or time.time()
    if business is None:
        return any(u == user and now - t < WINDOW_SECONDS for (_, u), t in WINDOWS.items())
    last = WINDOWS.get((business, user))
    return last is not None and now - last < WINDOW_SECONDS


def create_message(account, pairs, creds):
    """Validates a create call as Twilio does -> the Message resource."""
    params = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)

    def one(name):
        return params[name][0] if name in params else None

    to_raw = one("To")
    if to_raw is None or not to_raw.strip():
        raise TwilioError(21604)
    to = address(to_raw.strip())
    if to is None:
        raise TwilioError(21211, to=to_raw)
    from_raw, service = one("From"), one("MessagingServiceSid")
    if not from_raw and not service:
        raise TwilioError(21603)
    if service and not SERVICE_RE.fullmatch(service):
        raise TwilioError(21705)
    frm = None
    if from_raw:
        frm = sender(from_raw.strip())
        if frm is None:
            raise TwilioError(21212, **{"from": from_raw})
        if frm[0] != to[0]:
            raise TwilioError(21910)
    body, content, variables = one("Body"), one("ContentSid"), one("ContentVariables")
    media = params.get("MediaUrl", [])
    if variables is not None and not content:
        raise TwilioError(21654)
    if content is not None and not CONTENT_RE.fullmatch(content):
        raise TwilioError(21655)
    if variables is not None and not check_content_variables(variables):
        raise TwilioError(21656)
    if not body and not content and not media:
        raise TwilioError(21602)
    if body and len(body) > MAX_BODY:
        raise TwilioError(21617)
    if not all(http_url(u) for u in media):
        raise TwilioError(21620)
    callback = one("StatusCallback")
    if callback is not None and not http_url(callback):
        raise TwilioError(21609)

    whatsapp = to[0] == "whatsapp"
    to_full = full(*to)
    from_full = full(*frm) if frm else None
    sid = new_sid("MM" if media else "SM")
    stamp = rfc2822(time.time())
    base = f"/{API_VERSION}/Accounts/{account}/Messages/{sid}"
    resource = {
        "sid": sid, "account_sid": account, "messaging_service_sid": service,
        "to": to_full, "from": from_full, "body": body or "",
        "status": "accepted" if service else "queued",
        "num_segments": "0" if service else str(segments(body or "", whatsapp)),
        "num_media": str(len(media)), "direction": "outbound-api", "api_version": API_VERSION,
        "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
        "date_created": stamp, "date_updated": stamp, "date_sent": None,
        "uri": f"{base}.json", "subresource_uris": {"media": f"{base}/Media.json"},
    }
    closed = (whatsapp and CONFIG["window"] == "enforce" and not content
              and not window_open(from_full, to_full))
    MESSAGES[sid] = {"resource": resource, "account": account, "window_closed": closed,
                     "callback": callback, "token": creds[1], "service": service}
    if callback:
        task = asyncio.get_running_loop().create_task(auto_statuses(sid))
        BACKGROUND.add(task)
        task.add_done_callback(BACKGROUND.discard)
    return resource


def set_status(sid, status, error_code=None):
    """Moves a created message to a status (its resource is what GET answers)."""
    m = MESSAGES.get(sid)
    if not m:
        return
    res, now = m["resource"], time.time()
    res["status"] = status
    res["date_updated"] = rfc2822(now)
    if res["from"] is None and status not in ("accepted", "scheduled", "canceled"):
        res["from"] = DEFAULT_WHATSAPP if res["to"].startswith("whatsapp:") else DEFAULT_SMS
    if status in ("sent", "delivered", "read", "undelivered") and res["date_sent"] is None:
        res["date_sent"] = rfc2822(now)
    if status in ("sent", "delivered", "read") and res["num_segments"] == "0":
        res["num_segments"] = str(segments(res["body"], res["to"].startswith("whatsapp:")))
    if status in ("failed", "undelivered"):
        code = int(error_code) if error_code else (63016 if m["window_closed"] else 30008)
        res["error_code"] = code
        res["error_message"] = ERRORS.get(code, (0, None))[1]


async def auto_statuses(sid):
    """What Twilio posts to a message's StatusCallback after accepting it."""
    m = MESSAGES.get(sid)
    if m is None:
        return
    if m["window_closed"]:
        kinds = ["failed"]
    else:
        kinds = [str(k) for k in (CONFIG["statuses"] or [])]
    if m["service"]:
        kinds = ["queued"] + kinds
    for kind in kinds:
        await asyncio.sleep(max(0, float(CONFIG["status_delay_ms"])) / 1000)
        if MESSAGES.get(sid) is not m:  # reset meanwhile
            return
        set_status(sid, kind)
        params = [tuple(kv) for kv in make_status({"message_sid": sid, "status": kind})["params"]]
        token = str(CONFIG["auth_tokens"].get(m["account"]) or m["token"])
        data = urlencode(params).encode()
        try:
            headers = webhook_headers(signature(token, m["callback"], params))
            status, body, _, _ = await try_request("POST", m["callback"], data, headers, 15)
        except (TypeError, ValueError) as e:  # no fake misconfiguration goes unseen
            status, body = None, f"error: {e!r}"
        CALLBACKS.append({"url": m["callback"], "params": [list(kv) for kv in params],
                          "status": status, "body": body, "at": time.time(), "sid": sid})


def message_list(account):
    base = f"/{API_VERSION}/Accounts/{account}/Messages.json"
    found = [m["resource"] for m in reversed(MESSAGES.values()) if m["account"] == account]
    return {"first_page_uri": f"{base}?PageSize=50&Page=0", "end": max(0, len(found) - 1),
            "previous_page_uri": None, "messages": found[:50], "uri": f"{base}?PageSize=50&Page=0",
            "page_size": 50, "start": 0, "next_page_uri": None, "page": 0}


def take_step(account):
    queue = STEPS.get(account)
    return queue.popleft() if queue else {}


async def api_call(req, account, sid):
    """One REST call, recorded. -> (status, body, headers), or None to drop the connection."""
    pairs = form_pairs(req)
    record = {"path": req.path, "method": req.method, "params": decoded(pairs), "status": None,
              "at": time.time(), "sid": None, "code": None}
    SENT[account].append(record)
    headers = [("Twilio-Request-Id", new_sid("RQ"))]
    fill = {"path": req.path, "to": record["params"].get("To", ""),
            "from": record["params"].get("From", "")}
    try:
        step = take_step(account)
        if step.get("delay_ms"):
            await asyncio.sleep(float(step["delay_ms"]) / 1000)
        if step.get("close"):
            return None
        if ("status" in step or "code" in step) and not 200 <= int(step.get("status", 400)) < 300:
            raise scripted_error(step, fill)
        creds = authenticate(req, account)
        if sid is None and req.method == "POST":
            status, body = 201, create_message(account, pairs, creds)
            record["sid"] = body["sid"]
        elif sid is None and req.method in ("GET", "HEAD"):
            status, body = 200, message_list(account)
        elif sid is not None and req.method in ("GET", "HEAD"):
            m = MESSAGES.get(sid)
            if m is None or m["account"] != account:
                raise TwilioError(20404, path=req.path)
            status, body = 200, m["resource"]
            record["sid"] = sid
        else:
            raise TwilioError(20004)
    except TwilioError as e:
        record["status"], record["code"] = e.status, e.code
        return e.status, e.body(), headers + e.headers
    record["status"] = status
    if step.get("lose_answer"):
        return None  # taken, but the answer is lost on the way back
    return status, body, headers


# ---------------------------------------------------------------- webhook parameters

def country(number):
    digits = number.lstrip("+")
    for n in (3, 2, 1):
        if digits[:n] in COUNTRIES:
            return COUNTRIES[digits[:n]]
    return ""


def media_type(content_type):
    major = content_type.split("/")[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(major, "document")


def last_sent_to(user):
    for sid in reversed(MESSAGES):
        if MESSAGES[sid]["resource"]["to"] == user:
            return sid
    return None


def make_message(spec):
    raw_from = spec.get("from")
    if not isinstance(raw_from, str) or address(raw_from) is None:
        raise ValueError('from is required: "whatsapp:+<E.164>" or "+<E.164>"')
    user = full(*address(raw_from))
    whatsapp = user.startswith("whatsapp:")
    to = str(spec.get("to") or (DEFAULT_WHATSAPP if whatsapp else DEFAULT_SMS))
    if whatsapp != to.lower().startswith("whatsapp:"):
        raise ValueError("from and to must be of the same channel")
    account = str(spec.get("account_sid") or DEFAULT_ACCOUNT)
    media = spec.get("media") or []
    if not isinstance(media, list):
        raise ValueError("media must be a list")
    sid = str(spec.get("message_sid") or new_sid("MM" if media else "SM"))
    items = []
    for m in media:
        m = {"url": m} if isinstance(m, str) else dict(m)
        ctype = str(m.get("content_type") or "image/jpeg")
        url = str(m.get("url") or f"https://api.twilio.com/{API_VERSION}/Accounts/{account}/"
                                  f"Messages/{sid}/Media/{new_sid('ME')}")
        items.append((url, ctype))
    button = spec.get("button_payload")
    location = spec.get("location")
    if button is not None:
        kind, body = "button", str(spec.get("button_text") or button)
    elif isinstance(location, dict):
        kind, body = "location", str(spec.get("body", ""))
    elif items:
        kind, body = media_type(items[0][1]), str(spec.get("body", ""))
    else:
        kind, body = "text", str(spec.get("body", "hi"))
    name = str(spec.get("profile_name") or "Test User")
    digits = user.split(":", 1)[-1].lstrip("+")
    service = spec.get("messaging_service_sid")
    media_types = [(f"MediaContentType{i}", c) for i, (_, c) in enumerate(items)]
    media_urls = [(f"MediaUrl{i}", u) for i, (u, _) in enumerate(items)]

    if whatsapp:
        p = media_types + [("SmsMessageSid", sid), ("NumMedia", str(len(items))),
                           ("ProfileName", name), ("MessageType", kind), ("SmsSid", sid),
                           ("WaId", digits), ("SmsStatus", "received"), ("Body", body),
                           ("To", to)]
        if kind == "button":
            replied = spec.get("replied_sid") or last_sent_to(user)
            if replied:
                p += [("OriginalRepliedMessageSender", to), ("OriginalRepliedMessageSid", replied)]
            p += [("ButtonText", body), ("ButtonPayload", str(button))]
        if kind == "location":
            p += [("Latitude", str(location.get("latitude", 19.0760))),
                  ("Longitude", str(location.get("longitude", 72.8777)))]
            p += [(k.capitalize(), str(location[k])) for k in ("address", "label") if k in location]
        p += [("NumSegments", "1"), ("ReferralNumMedia", "0"), ("MessageSid", sid),
              ("AccountSid", account)]
        if service:
            p.append(("MessagingServiceSid", str(service)))
        p += media_urls + [("From", user), ("ApiVersion", API_VERSION)]
    else:
        to_c, from_c = country(to), country(user)
        p = [("ToCountry", to_c), ("ToState", ""), ("SmsMessageSid", sid),
             ("NumMedia", str(len(items))), ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid),
             ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""), ("Body", body),
             ("FromCountry", from_c), ("To", to)]
        if service:
            p.append(("MessagingServiceSid", str(service)))
        p += media_types + [("ToZip", ""), ("NumSegments", str(segments(body))),
                            ("MessageSid", sid), ("AccountSid", account)]
        p += media_urls + [("From", user), ("ApiVersion", API_VERSION)]

    extra = spec.get("extra")
    if extra is True:
        if whatsapp:
            meta = {"type": "whatsapp", "data": {"context": {"ProfileName": name, "WaId": digits}}}
            p.insert(len(p) - 2, ("ChannelMetadata", json.dumps(meta, separators=(",", ":"))))
        p.insert(3, ("AddOns", '{"status":"successful","message":null,"code":null,"results":{}}'))
    elif isinstance(extra, list):
        p += [(str(n), str(v)) for n, v in extra]
    elif extra not in (None, False):
        raise ValueError("extra must be true or [[name, value], ...]")
    return {"params": [list(kv) for kv in p]}


def make_status(spec):
    sid = spec.get("message_sid")
    account = spec.get("account_sid")
    if not sid:
        for s in reversed(MESSAGES):
            if account is None or MESSAGES[s]["account"] == account:
                sid = s
                break
    if not isinstance(sid, str) or not sid:
        raise ValueError("message_sid is required (no message was created yet)")
    m = MESSAGES.get(sid) or {}
    res = m.get("resource", {})
    status = str(spec.get("status", "delivered"))
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    account = str(account or m.get("account") or DEFAULT_ACCOUNT)
    to = spec.get("to") or res.get("to")
    if not to:
        raise ValueError("to is required (unknown message)")
    to = str(to)
    whatsapp = to.lower().startswith("whatsapp:")
    frm = str(spec.get("from") or res.get("from")
              or (DEFAULT_WHATSAPP if whatsapp else DEFAULT_SMS))
    error = spec.get("error_code")
    if error is None and status in ("failed", "undelivered"):
        error = 63016 if m.get("window_closed") else 30008
    err = [("ErrorCode", str(error))] if error is not None else []
    if whatsapp:
        p = ([("ChannelPrefix", "whatsapp"), ("ApiVersion", API_VERSION),
              ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status)] + err
             + [("ChannelInstallSid", CHANNEL_INSTALL_SID), ("To", to), ("From", frm),
                ("MessageSid", sid), ("AccountSid", account),
                ("ChannelToAddress", to.split(":", 1)[1])])
    else:
        p = [("SmsSid", sid), ("SmsStatus", status), ("MessageStatus", status)] + err + \
            [("To", to)]
        if res.get("messaging_service_sid"):
            p.append(("MessagingServiceSid", res["messaging_service_sid"]))
        p += [("MessageSid", sid), ("AccountSid", account), ("From", frm),
              ("ApiVersion", API_VERSION)]
    return {"params": [list(kv) for kv in p]}


# ---------------------------------------------------------------- delivering webhooks

def webhook_headers(sig, form=True, token=None):
    headers = [("Content-Type", "application/x-www-form-urlencoded")] if form else []
    if sig is not None:
        headers.append(("X-Twilio-Signature", sig))
    headers += [("I-Twilio-Idempotency-Token", token or str(uuid.uuid4())),
                ("User-Agent", "TwilioProxy/1.1"), ("Accept", "*/*"), ("X-Home-Region", "us1")]
    return headers


def twiml_outcome(status, body, content_type, inbound):
    """-> (error Twilio's debugger would log or None, the <Message> texts answered)."""
    if status is None:
        return f"11200 HTTP retrieval failure: {body}", []
    if not 200 <= status < 300:
        return f"11200 HTTP retrieval failure: HTTP {status}", []
    if not inbound or not body.strip():
        return None, []
    base = (content_type or "").split(";")[0].strip().lower()
    if base not in ("text/xml", "application/xml"):
        return f"12300 Invalid Content-Type: {content_type}", []
    try:
        root = ElementTree.fromstring(body.encode("utf-8"))
    except ElementTree.ParseError as e:
        return f"12100 Document parse failure: {e}", []
    if root.tag != "Response":
        return f"12100 Document parse failure: root element <{root.tag}>", []
    replies = []
    for m in root.iter("Message"):
        inner = m.find("Body")
        replies.append((inner.text if inner is not None else m.text) or "")
    return None, replies


def param_pairs(raw):
    if isinstance(raw, dict):
        pairs = []
        for k, v in raw.items():
            for one in (v if isinstance(v, list) else [v]):
                pairs.append((str(k), "" if one is None else str(one)))
        return pairs
    if isinstance(raw, list) and all(isinstance(kv, (list, tuple)) and len(kv) == 2 for kv in raw):
        return [(str(k), "" if v is None else str(v)) for k, v in raw]
    raise ValueError("params must be [[name, value], ...] or {name: value}")


def observe(pairs):
    """What Twilio itself knows once it posts these params: an inbound WhatsApp
    message opens the window; a status callback moves the message."""
    p = dict(pairs)
    if "MessageStatus" in p:
        if p.get("MessageSid") in MESSAGES and p["MessageStatus"] in STATUSES:
            set_status(p["MessageSid"], p["MessageStatus"], p.get("ErrorCode"))
        return
    frm, to = p.get("From", ""), p.get("To", "")
    if frm.lower().startswith("whatsapp:") and to:
        WINDOWS[(to, frm)] = time.time()


async def deliver(msg):
    url = msg.get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("url is required")
    pairs = param_pairs(msg.get("params", []))
    mode = msg.get("signature", "good")
    if mode not in ("good", "bad", "missing"):
        raise ValueError('signature must be "good", "bad" or "missing"')
    token = msg.get("auth_token")
    if token is None:
        token = CONFIG["auth_tokens"].get(dict(pairs).get("AccountSid"))
    if mode != "missing" and not isinstance(token, str):
        raise ValueError("auth_token is required to sign")
    method = str(msg.get("method", "POST")).upper()
    if method not in ("POST", "GET"):
        raise ValueError('method must be "POST" or "GET"')
    sign_url = msg.get("sign_url") or url
    if not isinstance(sign_url, str):
        raise ValueError("sign_url must be a string")
    form = urlencode(pairs)
    if method == "GET":
        def with_query(u):
            return f"{u}{'&' if urlsplit(u).query else '?'}{form}" if form else u
        url, sign_url, signed_params, data = with_query(url), with_query(sign_url), [], None
    else:
        signed_params, data = pairs, form.encode()
    sig = None
    if mode != "missing":
        sig = signature(token if mode == "good" else f"not-{token}", sign_url, signed_params)
    headers = webhook_headers(sig, form=False)  # one idempotency token for every repetition
    inbound = "MessageStatus" not in dict(pairs)  # else a status callback: no TwiML expected

    def outcome(a):
        error, replies = twiml_outcome(a.status, a.body, a.headers.get("content-type"), inbound)
        return {"content_types": a.headers.get("content-type"), "errors": error, "replies": replies}

    return await deliver_webhook(
        msg, lambda _: headers, url=url, body=data, method=method,
        content_type="application/x-www-form-urlencoded" if method == "POST" else None,
        timeout_ms=15000, before_send=lambda: observe(pairs), answer=outcome,
        signature="X-Twilio-Signature")


# ---------------------------------------------------------------- control

def reset():
    for table in (STEPS, SENT, MESSAGES, WINDOWS):
        table.clear()
    REVOKED.clear()
    CALLBACKS.clear()
    for task in list(BACKGROUND):
        task.cancel()
    CONFIG.clear()
    CONFIG.update(default_config())


def set_window(msg):
    user = msg.get("user") or msg.get("from")
    if not isinstance(user, str) or address(user) is None:
        raise ValueError('user is required: "whatsapp:+<E.164>"')
    user = "whatsapp:" + address(user)[1]
    business = str(msg.get("business") or msg.get("to") or DEFAULT_WHATSAPP)
    last = msg.get("last_inbound", "now")
    if last is None:
        WINDOWS.pop((business, user), None)
    else:
        WINDOWS[(business, user)] = time.time() if last == "now" else float(last)
    return {"open": window_open(business, user), "last_inbound": WINDOWS.get((business, user))}


async def control_post(path, msg):
    """-> (status, answer) for a POST /_control/... with a JSON object body."""
    if path == "/_control/script":
        steps, account = msg.get("steps"), msg.get("account_sid")
        if (not isinstance(account, str) or not isinstance(steps, list)
                or not all(isinstance(s, dict) for s in steps)):
            return 400, {"error": 'expected {"account_sid": str, "steps": [{...}]}'}
        for step in steps:
            for key in ("status", "code", "delay_ms", "retry_after"):
                if key in step and (isinstance(step[key], bool)
                                    or not isinstance(step[key], (int, float))):
                    return 400, {"error": f"step field {key} must be a number: {step}"}
        STEPS[account].extend(steps)
        return 200, {"queued": len(STEPS[account])}
    if path == "/_control/reset":
        reset()
        return 200, {"reset": True}
    if path == "/_control/revoke":
        if not isinstance(msg.get("token"), str):
            return 400, {"error": 'expected {"token": str}'}
        (REVOKED.add if msg.get("revoked", True) else REVOKED.discard)(msg["token"])
        return 200, {"revoked": sorted(REVOKED)}
    if path == "/_control/config":
        if msg.get("window", CONFIG["window"]) not in ("enforce", "off"):
            return 400, {"error": 'window must be "enforce" or "off"'}
        if not isinstance(msg.get("statuses", []), list) or \
                not all(k in STATUSES for k in msg.get("statuses", [])):
            return 400, {"error": f"statuses must be a list of {', '.join(STATUSES)}"}
        if not isinstance(msg.get("auth_tokens", {}), dict):
            return 400, {"error": "auth_tokens must be an object"}
        CONFIG.update({k: msg[k] for k in ("window", "status_delay_ms", "statuses",
                                           "auth_tokens") if k in msg})
        return 200, dict(CONFIG)
    if path == "/_control/window":
        return 200, set_window(msg)
    if path == "/_control/make_message":
        return 200, make_message(msg)
    if path == "/_control/make_status":
        return 200, make_status(msg)
    if path == "/_control/deliver":
        return 200, await deliver(msg)
    return 404, {"error": "not found"}


async def control(req, writer, keep_alive):
    if req.method == "GET" and req.path == "/_control/sent":
        account = req.params.get("account_sid")
        if account is not None:
            records = list(SENT.get(account, []))
        else:
            records = [dict(r, account_sid=a) for a, rs in SENT.items() for r in rs]
        await respond(writer, req, 200, dumps({"sent": records}), keep_alive)
        return keep_alive
    if req.method == "GET" and req.path == "/_control/callbacks":
        await respond(writer, req, 200, dumps({"callbacks": CALLBACKS}), keep_alive)
        return keep_alive
    return await control_json(req, writer, keep_alive, control_post, (TypeError, ValueError, KeyError, AttributeError))


# ---------------------------------------------------------------- serving

async def route(req, writer, keep_alive):
    if req.path.startswith("/_control/"):
        return await control(req, writer, keep_alive)
    m = API_PATH.fullmatch(req.path)
    if not m:
        err = TwilioError(20404, path=req.path)
        await respond(writer, req, 404, twilio_json(err.body()), keep_alive, JSON_TYPE,
                      [("Twilio-Request-Id", new_sid("RQ"))])
        return keep_alive
    outcome = await api_call(req, m[1], m[2])
    if outcome is None:
        return False  # scripted {"close": true}
    status, body, headers = outcome
    await respond(writer, req, status, twilio_json(body), keep_alive, JSON_TYPE, headers)
    return keep_alive


async def self_test():
    """The reference's X-Twilio-Signature vectors and a few validation rules."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
              ("From", "+14158675309"), ("To", "+18005551212")]
    assert signed_string(url, params) == (
        "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309"
        "Digits1234From+14158675309To+18005551212")
    assert signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature("12345", url, list(reversed(params))) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"),
                ("Digits", "1234"), ("Digits", "1234")]
    assert signature("12345", url, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    body = b'{"property": "value", "boolean": true}'
    with_hash = body_sha256_url(url, body)
    assert with_hash == url + "&bodySHA256=" \
        "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620", with_hash
    assert signature("12345", with_hash) == "a9nBmqA0ju/hNViExpshrM61xv4="
    assert signature("12345", "https://MyCompany.com/myapp.php?foo=1&bar=2", params) == \
        "g9IN/x4Cft2g517EjYvEvM/W7LU="
    assert signature("12345", "https://MyCompany.com:1234/myapp.php?foo=1&bar=2", params) == \
        "PCqOZm8cnu/L6+u5i5fuEd+Iac4="
    assert signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", params) == \
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    # form round trip: "+" and spaces survive, the signature is over decoded values
    pairs = [("Body", "a+b c&d=é"), ("From", "whatsapp:+919876543210")]
    assert parse_qsl(urlencode(pairs)) == pairs and "%2B919876543210" in urlencode(pairs)

    CONFIG.update(default_config())
    creds = (DEFAULT_ACCOUNT, "token")

    def code_of(p):
        try:
            create_message(DEFAULT_ACCOUNT, p, creds)
        except TwilioError as e:
            return e.code
        return None

    wa = [("From", DEFAULT_WHATSAPP)]
    assert code_of([("Body", "hi")] + wa) == 21604
    assert code_of([("To", "5551234567"), ("Body", "hi")] + wa) == 21211
    assert TwilioError(21211, to="5551234567").message == \
        "The 'To' number 5551234567 is not a valid phone number."
    assert code_of([("To", "whatsapp:+919876543210"), ("Body", "hi")]) == 21603
    assert code_of([("To", "whatsapp:+919876543210")] + wa) == 21602
    assert code_of([("To", "+919876543210"), ("Body", "hi")] + wa) == 21910
    assert code_of([("To", "whatsapp:+919876543210"), ("Body", "x" * 1601)] + wa) == 21617
    assert code_of([("To", "whatsapp:+919876543210"), ("ContentSid", "HX1")] + wa) == 21655
    assert code_of([("To", "whatsapp:+919876543210"), ("ContentSid", "HX" + "a" * 32),
                    ("ContentVariables", "not json")] + wa) == 21656
    res = create_message(DEFAULT_ACCOUNT, [("To", "whatsapp:+91 98765-43210"), ("Body", "Hola")]
                         + wa, creds)
    assert res["to"] == "whatsapp:+919876543210" and res["status"] == "queued"
    assert re.fullmatch(r"SM[0-9a-f]{32}", res["sid"]) and res["num_segments"] == "1"
    assert res["date_created"].endswith(" +0000") and MESSAGES[res["sid"]]["window_closed"]
    assert segments("x" * 160) == 1 and segments("x" * 161) == 2 and segments("é" * 71) == 1
    assert segments("ç" * 70) == 1 and segments("ç" * 71) == 2 and segments("{" * 81) == 2
    made = make_message({"from": "whatsapp:+919876543210", "body": "hi", "extra": True})
    p = dict(made["params"])
    assert p["WaId"] == "919876543210" and p["SmsStatus"] == "received" and "AddOns" in p
    assert p["MessageSid"] == p["SmsSid"] == p["SmsMessageSid"] and p["To"] == DEFAULT_WHATSAPP
    s = dict(make_status({"status": "failed"})["params"])
    assert s["MessageSid"] == res["sid"] and s["ErrorCode"] == "63016"

    async def callbacks():  # automatic status callbacks, to a port nobody listens on
        CONFIG["status_delay_ms"] = 0
        WINDOWS[(DEFAULT_WHATSAPP, "whatsapp:+919876543210")] = time.time()
        made = create_message(DEFAULT_ACCOUNT, [("To", "whatsapp:+919876543210"), ("Body", "ok"),
                                                ("StatusCallback", "http://127.0.0.1:1/s")]
                              + wa, creds)
        await asyncio.gather(*BACKGROUND)
        return made["sid"]

    sid = await callbacks()
    assert [dict(c["params"])["MessageStatus"] for c in CALLBACKS] == ["sent", "delivered"]
    assert MESSAGES[sid]["resource"]["status"] == "delivered"
    reset()
    print("self-test ok")


async def main():
    ap = vendor_args(__doc__)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        await self_test()
        return
    CONFIG.update(default_config())

    await run_vendor(args, route)
    for task in list(BACKGROUND):
        task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
