"""What the fake back offices (odoo.py, frappe.py, google.py, zoom.py) share:
records with ids, access tokens that expire, scripted faults, a log of the
calls they were sent, and the /_control/ API over all of it. Each fake only
describes its vendor's routes and wire format: handle(req) -> Reply.

Control API (every fake; JSON object bodies, POST unless stated):
  /_control/script {"faults": [fault, ...]}  appends faults; each applies to
        the next request whose path starts with "path" (default any) and
        whose method is "method" (default any) and whose body contains
        "body_has" (default anything), "times" times (default 1):
        {"status": S, "body": {...} | "text", "retry_after": "N"}  answer that
        {"malformed": true}      a 200 whose body is not JSON
        {"delay_ms": N}          wait, then answer normally (a slow vendor)
        {"expire_tokens": true}  every token issued so far stops working,
                                 then the request is answered normally
        {"after": true}          apply the fault after doing the work (the
                                 change is made, the answer lost)
  /_control/reset {}             forget records, tokens, faults and calls (a fake's
                                 seeded records come back)
  /_control/unscript {}          forget the faults not applied yet
  /_control/seed {"records": {collection: [record, ...]}}  adds records as
                                 they are (a record with an "id" keeps it)
  GET /_control/state            {"records": {collection: [record, ...]}, "calls": [...]}
  GET /_control/calls            {"calls": [{"method", "path", "query", "body" (its first 400 bytes)}, ...]}
  /_control/config {...}         the fake's credentials (see each fake)
  /_control/expire {}            every token issued so far stops working
"""
import asyncio
import itertools
import json
import secrets
import time
from typing import NamedTuple

from upstream import control_json, dumps, respond, run_vendor, vendor_args  # noqa: F401


class Reply(NamedTuple):
    status: int
    body: object                  # dict/list (JSON), str or bytes as they are
    headers: tuple = ()
    content_type: str = "application/json"


class Records:
    """Collections of records with ids given in order (1, 2, ...)."""

    def __init__(self):
        self.by = {}
        self.ids = itertools.count(1)

    def add(self, coll, rec, rid=None):
        rid = next(self.ids) if rid is None else rid
        if isinstance(rid, int) and rid >= self.peek():
            self.ids = itertools.count(rid + 1)     # later ids never collide with it
        rec = dict(rec)
        rec["id"] = rid
        self.by.setdefault(coll, {})[rid] = rec
        return rec

    def peek(self):
        n = next(self.ids)
        self.ids = itertools.chain([n], self.ids)
        return n

    def get(self, coll, rid):
        return self.by.get(coll, {}).get(rid)

    def drop(self, coll, rid):
        return self.by.get(coll, {}).pop(rid, None)

    def all(self, coll):
        return list(self.by.get(coll, {}).values())


class Tokens:
    """Access tokens with a lifetime; expire() ends every one issued so far."""

    def __init__(self, ttl=3599):
        self.ttl, self.live = ttl, {}

    def issue(self, prefix="tok"):
        t = f"{prefix}-{secrets.token_hex(12)}"
        self.live[t] = time.time() + self.ttl
        return t

    def valid(self, token):
        return token is not None and self.live.get(token, 0) > time.time()

    def expire(self):
        self.live.clear()


class Fake:
    """State and control API of one fake vendor; `handle` is the vendor's."""

    def __init__(self, handle, config, seed=None):
        self.handle, self.defaults, self.seed = handle, dict(config), seed
        self.reset()

    def reset(self):
        self.records, self.tokens = Records(), Tokens()
        self.faults, self.calls = [], []
        self.config = dict(self.defaults)
        if self.seed:
            self.seed(self.records)            # the vendor's own data, there from the start

    def take_fault(self, req):
        for f in self.faults:
            if (req.path.startswith(f.get("path", "")) and f.get("method", req.method) == req.method
                    and f.get("body_has", "").encode() in req.body):
                f["times"] = f.get("times", 1) - 1
                if f["times"] <= 0:
                    self.faults.remove(f)
                return f
        return None

    async def control(self, req, writer, keep_alive):
        if req.method == "GET" and req.path in ("/_control/state", "/_control/calls"):
            body = {"calls": self.calls}
            if req.path == "/_control/state":
                body["records"] = {k: list(v.values()) for k, v in self.records.by.items()}
            await respond(writer, req, 200, dumps(body), keep_alive)
            return keep_alive

        async def post(path, msg):
            if path == "/_control/script":
                faults = msg["faults"]
                if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
                    raise ValueError("faults must be a list of objects")
                self.faults.extend(dict(f) for f in faults)
                return 200, {"faults": len(self.faults)}
            if path == "/_control/reset":
                self.reset()
                return 200, {"ok": True}
            if path == "/_control/unscript":
                self.faults = []
                return 200, {"ok": True}
            if path == "/_control/seed":
                for coll, recs in msg["records"].items():
                    for r in recs:
                        self.records.add(coll, {k: v for k, v in r.items() if k != "id"}, r.get("id"))
                return 200, {"ok": True}
            if path == "/_control/config":
                self.config.update(msg)
                return 200, self.config
            if path == "/_control/expire":
                self.tokens.expire()
                return 200, {"ok": True}
            return 404, {"error": "not found"}
        return await control_json(req, writer, keep_alive, post)

    async def route(self, req, writer, keep_alive):
        if req.path.startswith("/_control/"):
            return await self.control(req, writer, keep_alive)
        self.calls.append({"method": req.method, "path": req.path, "query": req.query,
                           "body": req.body[:400].decode("utf-8", "replace")})
        fault = self.take_fault(req)
        if fault and fault.get("delay_ms"):
            await asyncio.sleep(fault["delay_ms"] / 1000)
        if fault and fault.get("expire_tokens"):
            self.tokens.expire()
        if fault and fault.get("after"):
            self.handle(req)                   # the change happens; its answer is lost
        if fault and ("status" in fault or fault.get("malformed")):
            if fault.get("malformed"):
                r = Reply(200, b'{"truncated": ', content_type="application/json")
            else:
                extra = (("Retry-After", str(fault["retry_after"])),) if "retry_after" in fault else ()
                r = Reply(fault["status"], fault.get("body", {"error": "scripted"}), extra)
        else:
            r = self.handle(req)
        body = r.body if isinstance(r.body, bytes) else (r.body.encode() if isinstance(r.body, str) else dumps(r.body))
        await respond(writer, req, r.status, body, keep_alive, content_type=r.content_type, extra=r.headers)
        return keep_alive


def json_body(req):
    """The request's JSON body, or None."""
    try:
        return json.loads(req.body.decode("utf-8")) if req.body else None
    except (UnicodeDecodeError, ValueError):
        return None


def bearer(req):
    auth = req.headers.get("authorization", "")
    return auth[7:] if auth[:7].lower() == "bearer " else None


async def serve(doc, handle_for, config, seed=None):
    """Parses the fake's command line and serves it: handle_for(fake) -> handle(req);
    seed(records), when given, fills the records on start and on every reset."""
    args = vendor_args(doc).parse_args()
    fake = Fake(None, config, seed)
    fake.handle = handle_for(fake)
    await run_vendor(args, fake.route)
