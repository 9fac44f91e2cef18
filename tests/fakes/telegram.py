#!/usr/bin/env python3
"""Fake Telegram Bot API (plus a webhook deliverer) for flowhost integration tests.

Dependency-free (Python 3 stdlib, asyncio); the HTTP/1.1 parsing is the fake
upstream's (tests/fakes/upstream.py). Wire shapes, error texts and edge cases
follow shared/reference/wire-formats.md section 3.

Usage:
    python3 tests/fakes/telegram.py --port 0 [--host 127.0.0.1] [--port-file PATH]

Prints exactly one line ``READY <port>`` to stdout once listening; serves
until SIGTERM/SIGINT, then exits 0.

Bot API: /bot<TOKEN>/<method>, GET or POST, method names case-insensitive.
Parameters come from the query string and the body (application/json,
application/x-www-form-urlencoded or multipart/form-data; the body wins).
Answers {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":...
[,"parameters":{...}]} with the HTTP status equal to error_code. Raw UTF-8 JSON.
  Tokens: any token matching ^\\d+:[A-Za-z0-9_-]{10,}$ unless revoked -> else
      401 Unauthorized. Unknown method -> 404 Not Found.
  getMe               the bot user (id = the token's number).
  sendMessage         chat_id, text; parse_mode (MarkdownV2, HTML, Markdown:
      parsed as Telegram does - markup stripped, entities returned, the
      real "can't parse entities: ..." errors), reply_markup (object or JSON
      text; inline_keyboard must be rows of buttons with text and
      callback_data of 1-64 bytes, or a url). Errors: "chat_id is empty";
      "chat not found" (chat_id not an integer: JSON floats, @names);
      "message text is empty" (also whitespace only); "message is too long"
      (> 4096 characters after entity parsing); "BUTTON_DATA_INVALID";
      "can't parse reply keyboard markup JSON object"; "unsupported
      parse_mode"; 403 "Forbidden: bot was blocked by the user" (blocked chat).
      Result: Message {message_id (one sequence per chat, shared with the
      user messages make_update builds), from (the bot), chat, date, text,
      entities?, reply_markup? (inline keyboards only, as Telegram)}.
  sendChatAction      chat_id, action (typing, upload_document, ...) -> true.
  answerCallbackQuery callback_query_id -> true.
  setWebhook          url (https on ports 80/88/443/8443; http and any port
      are allowed for 127.0.0.1/localhost/::1 only, unlike Telegram; "" removes
      it), secret_token (1-256 of A-Za-z0-9_-), max_connections,
      allowed_updates, drop_pending_updates -> true, "Webhook was set" (or
      "Webhook is already set").
  deleteWebhook       drop_pending_updates -> true, "Webhook was deleted".
  getWebhookInfo      url, has_custom_certificate, pending_update_count,
      max_connections, ip_address, allowed_updates, last_error_date and
      last_error_message (from deliveries made with a "token", see deliver).
  getUpdates          offset (confirms smaller ids; -N keeps the last N),
      limit (1-100), timeout (long poll, ends early when an update is
      queued), allowed_updates. 409 while a webhook is set; a newer
      getUpdates ends a waiting one with 409 "Conflict: terminated by other
      getUpdates request; make sure that only one bot instance is running".

Telegram Business (a bot answering a person's own account, Bot API 7.2+):
  A connection is made with POST /_control/business_connection (below).
  sendMessage, sendChatAction, sendPhoto and sendDocument take
      business_connection_id: the message goes into the owner's private chat
      chat_id; unknown id -> 400 "Bad Request: BUSINESS_CONNECTION_INVALID",
      a disabled connection or one without the reply right -> 400
      "Bad Request: BUSINESS_PEER_INVALID" (both texts UNCONFIRMED, see
      wire-formats.md 3). The Message carries business_connection_id,
      from = the owner and sender_business_bot = the bot.
  getBusinessConnection business_connection_id -> BusinessConnection {id,
      user, user_chat_id, date, is_enabled, can_reply, rights{can_reply}}.

Every Bot API call is recorded per token, failed and dropped ones included:
{"method" (canonical spelling), "params" (query and body merged; JSON text
in reply_markup, reply_parameters, link_preview_options, entities and
allowed_updates is decoded), "status" (null while a long poll waits and
for dropped connections), "at" (unix seconds, float, when received)}.

Control API (JSON in and out; anything else -> 404):
  POST /_control/script {"token": T, "steps": [step, ...]}   appends steps;
       each Bot API call for T takes the first step whose "method" (if any)
       matches the call's method, before normal handling. Fields combine:
       {"delay_ms": M}            wait M ms first (then the rest, or normal)
       {"close": true}            drop the connection without answering
       {"lose_answer": true}      handle the call (the message is sent and
                                  recorded), then drop the connection
                                  without the answer
       {"status": 429, "retry_after": N}   429 "Too Many Requests: retry
                                  after N", parameters.retry_after, Retry-After
       {"status": 403}            "Forbidden: bot was blocked by the user"
       {"status": 500}            "Internal Server Error" (any status works;
                                  400 "Bad Request", 401, 404, 409, 502...)
       {"status": 400, "migrate_to_chat_id": X}  "Bad Request: group chat was
                                  upgraded to a supergroup chat" + parameters
       {"description": "..."}     overrides the error text
       {"method": "sendMessage"}  only calls of that method take this step
  GET  /_control/sent?token=T[&method=sendMessage]  {"sent": [record, ...]}
       (no token: every token's records, each with "token")
  GET  /_control/count?token=T[&method=sendMessage]  {"count": N, "last_at":
       unix seconds | null} of the records answered 200 (a load driver
       polls it: tests/storm/storm.py)
  POST /_control/reset        forgets steps, records, blocks, revocations,
       webhooks, queued updates and known chats (ids keep increasing)
  POST /_control/block {"chat_id": X[, "blocked": false]}    (un)blocks a chat
  POST /_control/revoke {"token": T[, "revoked": false]}     (un)revokes a token
  POST /_control/update {"token": T, "update": {...}}   queues an update for
       getUpdates (update_id assigned when missing) -> {"queued", "update_id"}
  POST /_control/make_update {"chat_id": X, "text": "..." | "callback_data":
       "...", "first_name"?, "last_name"?, "username"?, "language_code"?,
       "user_id"?, "update_id"?, "message_id"? (the message a button sits on),
       "token"?} -> a realistic Update: a message (bot_command entity for
       /commands) or a callback_query on the last message the bot sent to
       that chat with an inline keyboard. update_id is sequential per fake.
  POST /_control/business_connection {"user_id": X, "first_name"?,
       "username"?, "id"?, "enabled"?: true, "can_reply"?: true, "token"?}
       makes (or, same id, changes) the connection the person X made to the
       bot -> the business_connection Update Telegram sends (both can_reply
       and the Bot API 9.0 rights object).
  make_update with "business_connection_id": a business_message from
       user_id (the owner's id: the owner writing in their own chat) in the
       private chat chat_id, as Telegram delivers it to the bot; with
       "edited": true an edited_business_message.
  POST /_control/deliver {"url": U, "secret": S|null, "update": {...},
       "times": 1, "gap_ms": 0, "parallel": false, "timeout_ms": 10000,
       "headers": {...}?, "token": T?} POSTs the Update to U as Telegram
       does (Content-Type: application/json, X-Telegram-Bot-Api-Secret-Token
       when S is not null) -> {"statuses": [...], "bodies": [...]} (status
       null and body "error: ..." when the exchange failed). With a token:
       url and secret default to T's webhook, failures set its
       last_error_*, and a 2xx answer that is a method call
       ({"method": "sendMessage", ...}) is executed (and recorded) for T.
       http:// only.
"""
import asyncio
import json
import os
import re
import secrets
import sys
import time
from collections import defaultdict, deque
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from upstream import control_json, deliver_webhook, dumps, respond, run_vendor, vendor_args  # noqa: E402

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]{10,}")
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
BOT_PATH = re.compile(r"/bot([^/]*)/([^/]*)")
METHODS = {m.lower(): m for m in (
    "getMe", "sendMessage", "sendPhoto", "sendDocument", "sendChatAction", "answerCallbackQuery",
    "setWebhook", "deleteWebhook", "getWebhookInfo", "getUpdates", "getBusinessConnection")}
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice",
                "upload_voice", "upload_document", "choose_sticker", "find_location",
                "record_video_note", "upload_video_note"}
JSON_PARAMS = ("reply_markup", "reply_parameters", "link_preview_options", "entities",
               "allowed_updates")
NOT_BY_DEFAULT = {"chat_member", "message_reaction", "message_reaction_count"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_TEXT = 4096
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
         "instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first")


class Bot:
    """What Telegram keeps per bot token."""

    def __init__(self):
        self.webhook = None      # {"url", "secret_token", "max_connections", "ip_address"}
        self.last_error = None   # (unix date, message) of the last failed delivery
        self.updates = []        # queued for getUpdates, in arrival order
        self.allowed = []        # allowed_updates as last set ([]: the default set)
        self.polls = 0           # getUpdates calls so far: a newer one ends an older wait
        self.wake = asyncio.Event()

    def notify(self):
        """Wake every waiting long poll (they re-check their state)."""
        self.wake.set()
        self.wake = asyncio.Event()


BOTS = {}                        # token -> Bot
STEPS = defaultdict(deque)       # token -> scripted steps
SENT = defaultdict(list)         # token -> call records
BLOCKED = set()                  # chat ids (int)
REVOKED = set()                  # tokens
PEOPLE = {}                      # private chat id -> the user make_update last built
MESSAGES = {}                    # (chat id, message_id) -> Message the bot sent
KEYBOARDS = {}                   # chat id -> last Message the bot sent with an inline keyboard
MESSAGE_IDS = defaultdict(int)   # chat id -> last message_id in that chat
# update_id is sequential per bot in Telegram; a fake starts at a random
# point, as a bot's ids do, so that two fakes (two specs) on one test Redis
# never hand a host the same id (it would be a duplicate there)
COUNTERS = {"update_id": 100000000 + secrets.randbelow(800000000)}
CONNECTIONS = {}                 # business connection id -> BusinessConnection


def bot(token):
    if token not in BOTS:
        BOTS[token] = Bot()
    return BOTS[token]


def next_update_id(given=None):
    if given is None:
        COUNTERS["update_id"] += 1
        return COUNTERS["update_id"]
    COUNTERS["update_id"] = max(COUNTERS["update_id"], given)
    return given


def next_message_id(chat_id):
    MESSAGE_IDS[chat_id] += 1
    return MESSAGE_IDS[chat_id]


def u16(s):
    """Length in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(s.encode("utf-16-le")) // 2


# ---------------------------------------------------------------- errors

class TgError(Exception):
    """A Bot API error: HTTP status = error_code, description, parameters."""

    def __init__(self, status, description=None, parameters=None):
        super().__init__(status)
        self.status = status
        self.parameters = parameters or None
        if description is None:
            description = DESCRIPTIONS.get(status)
        if description is None:
            try:
                description = HTTPStatus(status).phrase
            except ValueError:
                description = "Error"
        self.description = description

    def body(self):
        out = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out

    def headers(self):
        if self.parameters and "retry_after" in self.parameters:
            return [("Retry-After", str(self.parameters["retry_after"]))]
        return []


def bad(text):
    return TgError(400, f"Bad Request: {text}")


def parse_error(text):
    return bad(f"can't parse entities: {text}")


def scripted_error(step):
    status = int(step["status"])
    desc, params = step.get("description"), {}
    if status == 429:
        ra = int(step.get("retry_after", 1))
        params["retry_after"] = ra
        desc = desc or f"Too Many Requests: retry after {ra}"
    if "migrate_to_chat_id" in step:
        params["migrate_to_chat_id"] = step["migrate_to_chat_id"]
        desc = desc or "Bad Request: group chat was upgraded to a supergroup chat"
    return TgError(status, desc, params)


# ---------------------------------------------------------------- parameters

def request_params(req):
    """Query and body parameters merged (body wins)."""
    params = dict(req.params)
    ctype = req.headers.get("content-type", "")
    base = ctype.split(";")[0].strip().lower()
    if not req.body:
        return params
    if base == "application/json":
        try:
            data = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise bad("can't parse JSON object") from None
        if isinstance(data, dict):
            params.update(data)
    elif base == "application/x-www-form-urlencoded":
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        params.update({k: v[-1] for k, v in form.items()})
    elif base == "multipart/form-data":
        msg = BytesParser(policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + req.body)
        for part in msg.iter_parts() if msg.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[name] = {"filename": part.get_filename(), "size": len(payload)}
            else:
                params[name] = payload.decode("utf-8", "replace")
    return params


def decoded(params):
    """params with the JSON-serialized fields decoded (for the records)."""
    out = dict(params)
    for k in JSON_PARAMS:
        if isinstance(out.get(k), str):
            try:
                out[k] = json.loads(out[k])
            except ValueError:
                pass
    return out


def text_param(p, name):
    v = p.get(name)
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def int_param(p, name, default):
    v = p.get(name)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    return default


def bool_param(p, name):
    v = p.get(name)
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1")
    return bool(v)


def json_param(p, name):
    v = p.get(name)
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return None
    return v


def chat_param(p):
    v = p.get("chat_id")
    if v is None or v == "":
        raise bad("chat_id is empty")
    if isinstance(v, int) and not isinstance(v, bool):
        cid = v
    elif isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        cid = int(v)
    else:  # JSON floats (a 52-bit id that lost digits), @usernames: no such chat here
        raise bad("chat not found")
    if cid == 0:
        raise bad("chat not found")
    return cid


def business_param(p):
    """The connection a send names (None: the bot's own chat); raises as Telegram."""
    cid = p.get("business_connection_id")
    if cid is None or cid == "":
        return None
    conn = CONNECTIONS.get(str(cid))
    if conn is None:
        raise bad("BUSINESS_CONNECTION_INVALID")
    if not conn["is_enabled"] or not conn["can_reply"]:
        raise bad("BUSINESS_PEER_INVALID")
    return conn


def on_behalf(msg, conn, token):
    """A message the bot sent through a business connection, as Telegram shows it."""
    if conn is not None:
        msg["from"] = conn["user"]
        msg["business_connection_id"] = conn["id"]
        msg["sender_business_bot"] = bot_user(token)
    return msg


def business_connection(msg):
    uid = msg.get("user_id")
    if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
        raise ValueError("user_id (a positive integer) is required")
    cid = str(msg.get("id") or secrets.token_urlsafe(12).replace("-", "A").replace("_", "B"))
    user = {"id": uid, "is_bot": False, "first_name": msg.get("first_name") or "Rep"}
    if msg.get("username"):
        user["username"] = msg["username"]
    can_reply = bool(msg.get("can_reply", True))
    conn = {"id": cid, "user": user, "user_chat_id": uid, "date": int(time.time()),
            "is_enabled": bool(msg.get("enabled", True)), "can_reply": can_reply,
            "rights": {"can_reply": can_reply, "can_read_messages": True}}
    CONNECTIONS[cid] = conn
    return {"update_id": next_update_id(), "business_connection": conn}


async def get_business_connection(token, p):
    cid = p.get("business_connection_id")
    conn = CONNECTIONS.get(str(cid)) if cid not in (None, "") else None
    if conn is None:
        raise bad("BUSINESS_CONNECTION_INVALID")
    return conn, None


# ---------------------------------------------------------------- objects

def bot_user(token, full=False):
    head = token.split(":")[0] if token else ""
    bid = int(head) if head.isdigit() else 100000001
    user = {"id": bid, "is_bot": True, "first_name": "Fake Bot", "username": f"fake{bid}_bot"}
    if full:
        user.update({"can_join_groups": True, "can_read_all_group_messages": False,
                     "supports_inline_queries": False, "can_connect_to_business": False,
                     "has_main_web_app": False})
    return user


def chat_object(cid):
    if cid > 0:
        person = PEOPLE.get(cid, {})
        chat = {"id": cid, "first_name": person.get("first_name", "User")}
        for k in ("last_name", "username"):
            if person.get(k):
                chat[k] = person[k]
        chat["type"] = "private"
        return chat
    if cid <= -1000000000000:
        return {"id": cid, "title": "Test supergroup", "type": "supergroup"}
    return {"id": cid, "title": "Test group", "all_members_are_administrators": True,
            "type": "group"}


# ---------------------------------------------------------------- reply_markup

def check_markup(raw):
    """-> the markup to echo in the Message (inline keyboards only) or None."""
    if raw is None or raw == "":
        return None
    markup = raw
    if isinstance(raw, str):
        try:
            markup = json.loads(raw)
        except ValueError:
            markup = None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards, remove_keyboard, force_reply: not echoed
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad("BUTTON_DATA_INVALID")
    for row in rows:
        for b in row:
            if not isinstance(b, dict) or not isinstance(b.get("text"), str) or not b["text"]:
                raise bad("BUTTON_DATA_INVALID")
            data, url = b.get("callback_data"), b.get("url")
            if data is None and isinstance(url, str) and url:
                continue
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad("BUTTON_DATA_INVALID")
    return markup


# ---------------------------------------------------------------- entity parsing

class Out:
    """Plain text being built, with the UTF-16 position of its end."""

    def __init__(self):
        self.parts, self.pos = [], 0

    def add(self, s):
        self.parts.append(s)
        self.pos += u16(s)

    def text(self):
        return "".join(self.parts)


def byte_offset(text, i):
    return len(text[:i].encode("utf-8"))


def entity(kind, start, end, **extra):
    e = {"offset": start, "length": end - start, "type": kind}
    e.update({k: v for k, v in extra.items() if v is not None})
    return e


def finish(out, entities):
    kept = [e for e in entities if e["length"] > 0]
    return out.text(), sorted(kept, key=lambda e: (e["offset"], -e["length"]))


MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
MDV2_TOGGLES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough",
                "||": "Spoiler"}
MDV2_TYPES = {"Bold": "bold", "Italic": "italic", "Underline": "underline",
              "Strikethrough": "strikethrough", "Spoiler": "spoiler"}


def scan_escaped(text, i, stop):
    """From i to the first unescaped `stop`: (index of stop or -1, unescaped text)."""
    body, n = [], len(text)
    while i < n:
        if text[i] == "\\" and i + 1 < n:
            body.append(text[i + 1])
            i += 2
        elif text.startswith(stop, i):
            return i, "".join(body)
        else:
            body.append(text[i])
            i += 1
    return -1, ""


def split_language(body):
    nl = body.find("\n")
    if nl < 0:
        return None, body
    first = body[:nl]
    if not first:
        return None, body[nl + 1:]
    if not any(c.isspace() for c in first):
        return first, body[nl + 1:]
    return None, body


def parse_markdown_v2(text):
    out, entities, stack, quote = Out(), [], [], None  # stack: [name, start, byte offset]
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) < 127:
            out.add(text[i + 1])
            i += 2
            continue
        if c == ">" and (i == 0 or text[i - 1] == "\n"):
            if quote is None:
                quote = out.pos
            i += 1
            continue
        if c == "\n" and quote is not None and not text.startswith(">", i + 1):
            entities.append(entity("blockquote", quote, out.pos))
            quote = None
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end, body = scan_escaped(text, i + len(fence), fence)
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise parse_error(f"Can't find end of {kind} entity at byte offset "
                                  f"{byte_offset(text, i)}")
            language = None
            if fence == "```":
                language, body = split_language(body)
            start = out.pos
            out.add(body)
            entities.append(entity("pre" if fence == "```" else "code", start, out.pos,
                                   language=language))
            i = end + len(fence)
            continue
        tok = "__" if text.startswith("__", i) else "||" if text.startswith("||", i) else c
        if tok in MDV2_TOGGLES:
            name = MDV2_TOGGLES[tok]
            if stack and stack[-1][0] == name:
                _, start, _ = stack.pop()
                entities.append(entity(MDV2_TYPES[name], start, out.pos))
            else:
                stack.append([name, out.pos, byte_offset(text, i)])
            i += len(tok)
            continue
        if c == "[":
            stack.append(["TextUrl", out.pos, byte_offset(text, i)])
            i += 1
            continue
        if c == "]" and stack and stack[-1][0] == "TextUrl":
            _, start, _ = stack.pop()
            i += 1
            if i < n and text[i] == "(":
                end, url = scan_escaped(text, i + 1, ")")
                if end < 0:
                    raise parse_error("Can't find end of a URL at byte offset "
                                      f"{byte_offset(text, i)}")
                i = end + 1
                if url:
                    entities.append(entity("text_link", start, out.pos, url=url))
            continue
        if c in MDV2_RESERVED:
            raise parse_error(f"Character '{c}' is reserved and must be escaped with the "
                              "preceding '\\'")
        out.add(c)
        i += 1
    if quote is not None:
        entities.append(entity("blockquote", quote, out.pos))
    if stack:
        name, _, off = stack[-1]
        raise parse_error(f"Can't find end of {name} entity at byte offset {off}")
    return finish(out, entities)


def parse_markdown(text):
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out, entities = Out(), []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c not in "*_`[":
            out.add(c)
            i += 1
            continue
        begin = i
        marker = "```" if text.startswith("```", i) else "]" if c == "[" else c
        k = i + (3 if marker == "```" else 1)
        end = text.find(marker, k)
        if end < 0:
            raise parse_error(f"Can't find end of the entity starting at byte offset "
                              f"{byte_offset(text, begin)}")
        inner, i = text[k:end], end + len(marker)
        start = out.pos
        if marker == "```":
            language, inner = split_language(inner)
            out.add(inner)
            entities.append(entity("pre", start, out.pos, language=language))
        elif c == "[":
            url = None
            if text.startswith("(", i):
                close = text.find(")", i)
                if close < 0:
                    raise parse_error(f"Can't find end of the entity starting at byte offset "
                                      f"{byte_offset(text, begin)}")
                url, i = text[i + 1:close], close + 1
            out.add(inner)
            if url:
                entities.append(entity("text_link", start, out.pos, url=url))
        else:
            out.add(inner)
            entities.append(entity({"*": "bold", "_": "italic", "`": "code"}[c], start, out.pos))
    return finish(out, entities)


HTML_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
             "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
             "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link",
             "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji"}
HTML_NAME = re.compile(r"[A-Za-z0-9-]*")
HTML_ATTR = re.compile(r"""\s*([A-Za-z_:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
HTML_ENTITY = re.compile(r"&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([A-Za-z]+));")
HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def parse_html(text):
    out, entities, stack = Out(), [], []  # stack: {"tag", "start", "attrs", "language"}
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "&":
            m = HTML_ENTITY.match(text, i)
            if m and (m[1] or m[2]):
                code = int(m[1]) if m[1] else int(m[2], 16)
                out.add(chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else m[0])
                i = m.end()
            elif m and m[3] in HTML_NAMED:
                out.add(HTML_NAMED[m[3]])
                i = m.end()
            else:
                out.add("&")
                i += 1
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        begin = byte_offset(text, i)
        close = text.find(">", i)
        if text.startswith("</", i):
            if close < 0:
                raise parse_error(f"Unclosed end tag at byte offset {begin}")
            name = text[i + 2:close].strip().lower()
            if not stack:
                raise parse_error(f"Unexpected end tag at byte offset {begin}")
            top = stack[-1]
            if name != top["tag"]:
                raise parse_error(f'Unmatched end tag at byte offset {begin}, expected '
                                  f'"</{top["tag"]}>", found "</{name}>"')
            stack.pop()
            end_tag(top, stack, entities, out.pos)
            i = close + 1
            continue
        name = HTML_NAME.match(text, i + 1)[0].lower()
        if name not in HTML_TAGS:
            raise parse_error(f'Unsupported start tag "{name}" at byte offset {begin}')
        if close < 0:
            raise parse_error(f"Unclosed start tag at byte offset {begin}")
        attrs, rest = {}, text[i + 1 + len(name):close].rstrip("/")
        for m in HTML_ATTR.finditer(rest):
            attrs[m[1].lower()] = next((g for g in m.groups()[1:] if g is not None), "")
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
        stack.append({"tag": name, "start": out.pos, "attrs": attrs, "language": None})
        i = close + 1
    if stack:
        raise parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return finish(out, entities)


def end_tag(top, stack, entities, pos):
    tag, attrs, start = top["tag"], top["attrs"], top["start"]
    kind = HTML_TAGS[tag]
    if tag == "code" and stack and stack[-1]["tag"] == "pre":
        cls = attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1]["language"] = cls[len("language-"):]
            return
    if tag == "a":
        href = attrs.get("href")
        if href:
            entities.append(entity("text_link", start, pos, url=href))
        return
    if tag == "pre":
        entities.append(entity("pre", start, pos, language=top["language"]))
    elif tag == "blockquote":
        entities.append(entity("expandable_blockquote" if "expandable" in attrs else "blockquote",
                               start, pos))
    elif tag == "tg-emoji":
        entities.append(entity(kind, start, pos, custom_emoji_id=attrs.get("emoji-id")))
    else:
        entities.append(entity(kind, start, pos))


def parse_text(text, mode):
    mode = (mode or "").strip().lower()
    if mode == "":
        return text, []
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    if mode == "html":
        return parse_html(text)
    raise bad("unsupported parse_mode")


# ---------------------------------------------------------------- methods
# Each takes (token, params) and returns (result, description or None).

async def get_me(token, p):
    return bot_user(token, full=True), None


async def send_message(token, p):
    cid = chat_param(p)
    conn = business_param(p)
    text = text_param(p, "text") or ""
    if not text.strip():
        raise bad("message text is empty")
    markup = check_markup(p.get("reply_markup"))
    plain, entities = parse_text(text, text_param(p, "parse_mode"))
    if not plain.strip():
        raise bad("message text is empty")
    if len(plain) > MAX_TEXT:
        raise bad("message is too long")
    if cid in BLOCKED:
        raise TgError(403, "Forbidden: bot was blocked by the user")
    msg = {"message_id": next_message_id(cid), "from": bot_user(token), "chat": chat_object(cid),
           "date": int(time.time()), "text": plain}
    if entities:
        msg["entities"] = entities
    if markup:
        msg["reply_markup"] = markup
        KEYBOARDS[cid] = msg
    MESSAGES[(cid, msg["message_id"])] = on_behalf(msg, conn, token)
    return msg, None


MAX_CAPTION = 1024


def send_media(kind):
    """sendPhoto / sendDocument by URL (or file_id): a Message with the media."""
    async def handler(token, p):
        cid = chat_param(p)
        conn = business_param(p)
        ref = text_param(p, kind)
        if not ref:
            raise bad(f"there is no {kind} in the request")
        caption = text_param(p, "caption") or ""
        if len(caption) > MAX_CAPTION:
            raise bad("message caption is too long")
        markup = check_markup(p.get("reply_markup"))
        if cid in BLOCKED:
            raise TgError(403, "Forbidden: bot was blocked by the user")
        file_id = "AgAC" + secrets.token_urlsafe(24)
        media = ([{"file_id": file_id, "file_unique_id": secrets.token_urlsafe(8), "width": 800, "height": 600}]
                 if kind == "photo" else
                 {"file_id": file_id, "file_unique_id": secrets.token_urlsafe(8),
                  "file_name": ref.rsplit("/", 1)[-1] or "file"})
        msg = {"message_id": next_message_id(cid), "from": bot_user(token), "chat": chat_object(cid),
               "date": int(time.time()), kind: media}
        if caption:
            msg["caption"] = caption
        if markup:
            msg["reply_markup"] = markup
        MESSAGES[(cid, msg["message_id"])] = on_behalf(msg, conn, token)
        return msg, None
    return handler


async def send_chat_action(token, p):
    cid = chat_param(p)
    business_param(p)
    if text_param(p, "action") not in CHAT_ACTIONS:
        raise bad("wrong parameter action in request")
    if cid in BLOCKED:
        raise TgError(403, "Forbidden: bot was blocked by the user")
    return True, None


async def answer_callback_query(token, p):
    if not text_param(p, "callback_query_id"):
        raise bad("query is too old and response timeout expired or query ID is invalid")
    return True, None


def webhook_url_error(url):
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "bad webhook: An HTTPS URL must be provided for webhook"
    if not host or parts.scheme.lower() not in ("http", "https"):
        return "bad webhook: An HTTPS URL must be provided for webhook"
    if host in LOOPBACK:
        return None  # the fake's leniency: the host under test listens on http://127.0.0.1
    if parts.scheme.lower() != "https":
        return "bad webhook: An HTTPS URL must be provided for webhook"
    if port not in (None, 80, 88, 443, 8443):
        return "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    return None


async def set_webhook(token, p):
    st = bot(token)
    url = text_param(p, "url") or ""
    if not url:
        return await delete_webhook(token, p)
    err = webhook_url_error(url)
    if err:
        raise bad(err)
    secret = text_param(p, "secret_token") or None
    if secret is not None and not SECRET_RE.fullmatch(secret):
        raise bad("secret token contains unallowed characters")
    allowed = json_param(p, "allowed_updates")
    if isinstance(allowed, list):
        st.allowed = [a for a in allowed if isinstance(a, str)]
    if bool_param(p, "drop_pending_updates"):
        st.updates.clear()
    host = urlsplit(url).hostname
    ip = text_param(p, "ip_address") or (host if host in ("127.0.0.1", "::1") else "127.0.0.1")
    new = {"url": url, "secret_token": secret, "ip_address": ip,
           "max_connections": min(100, max(1, int_param(p, "max_connections", 40)))}
    already = st.webhook == new
    if st.webhook is None or st.webhook["url"] != url:
        st.last_error = None
    st.webhook = new
    st.notify()  # a waiting getUpdates now conflicts
    return True, "Webhook is already set" if already else "Webhook was set"


async def delete_webhook(token, p):
    st = bot(token)
    if bool_param(p, "drop_pending_updates"):
        st.updates.clear()
    had = st.webhook is not None
    st.webhook, st.last_error = None, None
    return True, "Webhook was deleted" if had else "Webhook is already deleted"


async def get_webhook_info(token, p):
    st = bot(token)
    wh = st.webhook
    info = {"url": wh["url"] if wh else "", "has_custom_certificate": False,
            "pending_update_count": len(st.updates)}
    if wh:
        info["ip_address"] = wh["ip_address"]
        if st.last_error:
            info["last_error_date"], info["last_error_message"] = st.last_error
        info["max_connections"] = wh["max_connections"]
        if st.allowed:
            info["allowed_updates"] = list(st.allowed)
    return info, None


def update_kind(update):
    return next((k for k in update if k != "update_id"), None)


async def get_updates(token, p):
    st = bot(token)
    if st.webhook:
        raise TgError(409, WEBHOOK_CONFLICT)
    offset = int_param(p, "offset", 0)
    limit = min(100, max(1, int_param(p, "limit", 100)))
    timeout = max(0, int_param(p, "timeout", 0))
    allowed = json_param(p, "allowed_updates")
    if isinstance(allowed, list):
        st.allowed = [a for a in allowed if isinstance(a, str)]
    if offset > 0:
        st.updates = [u for u in st.updates if u.get("update_id", 0) >= offset]
    elif offset < 0:
        st.updates = st.updates[offset:]
    st.polls += 1
    me = st.polls
    st.notify()  # an older waiting poll ends with 409
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if st.allowed:
            st.updates = [u for u in st.updates if update_kind(u) in st.allowed]
        else:
            st.updates = [u for u in st.updates if update_kind(u) not in NOT_BY_DEFAULT]
        remaining = deadline - loop.time()
        if st.updates or remaining <= 0 or BOTS.get(token) is not st:
            return st.updates[:limit], None
        try:
            await asyncio.wait_for(st.wake.wait(), remaining)
        except asyncio.TimeoutError:
            pass
        if st.polls != me:
            raise TgError(409)
        if st.webhook:
            raise TgError(409, WEBHOOK_CONFLICT)


HANDLERS = {
    "getMe": get_me, "sendMessage": send_message, "sendChatAction": send_chat_action,
    "sendPhoto": send_media("photo"), "sendDocument": send_media("document"),
    "answerCallbackQuery": answer_callback_query, "setWebhook": set_webhook,
    "getBusinessConnection": get_business_connection,
    "deleteWebhook": delete_webhook, "getWebhookInfo": get_webhook_info,
    "getUpdates": get_updates,
}


def take_step(token, name):
    queue = STEPS.get(token)
    if not queue:
        return {}
    for i, step in enumerate(queue):
        want = step.get("method")
        if want is None or str(want).lower() == name.lower():
            del queue[i]
            return step
    return {}


async def bot_call(token, method, params, early_error=None):
    """One Bot API call, recorded. -> (status, body, headers), or None to drop
    the connection unanswered."""
    name = METHODS.get(method.lower(), method)
    record = {"method": name, "params": decoded(params), "status": None, "at": time.time()}
    SENT[token].append(record)
    try:
        step = take_step(token, name)
        if step.get("delay_ms"):
            await asyncio.sleep(float(step["delay_ms"]) / 1000)
        if step.get("close"):
            return None
        if "status" in step and not 200 <= int(step["status"]) < 300:
            raise scripted_error(step)
        if not TOKEN_RE.fullmatch(token) or token in REVOKED:
            raise TgError(401)
        handler = HANDLERS.get(name)
        if handler is None:
            raise TgError(404)
        if early_error:
            raise early_error
        try:
            result, description = await handler(token, params)
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # a shape no check foresaw
            raise bad(f"malformed request: {e!r}") from None
    except TgError as e:
        record["status"] = e.status
        return e.status, e.body(), e.headers()
    record["status"] = 200
    if step.get("lose_answer"):
        return None  # sent, but the answer is lost on the way back
    body = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return 200, body, []


# ---------------------------------------------------------------- updates

def make_update(msg):
    cid = msg.get("chat_id")
    if isinstance(cid, str) and re.fullmatch(r"-?\d+", cid):
        cid = int(cid)
    if not isinstance(cid, int) or isinstance(cid, bool) or cid == 0:
        raise ValueError("chat_id (a non-zero integer) is required")
    user_id = msg.get("user_id") or (cid if cid > 0 else 123456789)
    user = {"id": user_id, "is_bot": False, "first_name": msg.get("first_name") or "Ana"}
    for k in ("last_name", "username", "language_code"):
        if msg.get(k):
            user[k] = msg[k]
    if cid > 0 and msg.get("business_connection_id") is None:
        PEOPLE[cid] = user
    uid = next_update_id(msg.get("update_id"))
    now = int(time.time())
    if msg.get("callback_data") is not None:
        mid = msg.get("message_id")
        target = MESSAGES.get((cid, mid)) if mid is not None else KEYBOARDS.get(cid)
        if target is None:
            target = {"message_id": mid if mid is not None else next_message_id(cid),
                      "from": bot_user(msg.get("token")), "chat": chat_object(cid),
                      "date": now, "text": "Pick one"}
        query = {"id": str(secrets.randbits(62) + 10 ** 18), "from": user, "message": target,
                 "chat_instance": str(-secrets.randbits(62)), "data": str(msg["callback_data"])}
        return {"update_id": uid, "callback_query": query}
    text = msg.get("text")
    text = "/start" if text is None else str(text)
    bcid = msg.get("business_connection_id")
    if bcid is not None:
        conn = CONNECTIONS.get(str(bcid))
        if conn is None:
            raise ValueError("no business connection " + str(bcid))
        if user_id == conn["user"]["id"]:
            user = conn["user"]          # the owner writing in their own chat
        elif cid > 0:
            PEOPLE[cid] = user
    message = {"message_id": next_message_id(cid), "from": user, "chat": chat_object(cid),
               "date": now, "text": text}
    if text.startswith("/") and len(text) > 1:
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": u16(command), "type": "bot_command"}]
    if bcid is not None:
        message["business_connection_id"] = str(bcid)
        if msg.get("edited"):
            message["edit_date"] = now
        return {"update_id": uid, ("edited_business_message" if msg.get("edited") else "business_message"): message}
    return {"update_id": uid, "message": message}


# ---------------------------------------------------------------- delivering webhooks

async def webhook_answer(token, a):
    """What Telegram makes of our answer to a webhook of token's: failures set
    its last_error_*, a 2xx answer that is a method call is executed."""
    if a.error is not None:
        e = a.error
        why = "Read timeout expired" if isinstance(e, asyncio.TimeoutError) else \
            "Connection refused" if isinstance(e, ConnectionRefusedError) else \
            f"Connection error: {e.__class__.__name__}"
        bot(token).last_error = (int(time.time()), why)
    elif not 200 <= a.status < 300:
        try:
            phrase = HTTPStatus(a.status).phrase
        except ValueError:
            phrase = "Unknown"
        bot(token).last_error = (int(time.time()), f"Wrong response from the webhook: "
                                                   f"{a.status} {phrase}")
    else:
        try:
            answer = json.loads(a.body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("method"), str):
            params = {k: v for k, v in answer.items() if k != "method"}
            await bot_call(token, answer["method"], params)  # the result is not observable


async def deliver(msg):
    token = msg.get("token")
    wh = BOTS[token].webhook if token in BOTS else None
    url = msg.get("url") or (wh or {}).get("url")
    if not isinstance(url, str) or not url:
        raise ValueError("url is required (or a token with a webhook set)")
    secret = msg["secret"] if "secret" in msg else (wh or {}).get("secret_token")
    update = msg.get("update")
    if not isinstance(update, dict):
        raise ValueError("update (an object) is required")

    def secret_header(_):
        if secret is None:
            return []
        if any(c in str(secret) for c in "\r\n"):
            raise ValueError("secret must not contain CR or LF")
        return [("X-Telegram-Bot-Api-Secret-Token", str(secret))]

    return await deliver_webhook(
        msg, secret_header, url=url, body=dumps(update),
        answer=None if token is None else lambda a: webhook_answer(token, a))


# ---------------------------------------------------------------- control

def reset():
    for st in BOTS.values():
        st.notify()  # waiting polls see they are orphaned and return
    BOTS.clear()
    for table in (STEPS, SENT, PEOPLE, MESSAGES, KEYBOARDS, CONNECTIONS):
        table.clear()
    BLOCKED.clear()
    REVOKED.clear()


def chat_key(v):
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise ValueError("chat_id must be an integer")


async def control_post(path, msg):
    """-> (status, answer) for a POST /_control/... with a JSON object body."""
    if path == "/_control/script":
        steps = msg.get("steps")
        if (not isinstance(msg.get("token"), str) or not isinstance(steps, list)
                or not all(isinstance(s, dict) for s in steps)):
            return 400, {"error": 'expected {"token": str, "steps": [{...}]}'}
        for step in steps:
            for key in ("status", "retry_after", "delay_ms"):
                if key in step and (isinstance(step[key], bool)
                                    or not isinstance(step[key], (int, float))):
                    return 400, {"error": f"step field {key} must be a number: {step}"}
        STEPS[msg["token"]].extend(steps)
        return 200, {"queued": len(STEPS[msg["token"]])}
    if path == "/_control/reset":
        reset()
        return 200, {"reset": True}
    if path == "/_control/block":
        cid = chat_key(msg.get("chat_id"))
        (BLOCKED.add if msg.get("blocked", True) else BLOCKED.discard)(cid)
        return 200, {"blocked": sorted(BLOCKED)}
    if path == "/_control/revoke":
        if not isinstance(msg.get("token"), str):
            return 400, {"error": 'expected {"token": str}'}
        (REVOKED.add if msg.get("revoked", True) else REVOKED.discard)(msg["token"])
        return 200, {"revoked": sorted(REVOKED)}
    if path == "/_control/update":
        update = msg.get("update")
        if not isinstance(msg.get("token"), str) or not isinstance(update, dict):
            return 400, {"error": 'expected {"token": str, "update": {...}}'}
        given = update.get("update_id")
        update = {"update_id": next_update_id(given if isinstance(given, int) else None),
                  **{k: v for k, v in update.items() if k != "update_id"}}
        st = bot(msg["token"])
        st.updates.append(update)
        st.notify()
        return 200, {"queued": len(st.updates), "update_id": update["update_id"]}
    if path == "/_control/make_update":
        return 200, make_update(msg)
    if path == "/_control/business_connection":
        return 200, business_connection(msg)
    if path == "/_control/deliver":
        return 200, await deliver(msg)
    return 404, {"error": "not found"}


async def control(req, writer, keep_alive):
    if req.path == "/_control/sent" and req.method == "GET":
        token, method = req.params.get("token"), req.params.get("method")
        if token is not None:
            records = list(SENT.get(token, []))
        else:
            records = [dict(r, token=t) for t, rs in SENT.items() for r in rs]
        if method:
            records = [r for r in records if r["method"].lower() == method.lower()]
        await respond(writer, req, 200, dumps({"sent": records}), keep_alive)
        return keep_alive
    if req.path == "/_control/count" and req.method == "GET":
        token, method = req.params.get("token"), (req.params.get("method") or "").lower()
        ok = [r for r in SENT.get(token, ()) if r["status"] == 200
              and (not method or r["method"].lower() == method)]
        body = {"count": len(ok), "last_at": ok[-1]["at"] if ok else None}
        await respond(writer, req, 200, dumps(body), keep_alive)
        return keep_alive
    return await control_json(req, writer, keep_alive, control_post, (TypeError, ValueError))


# ---------------------------------------------------------------- serving

async def route(req, writer, keep_alive):
    if req.path.startswith("/_control/"):
        return await control(req, writer, keep_alive)
    m = BOT_PATH.fullmatch(req.path)
    if not m:
        await respond(writer, req, 404, dumps(TgError(404).body()), keep_alive)
        return keep_alive
    params, early = {}, None
    try:
        params = request_params(req)
    except TgError as e:
        early = e
    outcome = await bot_call(m[1], m[2], params, early)
    if outcome is None:
        return False  # scripted {"close": true}
    status, body, headers = outcome
    await respond(writer, req, status, dumps(body), keep_alive, extra=headers)
    return keep_alive




async def main():
    ap = vendor_args(__doc__)
    args = ap.parse_args()

    await run_vendor(args, route)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
