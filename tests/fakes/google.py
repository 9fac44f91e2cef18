#!/usr/bin/env python3
"""Fake Google OAuth token endpoint (service-account JWT grant) and Calendar
API v3, for the connector specs.

    python3 tests/fakes/google.py --port P

  POST /token  form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT
      the JWT must be RS256-signed by the configured key (iss = client_email,
      iat within 5 min of now, exp - iat <= 3600) -> {"access_token",
      "expires_in": 3599, "token_type": "Bearer"}; else 400 {"error":
      "invalid_grant", "error_description": "Invalid JWT Signature."} (or the
      "short-lived token" text)
  Calendar, "Authorization: Bearer <token>" (else 401 authError):
  POST   /calendar/v3/freeBusy {timeMin, timeMax, items:[{id}]}
         -> {"kind":"calendar#freeBusy", calendars: {id: {busy: [...]}}}; an
         unknown calendar gets errors [{domain: global, reason: notFound}];
         timeMax <= timeMin -> 400 timeRangeEmpty
  POST   /calendar/v3/calendars/<cal>/events {event}   -> the event (id given:
         base32hex, 5-1024; taken, even by a deleted event -> 409 duplicate)
  GET    /calendar/v3/calendars/<cal>/events/<id>      -> event | 404 notFound
  PATCH  /calendar/v3/calendars/<cal>/events/<id>      -> event | 404
  DELETE /calendar/v3/calendars/<cal>/events/<id>      -> 204 | 410 deleted | 404
Faults and state: tests/fakes/backoffice_shared.py (config: {"client_email",
"public_key" (a path to a PEM), "calendars": [ids]}).
"""
import asyncio
import base64
import hashlib
import json
import re
import secrets
import sys
import time
from datetime import datetime
from urllib.parse import parse_qs, unquote

from backoffice_shared import Reply, bearer, json_body, serve

CONFIG = {"client_email": "bot@flowhost-test.iam.gserviceaccount.com",
          "public_key": "tests/fixtures/connectors/test_sa_pub.pem",
          "calendars": ["primary", "rep@clinic.example"]}
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")


def gerror(status, reason, message, domain="global"):
    return Reply(status, {"error": {"errors": [{"domain": domain, "reason": reason, "message": message}],
                                    "code": status, "message": message}})


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def der(buf, i):
    """One DER element at i -> (tag, content start, end)."""
    tag, n = buf[i], buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n, i = int.from_bytes(buf[i:i + k], "big"), i + k
    return tag, i, i + n


def rsa_public_key(pem):
    """(n, e) of a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), stdlib only."""
    body = "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))
    buf = base64.b64decode(body)
    _, i, _ = der(buf, 0)                 # SubjectPublicKeyInfo
    _, _, i = der(buf, i)                 # AlgorithmIdentifier (skipped)
    _, i, _ = der(buf, i)                 # BIT STRING: an unused-bits byte, then
    key = buf[i + 1:]                     # RSAPublicKey
    _, i, _ = der(key, 0)
    _, a, b = der(key, i)                 # modulus
    _, c, d = der(key, b)                 # public exponent
    return int.from_bytes(key[a:b], "big"), int.from_bytes(key[c:d], "big")


def rs256_ok(pem, message, sig):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 8.2.2)."""
    n, e = rsa_public_key(pem)
    k = (n.bit_length() + 7) // 8
    if len(sig) != k:
        return False
    em = pow(int.from_bytes(sig, "big"), e, n).to_bytes(k, "big")
    t = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    return em == b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def check_jwt(token, cfg):
    """-> None when good, else the error_description Google gives."""
    try:
        h, c, s = token.split(".")
        header, claims = json.loads(b64url(h)), json.loads(b64url(c))
        with open(cfg["public_key"]) as f:
            good = rs256_ok(f.read(), f"{h}.{c}".encode(), b64url(s))
    except (ValueError, IndexError, OSError):
        return "Invalid JWT Signature."
    if not good:
        return "Invalid JWT Signature."
    now = time.time()
    if header.get("alg") != "RS256" or claims.get("iss") != cfg["client_email"]:
        return "Invalid JWT Signature."
    iat, exp = claims.get("iat", 0), claims.get("exp", 0)
    if abs(iat - now) > 300 or exp - iat > 3600 or exp < now:
        return ("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                "Check your iat and exp values in the JWT claim.")
    return None


def when(v):
    return datetime.fromisoformat((v or {}).get("dateTime", "").replace("Z", "+00:00"))


def handle_for(fake):
    def token(req):
        form = {k: v[-1] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "})
        why = check_jwt(form.get("assertion", ""), fake.config)
        if why:
            return Reply(400, {"error": "invalid_grant", "error_description": why})
        return Reply(200, {"access_token": fake.tokens.issue("ya29"), "expires_in": 3599, "token_type": "Bearer"})

    def free_busy(body):
        try:
            lo, hi = (datetime.fromisoformat(body[k].replace("Z", "+00:00")) for k in ("timeMin", "timeMax"))
        except (KeyError, ValueError, AttributeError):
            return gerror(400, "badRequest", "Bad Request")
        if hi <= lo:
            return gerror(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")
        out = {}
        for item in body.get("items") or []:
            cal = item.get("id")
            if cal not in fake.config["calendars"]:
                out[cal] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            busy = [{"start": e["start"]["dateTime"], "end": e["end"]["dateTime"]}
                    for e in fake.records.all(cal) if e.get("status") != "cancelled"
                    and when(e["start"]) < hi and when(e["end"]) > lo]
            out[cal] = {"busy": sorted(busy, key=lambda b: b["start"])}
        return Reply(200, {"kind": "calendar#freeBusy", "timeMin": body["timeMin"], "timeMax": body["timeMax"],
                           "calendars": out})

    def events(req, cal, eid):
        recs = fake.records
        if cal not in fake.config["calendars"]:
            return gerror(404, "notFound", "Not Found")
        if eid is None and req.method == "POST":
            ev = json_body(req)
            if not isinstance(ev, dict) or "start" not in ev or "end" not in ev:
                return gerror(400, "required", "Missing end time.")
            try:
                if when(ev["end"]) <= when(ev["start"]):
                    return gerror(400, "timeRangeEmpty", "The specified time range is empty.", "calendar")
            except ValueError:
                return gerror(400, "invalid", "Invalid start time.")
            eid = ev.get("id") or secrets.token_hex(13)
            if not EVENT_ID.match(eid):
                return gerror(400, "invalid", "Invalid resource id value.")
            if recs.get(cal, eid) is not None:
                return gerror(409, "duplicate", "The requested identifier already exists.")
            ev.pop("conferenceData", None)          # kept only with conferenceDataVersion=1 (not modelled)
            now = datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%S.000Z")
            made = recs.add(cal, dict(ev, status="confirmed", kind="calendar#event", etag=f'"{secrets.token_hex(6)}"',
                                      created=now, updated=now, htmlLink=f"https://calendar.example/event?eid={eid}",
                                      iCalUID=f"{eid}@google.com"), rid=eid)
            return Reply(200, made)
        ev = recs.get(cal, eid) if eid else None
        if ev is None:
            return gerror(404, "notFound", "Not Found")
        if req.method == "DELETE":
            if ev["status"] == "cancelled":
                return gerror(410, "deleted", "Resource has been deleted")
            ev["status"] = "cancelled"
            return Reply(204, b"")
        if ev["status"] == "cancelled":
            return gerror(404, "notFound", "Not Found")
        if req.method == "GET":
            return Reply(200, ev)
        if req.method == "PATCH":
            patch = json_body(req)
            if not isinstance(patch, dict):
                return gerror(400, "parseError", "Parse Error")
            ev.update({k: v for k, v in patch.items() if k != "id"})
            return Reply(200, ev)
        return gerror(405, "httpMethodNotAllowed", "Method Not Allowed")

    def handle(req):
        if req.path == "/token" and req.method == "POST":
            return token(req)
        if not req.path.startswith("/calendar/v3/"):
            return gerror(404, "notFound", "Not Found")
        if not fake.tokens.valid(bearer(req)):
            return Reply(401, {"error": {"errors": [{"domain": "global", "reason": "authError", "message": "Invalid Credentials",
                                                     "locationType": "header", "location": "Authorization"}],
                                         "code": 401, "message": "Invalid Credentials"}},
                         (("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/", error="invalid_token"'),))
        rest = [unquote(p) for p in req.path[len("/calendar/v3/"):].split("/")]
        if rest == ["freeBusy"] and req.method == "POST":
            body = json_body(req)
            return free_busy(body) if isinstance(body, dict) else gerror(400, "parseError", "Parse Error")
        if len(rest) in (3, 4) and rest[0] == "calendars" and rest[2] == "events":
            return events(req, rest[1], rest[3] if len(rest) == 4 else None)
        return gerror(404, "notFound", "Not Found")
    return handle


if __name__ == "__main__":
    asyncio.run(serve(__doc__, handle_for, CONFIG))
    sys.exit(0)
