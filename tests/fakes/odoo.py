#!/usr/bin/env python3
"""Fake Odoo external API (JSON-RPC) for the connector specs.

    python3 tests/fakes/odoo.py --port P

POST /jsonrpc {"jsonrpc":"2.0","method":"call","id":N,"params":{"service","method","args"}}
  common.login(db, login, key) / common.authenticate(db, login, key, env)
      -> {"result": uid} or {"result": false} on bad credentials (no error)
  object.execute_kw(db, uid, key, model, method, args, kwargs) on any model:
      search_read, search, search_count, read, create, write, unlink
      (domains: [field, op, value] terms with = != < > <= >= in not in like
      ilike, and '&' '|' '!' prefixes). Errors are HTTP 200 with the JSON-RPC
      error member, code 200, data.name the exception: AccessDenied (bad
      key or uid), MissingError (a deleted or unknown id),
      ValidationError (calendar.event with stop before start).
Faults, state and credentials: tests/fakes/backoffice_shared.py (config:
{"db": "testdb", "login": "bot@example.com", "key": "odoo-key", "uid": 7}).
"""
import asyncio
import sys

from backoffice_shared import Reply, json_body, serve

CONFIG = {"db": "testdb", "login": "bot@example.com", "key": "odoo-key", "uid": 7}


def rpc_error(rid, name, message, code=200):
    return Reply(200, {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": "Odoo Server Error", "data": {
        "name": name, "message": message, "arguments": [message], "context": {},
        "debug": f"Traceback (most recent call last):\n  ...\n{name}: {message}\n"}}})


class OdooError(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = "odoo.exceptions." + name


def term(rec, t):
    field, op, value = t
    v = rec.get(field, False)
    if op in ("=", "=="):
        return v == value
    if op == "!=":
        return v != value
    if op in ("in", "not in"):
        return (v in value) == (op == "in")
    if op in ("like", "ilike"):
        return isinstance(v, str) and str(value).lower() in v.lower()
    if v is False or v is None:
        return False
    return {"<": v < value, ">": v > value, "<=": v <= value, ">=": v >= value}[op]


def matches(rec, domain):
    """Polish-notation domain: '&' (implicit between terms), '|', '!'."""
    def take(i):
        t = domain[i]
        if t == "!":
            v, j = take(i + 1)
            return not v, j
        if t in ("&", "|"):
            a, j = take(i + 1)
            b, k = take(j)
            return (a and b) if t == "&" else (a or b), k
        if not isinstance(t, list) or len(t) != 3:
            raise OdooError("ValidationError", f"Invalid leaf {t!r}")
        return term(rec, t), i + 1
    i, ok = 0, True
    while i < len(domain):
        v, i = take(i)
        ok = ok and v
    return ok


def handle_for(fake):
    def object_call(model, method, args, kwargs):
        recs = fake.records
        if method in ("search_read", "search", "search_count"):
            found = [r for r in recs.all(model) if matches(r, args[0] if args else [])]
            if method == "search_count":
                return len(found)
            found = found[kwargs.get("offset") or 0:]
            if kwargs.get("limit"):
                found = found[:kwargs["limit"]]
            if method == "search":
                return [r["id"] for r in found]
            fields = kwargs.get("fields")
            return [{k: v for k, v in r.items() if not fields or k in fields or k == "id"} for r in found]
        if method == "read":
            out = []
            for i in args[0]:
                r = recs.get(model, i)
                if r is None:
                    raise OdooError("MissingError", f"Record does not exist or has been deleted.\n(Record: {model}({i},), User: 7)")
                out.append(r)
            return out
        if method == "create":
            vals = args[0]
            many = isinstance(vals, list)
            made = []
            for v in (vals if many else [vals]):
                if model == "calendar.event" and v.get("start") and v.get("stop") and v["stop"] < v["start"]:
                    raise OdooError("ValidationError", "The ending date and time cannot be earlier than the starting date and time.")
                made.append(recs.add(model, v)["id"])
            return made if many else made[0]
        if method in ("write", "unlink"):
            for i in args[0]:
                if recs.get(model, i) is None:
                    raise OdooError("MissingError", "Record does not exist or has been deleted.")
            for i in args[0]:
                if method == "unlink":
                    recs.drop(model, i)
                else:
                    recs.get(model, i).update(args[1])
            return True
        raise OdooError("UserError", f"The method '{method}' does not exist on the model '{model}'")

    def handle(req):
        if req.path != "/jsonrpc" or req.method != "POST":
            return Reply(404, "<h1>Not Found</h1>", content_type="text/html")
        msg = json_body(req)
        if not isinstance(msg, dict) or not isinstance(msg.get("params"), dict):
            return Reply(400, "<h1>Bad Request</h1>", content_type="text/html")
        rid, p, cfg = msg.get("id"), msg["params"], fake.config
        args = p.get("args") or []
        if p.get("service") == "common" and p.get("method") in ("login", "authenticate"):
            ok = args[:3] == [cfg["db"], cfg["login"], cfg["key"]]
            return Reply(200, {"jsonrpc": "2.0", "id": rid, "result": cfg["uid"] if ok else False})
        if p.get("service") != "object" or p.get("method") != "execute_kw" or len(args) < 6:
            return rpc_error(rid, "builtins.KeyError", "unknown service or method")
        db, uid, key, model, method, margs = args[:6]
        kwargs = args[6] if len(args) > 6 else {}
        if db != cfg["db"] or uid != cfg["uid"] or key != cfg["key"]:
            return rpc_error(rid, "odoo.exceptions.AccessDenied", "Access Denied")
        try:
            return Reply(200, {"jsonrpc": "2.0", "id": rid, "result": object_call(model, method, margs, kwargs or {})})
        except OdooError as e:
            return rpc_error(rid, e.name, str(e))
        except (TypeError, KeyError, IndexError, AttributeError) as e:
            return rpc_error(rid, "builtins.TypeError", repr(e))
    return handle


if __name__ == "__main__":
    asyncio.run(serve(__doc__, handle_for, CONFIG))
    sys.exit(0)
