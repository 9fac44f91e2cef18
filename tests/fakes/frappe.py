#!/usr/bin/env python3
"""Fake Frappe / ERPNext REST API (v1) for the connector specs.

    python3 tests/fakes/frappe.py --port P

Auth: "Authorization: token <key>:<secret>"; anything else -> 401
AuthenticationError. Routes:
  GET    /api/resource/<DocType>?fields=[..]&filters=[[f,op,v]]|{f:v}
         &limit_page_length=N&limit_start=M       -> {"data": [docs]} (fields default ["name"])
  GET    /api/resource/<DocType>/<name>           -> {"data": doc} | 404 DoesNotExistError
  POST   /api/resource/<DocType> {doc}            -> {"data": doc} (name given, or <DocType>-00001...)
         | 409 DuplicateEntryError (name taken) | 417 ValidationError (to_time before from_time)
  PUT    /api/resource/<DocType>/<name> {fields}  -> {"data": doc}
  DELETE /api/resource/<DocType>/<name>           -> 202 {"data": "ok"}
  GET|POST /api/method/frappe.auth.get_logged_user -> {"message": user}
  GET|POST /api/method/ping                        -> {"message": "pong"}
  GET|POST /api/method/<the car-service app's methods> (customer_portal.get_filtered_services,
         booking.get_optional_addons, booking.calculate_booking_price, booking.create_booking)
         and its doctypes (Service Product, Service Addon, Service Booking), seeded on start
         and on reset: tests/fakes/frappe_carwash.py
Errors carry exc_type, exception and _server_messages (a JSON list of JSON strings).
Faults, state and credentials: tests/fakes/backoffice_shared.py (config:
{"key": "fk", "secret": "fs", "user": "bot@example.com"}).
"""
import asyncio
import json
import sys
from urllib.parse import unquote

from backoffice_shared import Reply, json_body, serve
import frappe_carwash

CONFIG = {"key": "fk", "secret": "fs", "user": "bot@example.com"}
STATUS = {"ValidationError": 417, "AuthenticationError": 401, "PermissionError": 403,
          "DoesNotExistError": 404, "DuplicateEntryError": 409}


def error(exc_type, message):
    msg = json.dumps({"message": message, "title": "Message", "indicator": "red", "raise_exception": 1})
    return Reply(STATUS.get(exc_type, 500), {
        "exc_type": exc_type, "exception": f"frappe.exceptions.{exc_type}: {message}",
        "exc": json.dumps(["Traceback (most recent call last):\n ...\n"]),
        "_server_messages": json.dumps([msg])})


def filtered(docs, filters):
    if isinstance(filters, dict):
        filters = [[k, "=", v] for k, v in filters.items()]
    for f in filters or []:
        field, op, value = f[-3:]
        if op == "=":
            docs = [d for d in docs if d.get(field) == value]
        elif op == "!=":
            docs = [d for d in docs if d.get(field) != value]
        elif op == "in":
            docs = [d for d in docs if d.get(field) in value]
        elif op == "like":
            docs = [d for d in docs if str(value).strip("%").lower() in str(d.get(field, "")).lower()]
        else:
            raise ValueError(f"unsupported operator {op}")
    return docs


def method_args(req):
    """A method's arguments: the query, then a JSON object body over it."""
    args = dict(req.params)
    body = json_body(req)
    if isinstance(body, dict):
        args.update(body)
    return args


def handle_for(fake):
    counters = {}
    app = frappe_carwash.App(fake, error, lambda message: Reply(200, {"message": message}))

    def handle(req):
        cfg = fake.config
        if req.headers.get("authorization") != f"token {cfg['key']}:{cfg['secret']}":
            return error("AuthenticationError", "Invalid Authentication")
        parts = [unquote(p) for p in req.path.split("/")[1:]]
        if parts[:2] == ["api", "method"] and len(parts) == 3:
            if parts[2] == "frappe.auth.get_logged_user":
                return Reply(200, {"message": cfg["user"]})
            if parts[2] == "ping":
                return Reply(200, {"message": "pong"})
            reply = app.method(parts[2], method_args(req))
            if reply is not None:
                return reply
            return error("DoesNotExistError", f"Method {parts[2]} not found")
        if parts[:2] != ["api", "resource"] or len(parts) not in (3, 4):
            return Reply(404, {"exc_type": "DoesNotExistError"})
        doctype, recs = parts[2], fake.records
        name = parts[3] if len(parts) == 4 else None
        if name is None and req.method == "GET":
            try:
                fields = json.loads(req.params.get("fields", '["name"]'))
                docs = filtered(recs.all(doctype), json.loads(req.params.get("filters", "[]")))
            except (ValueError, TypeError, IndexError) as e:
                return error("ValidationError", f"bad query: {e}")
            start = int(req.params.get("limit_start", 0))
            docs = docs[start:start + int(req.params.get("limit_page_length", req.params.get("limit", 20)))]
            return Reply(200, {"data": [d if "*" in fields else {k: d.get(k) for k in fields} for d in docs]})
        if name is None and req.method == "POST":
            doc = json_body(req)
            if not isinstance(doc, dict):
                return error("ValidationError", "body must be a JSON object")
            if doc.get("from_time") and doc.get("to_time") and doc["to_time"] < doc["from_time"]:
                return error("ValidationError", "From Time cannot be after To Time")
            if not doc.get("name"):
                counters[doctype] = counters.get(doctype, 0) + 1
                doc["name"] = f"{doctype.upper().replace(' ', '-')}-{counters[doctype]:05d}"
            if recs.get(doctype, doc["name"]) is not None:
                return error("DuplicateEntryError", f"{doctype} {doc['name']} already exists")
            made = recs.add(doctype, dict(doc, doctype=doctype, docstatus=0), rid=doc["name"])
            return Reply(200, {"data": {k: v for k, v in made.items() if k != "id"}})
        doc = recs.get(doctype, name)
        if doc is None:
            return error("DoesNotExistError", f"{doctype} {name} not found")
        shown = {k: v for k, v in doc.items() if k != "id"}
        if req.method == "GET":
            return Reply(200, {"data": shown})
        if req.method == "PUT":
            body = json_body(req)
            if not isinstance(body, dict):
                return error("ValidationError", "body must be a JSON object")
            doc.update({k: v for k, v in body.items() if k not in ("name", "id")})
            return Reply(200, {"data": {k: v for k, v in doc.items() if k != "id"}})
        if req.method == "DELETE":
            recs.drop(doctype, name)
            return Reply(202, {"data": "ok"})
        return Reply(405, {"exc_type": "ValidationError"})
    return handle


if __name__ == "__main__":
    asyncio.run(serve(__doc__, handle_for, CONFIG, frappe_carwash.seed))
    sys.exit(0)
