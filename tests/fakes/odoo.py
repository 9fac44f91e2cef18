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
  The models the bots use keep real state and are checked as Odoo checks
  them (MODELS below: calendar.event, res.partner, crm.lead, crm.stage,
  res.users): a field the model does not have -> ValueError ("Invalid
  field"), a required field missing on create -> ValidationError, a
  datetime not "YYYY-MM-DD HH:MM:SS" -> ValueError; defaults filled in
  (active, user_id = the caller, stage_id = the first stage, ...);
  many2one read as [id, "name"], x2many written with command tuples
  ([6,0,ids], [4,id,0], [3,id,0], [5,0,0]) or a plain id list; records
  with active = false are left out of searches unless the domain names
  active. Other models take anything (the connector specs' own).
  Access rights per user: config "rights": {"<uid>": {"<model>": "rwcu"}}
  (read, write, create, unlink; a model not listed: all) -> AccessError.
  Fresh state: res.users 7 (the bot, "OdooBot") and crm.stage New (1),
  Qualified (2), Proposition (3), Won (4); /_control/seed adds more.
Faults, state and credentials: tests/fakes/backoffice_shared.py (config:
{"db": "testdb", "login": "bot@example.com", "key": "odoo-key", "uid": 7}).
"""
import asyncio
import re
import sys

from backoffice_shared import Reply, json_body, serve

CONFIG = {"db": "testdb", "login": "bot@example.com", "key": "odoo-key", "uid": 7}


def rpc_error(rid, name, message, code=200):
    return Reply(200, {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": "Odoo Server Error", "data": {
        "name": name, "message": message, "arguments": [message], "context": {},
        "debug": f"Traceback (most recent call last):\n  ...\n{name}: {message}\n"}}})


M2O, M2M, DT = "m2o", "m2m", "datetime"
# model -> field -> kind (None: a plain value); REQUIRED: create needs them
MODELS = {
    "calendar.event": {"name": None, "start": DT, "stop": DT, "allday": None, "start_date": None,
                       "stop_date": None, "duration": None, "partner_ids": M2M, "user_id": M2O,
                       "description": None, "location": None, "res_model": None, "res_model_id": M2O,
                       "res_id": None, "opportunity_id": M2O, "active": None, "privacy": None,
                       "show_as": None, "categ_ids": M2M, "alarm_ids": M2M, "x_flowhost_key": None},
    "res.partner": {"name": None, "email": None, "phone": None, "mobile": None, "is_company": None,
                    "street": None, "zip": None, "city": None, "tz": None, "lang": None, "active": None,
                    "x_flowhost_key": None},
    "crm.lead": {"name": None, "type": None, "partner_id": M2O, "contact_name": None, "partner_name": None,
                 "email_from": None, "phone": None, "mobile": None, "stage_id": M2O, "user_id": M2O,
                 "team_id": M2O, "description": None, "street": None, "zip": None, "city": None,
                 "expected_revenue": None, "probability": None, "active": None, "tag_ids": M2M,
                 "x_flowhost_key": None},
    "crm.stage": {"name": None, "sequence": None, "fold": None, "is_won": None},
    "res.users": {"name": None, "login": None, "partner_id": M2O, "active": None, "tz": None},
}
REQUIRED = {"calendar.event": ["name", "start", "stop"], "res.partner": [], "crm.lead": ["name"],
            "crm.stage": ["name"], "res.users": ["name", "login"]}
TARGET = {"partner_ids": "res.partner", "user_id": "res.users", "partner_id": "res.partner",
          "stage_id": "crm.stage", "opportunity_id": "crm.lead", "res_model_id": "ir.model",
          "team_id": "crm.team", "categ_ids": "calendar.event.type", "alarm_ids": "calendar.alarm",
          "tag_ids": "crm.tag"}
RIGHT = {"search_read": "r", "search": "r", "search_count": "r", "read": "r", "write": "w",
         "create": "c", "unlink": "u"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def seed(records):
    records.add("res.users", {"name": "OdooBot", "login": "bot@example.com", "active": True}, 7)
    for i, name in enumerate(["New", "Qualified", "Proposition", "Won"], 1):
        records.add("crm.stage", {"name": name, "sequence": i, "fold": False, "is_won": name == "Won"}, i)


class OdooError(Exception):
    def __init__(self, name, message, builtin=False):
        super().__init__(message)
        self.name = ("builtins." if builtin else "odoo.exceptions.") + name


def term(rec, t):
    field, op, value = t
    v = rec.get(field, False)
    if isinstance(v, list) and field.endswith("_ids"):      # x2many: any of its ids
        want = value if isinstance(value, list) else [value]
        hit = any(i in want for i in v)
        return hit if op in ("=", "in") else not hit
    if op in ("=", "=="):
        return v == value
    if op == "!=":
        return v != value
    if op in ("in", "not in"):
        return (v in value) == (op == "in")
    if op in ("=like", "=ilike"):
        return isinstance(v, str) and v.lower() == str(value).lower()
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


def label(model):
    return " ".join(w.capitalize() for w in model.split("."))


def check_vals(model, vals, creating, uid):
    """Odoo's checks of create/write values; -> the values to store."""
    fields = MODELS.get(model)
    if fields is None:
        return dict(vals)
    for k in vals:
        if k not in fields:
            raise OdooError("ValueError", f"Invalid field '{k}' on model '{model}'", builtin=True)
    out = {}
    for k, v in vals.items():
        kind = fields[k]
        if kind == DT and v is not False and not (isinstance(v, str) and DATETIME.match(v)):
            raise OdooError("ValueError", f"time data {v!r} does not match format '%Y-%m-%d %H:%M:%S'", builtin=True)
        if kind == M2O and isinstance(v, list):
            v = v[0] if v else False
        out[k] = v
    if creating:
        for k in REQUIRED.get(model, []):
            if out.get(k) in (None, False, ""):
                raise OdooError("ValidationError", f"Missing required value for the field '{k}' ({label(model)})")
        defaults = {"active": True}
        if model == "calendar.event":
            defaults.update(user_id=uid, partner_ids=[], allday=False, show_as="busy", description=False,
                            location=False, res_model=False, res_id=False)
        if model == "crm.lead":
            defaults.update(type="lead", stage_id=1, partner_id=False, phone=False, email_from=False)
        for k, v in defaults.items():
            out.setdefault(k, v)
    return out


def apply_x2many(old, cmds):
    """x2many commands (or a plain id list) applied to a list of ids."""
    ids = list(old or [])
    if cmds is False:
        return []
    if all(isinstance(c, int) for c in cmds):
        return list(cmds)
    for c in cmds:
        op = c[0]
        if op == 6:
            ids = list(c[2])
        elif op == 4 and c[1] not in ids:
            ids.append(c[1])
        elif op in (2, 3) and c[1] in ids:
            ids.remove(c[1])
        elif op == 5:
            ids = []
        elif op not in (2, 3, 4):
            raise OdooError("ValueError", f"unsupported x2many command {c!r}", builtin=True)
    return ids


def handle_for(fake):
    def shown(model, r, fields):
        """A record as Odoo reads it: many2one as [id, "name"]."""
        kinds = MODELS.get(model, {})
        out = {}
        for k, v in r.items():
            if fields and k not in fields and k != "id":
                continue
            if kinds.get(k) == M2O and isinstance(v, int) and not isinstance(v, bool):
                target = fake.records.get(TARGET.get(k, ""), v)
                v = [v, target.get("name", f"{k} {v}") if target else f"{TARGET.get(k, k)},{v}"]
            out[k] = v
        if fields:
            for k in fields:
                if k not in out and k in kinds:
                    out[k] = [] if kinds[k] == M2M else False
        return out

    def store(model, vals, old=None):
        kinds = MODELS.get(model, {})
        for k, v in list(vals.items()):
            if kinds.get(k) == M2M:
                vals[k] = apply_x2many(old.get(k) if old else [], v)
        if model == "calendar.event":
            start, stop = (vals.get("start", old and old.get("start")), vals.get("stop", old and old.get("stop")))
            if start and stop and stop < start:
                raise OdooError("ValidationError", "The ending date and time cannot be earlier than the starting date and time.")
        return vals

    def allowed(uid, model, method):
        rights = (fake.config.get("rights") or {}).get(str(uid), {})
        if model in rights and RIGHT.get(method, "r") not in rights[model]:
            what = {"r": "read", "w": "write", "c": "create", "u": "delete"}[RIGHT.get(method, "r")]
            raise OdooError("AccessError", f"You are not allowed to {what} '{label(model)}' ({model}) records.")

    def object_call(model, method, args, kwargs, uid):
        recs = fake.records
        allowed(uid, model, method)
        if method in ("search_read", "search", "search_count"):
            domain = args[0] if args else []
            archived = any(isinstance(t, list) and t and t[0] == "active" for t in domain)
            found = [r for r in recs.all(model) if matches(r, domain)
                     and (archived or "active" not in MODELS.get(model, {}) or r.get("active", True) is not False)]
            order = (kwargs.get("order") or "").split()
            if order:
                found.sort(key=lambda r: (r.get(order[0]) is False, r.get(order[0]) or 0), reverse=order[-1:] == ["desc"])
            if method == "search_count":
                return len(found)
            found = found[kwargs.get("offset") or 0:]
            if kwargs.get("limit"):
                found = found[:kwargs["limit"]]
            if method == "search":
                return [r["id"] for r in found]
            return [shown(model, r, kwargs.get("fields")) for r in found]
        if method == "read":
            out = []
            for i in args[0]:
                r = recs.get(model, i)
                if r is None:
                    raise OdooError("MissingError", f"Record does not exist or has been deleted.\n(Record: {model}({i},), User: 7)")
                out.append(shown(model, r, kwargs.get("fields")))
            return out
        if method == "create":
            vals = args[0]
            many = isinstance(vals, list)
            made = []
            for v in (vals if many else [vals]):
                made.append(recs.add(model, store(model, check_vals(model, v, True, uid)))["id"])
            return made if many else made[0]
        if method in ("write", "unlink"):
            for i in args[0]:
                if recs.get(model, i) is None:
                    raise OdooError("MissingError", "Record does not exist or has been deleted.")
            for i in args[0]:
                if method == "unlink":
                    recs.drop(model, i)
                else:
                    old = recs.get(model, i)
                    old.update(store(model, check_vals(model, args[1], False, uid), old))
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
            return Reply(200, {"jsonrpc": "2.0", "id": rid, "result": object_call(model, method, margs, kwargs or {}, uid)})
        except OdooError as e:
            return rpc_error(rid, e.name, str(e))
        except (TypeError, KeyError, IndexError, AttributeError) as e:
            return rpc_error(rid, "builtins.TypeError", repr(e))
    return handle


if __name__ == "__main__":
    asyncio.run(serve(__doc__, handle_for, CONFIG, seed))
    sys.exit(0)
