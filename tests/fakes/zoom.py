#!/usr/bin/env python3
"""Fake Zoom Server-to-Server OAuth and meetings API, for the connector specs.

    python3 tests/fakes/zoom.py --port P

  POST /oauth/token?grant_type=account_credentials&account_id=A
       "Authorization: Basic base64(client_id:client_secret)" -> {"access_token",
       "token_type": "bearer", "expires_in": 3599, "scope", "api_url"}; a bad
       client -> 400 {"reason": "Invalid client_id or client_secret", "error":
       "invalid_client"}; a bad account -> 400 {"reason": "Invalid account_id", ...}
  API under /v2, "Authorization: Bearer <token>" (else 401 {"code": 124,
  "message": "Invalid access token."}):
  POST   /v2/users/me/meetings {meeting}  -> 201 meeting (numeric 11-digit id, start_time in UTC)
         | 300 "Validation Failed." with errors[] | 429 daily limit (the 101st of a UTC day)
  GET    /v2/users/me/meetings?type=upcoming -> {"meetings": [...], "total_records"}
  GET    /v2/meetings/<id>  -> meeting | 404 {"code": 3001, "message": "Meeting does not exist: <id>."}
  PATCH  /v2/meetings/<id>  -> 204 | 404;   DELETE /v2/meetings/<id> -> 204 | 404
Faults and state: tests/fakes/backoffice_shared.py (config: {"account_id",
"client_id", "client_secret", "daily_limit": 100}).
"""
import asyncio
import base64
import itertools
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from backoffice_shared import Reply, bearer, json_body, serve

CONFIG = {"account_id": "acc-1", "client_id": "zid", "client_secret": "zsecret", "daily_limit": 100}
SHOWN_IN_LIST = ("uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone", "agenda",
                 "created_at", "join_url")


def utc(start, tz):
    if start.endswith("Z"):
        return start
    local = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(tz or "UTC"))
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def handle_for(fake):
    ids = itertools.count(85746065432)
    made_today = {}

    def token(req):
        cfg = fake.config
        basic = base64.b64encode(f"{cfg['client_id']}:{cfg['client_secret']}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {basic}":
            return Reply(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if req.params.get("grant_type") != "account_credentials":
            return Reply(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if req.params.get("account_id") != cfg["account_id"]:
            return Reply(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        return Reply(200, {"access_token": fake.tokens.issue("eyJ"), "token_type": "bearer", "expires_in": 3599,
                           "scope": "meeting:write:meeting meeting:read:meeting", "api_url": "https://api.zoom.us"})

    def create(req):
        m = json_body(req)
        if not isinstance(m, dict):
            return Reply(400, {"code": 300, "message": "Request Body should be a valid JSON object."})
        bad = []
        if m.get("type", 2) not in (1, 2, 3, 8):
            bad.append({"field": "type", "message": "Invalid field."})
        if m.get("type", 2) == 2 and not m.get("start_time"):
            bad.append({"field": "start_time", "message": "Invalid field."})
        if not isinstance(m.get("duration", 30), int):
            bad.append({"field": "duration", "message": "Invalid field."})
        if bad:
            return Reply(400, {"code": 300, "message": "Validation Failed.", "errors": bad})
        day = datetime.now(timezone.utc).date().isoformat()
        made_today[day] = made_today.get(day, 0) + 1
        if made_today[day] > fake.config["daily_limit"]:
            return Reply(429, {"code": 429, "message": "You have exceeded the daily rate limit (100) of Meeting Create/Update "
                               "API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."},
                         (("X-RateLimit-Type", "Daily-limit"),))
        mid = next(ids)
        try:
            start = utc(m["start_time"], m.get("timezone")) if m.get("start_time") else None
        except ValueError:
            return Reply(400, {"code": 300, "message": "Validation Failed.",
                               "errors": [{"field": "start_time", "message": "Invalid field."}]})
        rec = dict(m, uuid=base64.b64encode(mid.to_bytes(16, "big")).decode(), host_id="h0st", host_email="host@example.com",
                   type=m.get("type", 2), status="waiting", start_time=start, duration=m.get("duration", 30),
                   timezone=m.get("timezone", "UTC"), created_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                   start_url=f"https://us05web.zoom.us/s/{mid}?zak=secret", join_url=f"https://us05web.zoom.us/j/{mid}?pwd=x",
                   password="a1B2c3", pre_schedule=False)
        return Reply(201, fake.records.add("meetings", rec, rid=mid))

    def handle(req):
        if req.path == "/oauth/token" and req.method == "POST":
            return token(req)
        if not fake.tokens.valid(bearer(req)):
            return Reply(401, {"code": 124, "message": "Invalid access token."})
        parts = req.path.split("/")[1:]
        if parts == ["v2", "users", "me", "meetings"]:
            if req.method == "POST":
                return create(req)
            ms = [{k: m.get(k) for k in SHOWN_IN_LIST} for m in fake.records.all("meetings")]
            return Reply(200, {"page_size": 300, "total_records": len(ms), "next_page_token": "", "meetings": ms})
        if len(parts) == 3 and parts[:2] == ["v2", "meetings"] and parts[2].isdigit():
            m = fake.records.get("meetings", int(parts[2]))
            if m is None:
                return Reply(404, {"code": 3001, "message": f"Meeting does not exist: {parts[2]}."})
            if req.method == "GET":
                return Reply(200, m)
            if req.method == "PATCH":
                patch = json_body(req)
                if not isinstance(patch, dict):
                    return Reply(400, {"code": 300, "message": "Request Body should be a valid JSON object."})
                m.update({k: v for k, v in patch.items() if k != "id"})
                if "start_time" in patch:
                    m["start_time"] = utc(patch["start_time"], m.get("timezone"))
                return Reply(204, b"")
            if req.method == "DELETE":
                fake.records.drop("meetings", m["id"])
                return Reply(204, b"")
        return Reply(404, {"code": 404, "message": "Not Found"})
    return handle


if __name__ == "__main__":
    asyncio.run(serve(__doc__, handle_for, CONFIG))
    sys.exit(0)
