#!/usr/bin/env python3
"""Fake "slow local upstream" HTTP/1.1 server for flowhost integration tests.

Dependency-free (Python 3.11 stdlib, asyncio streams); one coroutine per
connection, so thousands of concurrent keep-alive connections are fine.

Usage:
    python3 tests/fakes/upstream.py --port 0 [--host 127.0.0.1]
                                    [--port-file PATH] [--delay-ms N]

After binding it writes the port to --port-file (if given, atomically), then
prints exactly one line ``READY <port>`` to stdout and flushes. It serves until
SIGTERM/SIGINT, then closes all connections and exits 0.

Routes (query parameters; any method unless stated):
  /delay?ms=N[&status=S]      wait N ms, answer S (default 200) {"delayed_ms":N}
  /status?code=S[&retry_after=N][&body=...]
                              answer status S with `body` (default {"status":S}),
                              plus a Retry-After header if retry_after is given
  /echo                       200 {"method","path","query" (raw query string),
                              "headers" {lowercased name: value},
                              "body" (request body decoded as UTF-8)}
  /big?bytes=N                200, N bytes of 'x' (text/plain)
  /drip?bytes=N&interval_ms=M headers with Content-Length N, then one 'x' every
                              M ms (text/plain) - for client total timeouts
  /close                      close the socket without answering
  /v1/complete                POST only (else 405): after DELAY_MS (env var,
                              default 1000; --delay-ms overrides) answers
                              {"text":"fake llm says hi"}
  /count                      {"requests": R, "connections": C}: requests parsed
                              so far (including this one) and connections
                              accepted so far - lets tests check reuse
  anything else               404 {"error":"not found"}

Responses carry Content-Type (application/json, text/plain for /big and /drip)
and Content-Length (204/304 carry no body; 204 omits Content-Length; HEAD gets
headers only). Keep-alive is the HTTP/1.1 default; "Connection: close"
(or HTTP/1.0 without "Connection: keep-alive") closes after the response.
Requests are parsed by hand: request line, headers, Content-Length or chunked
bodies, "Expect: 100-continue". Malformed requests get 400 and a close.

The fake vendor servers (whatsapp.py, twilio.py, ...) import what they share
from here: the connection loop (run_vendor), the control API's JSON handling
(control_json), and the HTTP client they call our host with (http_request,
try_request) with the generic part of every /_control/deliver
(deliver_webhook).
"""
import argparse
import asyncio
import inspect
import json
import os
import signal
import sys
from http import HTTPStatus
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
STATS = {"requests": 0, "connections": 0}


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, method, target, version, headers, body=b""):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body = headers, body  # headers: {lowercased: value}
        self.path, _, self.query = target.partition("?")
        self.params = {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def int_param(self, name, default=None, lo=0, hi=None):
        raw = self.params.get(name)
        if raw is None:
            if default is None:
                raise BadRequest(f"missing parameter {name}")
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"parameter {name} must be an integer") from None
        if value < lo or (hi is not None and value > hi):
            raise BadRequest(f"parameter {name} out of range")
        return value

    @property
    def keep_alive(self):
        conn = self.headers.get("connection", "").lower()
        if "close" in conn:
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in conn


async def read_request(reader, writer):
    """Read one request; None on clean EOF before a request starts."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadRequest("truncated request head") from None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large") from None
    lines = head.decode("latin-1").split("\r\n")[:-2]
    parts = lines[0].split(" ")
    if (len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1")
            or not parts[0].isalpha() or not parts[1]):
        raise BadRequest("bad request line")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line")
        name, value = name.lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    req = Request(parts[0], parts[1], parts[2], headers)
    if req.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        req.body = await read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise BadRequest("bad Content-Length")
        req.body = await reader.readexactly(length)
    return req


async def read_chunked(reader):
    body = bytearray()
    while True:
        size_line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise BadRequest("bad chunk size") from None
        if size < 0:
            raise BadRequest("bad chunk size")
        if size == 0:
            break
        if len(body) + size > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("bad chunk terminator")
    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # skip trailers
        pass
    return bytes(body)


def head_bytes(status, length, content_type, keep_alive, extra=()):
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}",
             f"Content-Length: {length}", f"Connection: {'keep-alive' if keep_alive else 'close'}"]
    if status == 204:  # RFC 9110: no Content-Length (and no body) on 204
        del lines[2]
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def respond(writer, req, status, body, keep_alive, content_type="application/json", extra=()):
    if not isinstance(body, bytes):
        body = (body if isinstance(body, str) else json.dumps(body)).encode()
    if status in (204, 304):
        body = b""
    writer.write(head_bytes(status, len(body), content_type, keep_alive, extra))
    if req is None or req.method != "HEAD":
        writer.write(body)
    await writer.drain()


async def route(req, writer, keep_alive, delay_ms):
    """Answer one request. Returns False if the connection must be closed."""
    path = req.path
    if path == "/delay":
        ms = req.int_param("ms")
        status = req.int_param("status", 200, 200, 599)
        await asyncio.sleep(ms / 1000)
        await respond(writer, req, status, {"delayed_ms": ms}, keep_alive)
    elif path == "/status":
        status = req.int_param("code", None, 200, 599)
        extra = []
        if "retry_after" in req.params:
            if any(c in req.params["retry_after"] for c in "\r\n"):
                raise BadRequest("bad retry_after")
            extra.append(("Retry-After", req.params["retry_after"]))
        body = req.params.get("body", json.dumps({"status": status}))
        await respond(writer, req, status, body, keep_alive, extra=extra)
    elif path == "/echo":
        await respond(writer, req, 200, {
            "method": req.method, "path": req.path, "query": req.query,
            "headers": req.headers, "body": req.body.decode("utf-8", "replace"),
        }, keep_alive)
    elif path == "/big":
        n = req.int_param("bytes")
        writer.write(head_bytes(200, n, "text/plain", keep_alive))
        if req.method != "HEAD":
            chunk = b"x" * min(n, 1 << 20)
            for off in range(0, n, len(chunk) or 1):
                writer.write(chunk[: n - off])
                await writer.drain()
        await writer.drain()
    elif path == "/drip":
        n = req.int_param("bytes")
        interval = req.int_param("interval_ms", 100) / 1000
        writer.write(head_bytes(200, n, "text/plain", keep_alive))
        await writer.drain()
        for _ in range(n if req.method != "HEAD" else 0):
            await asyncio.sleep(interval)
            writer.write(b"x")
            await writer.drain()
    elif path == "/close":
        return False
    elif path == "/v1/complete":
        if req.method != "POST":
            await respond(writer, req, 405, {"error": "method not allowed"}, keep_alive,
                          extra=[("Allow", "POST")])
        else:
            await asyncio.sleep(delay_ms / 1000)
            await respond(writer, req, 200, {"text": "fake llm says hi"}, keep_alive)
    elif path == "/count":
        await respond(writer, req, 200, dict(STATS), keep_alive)
    else:
        await respond(writer, req, 404, {"error": "not found"}, keep_alive)
    return keep_alive


async def handle(reader, writer, delay_ms, active):
    STATS["connections"] += 1
    task = asyncio.current_task()
    active.add(task)
    try:
        while True:
            req = None
            try:
                req = await read_request(reader, writer)
                if req is None:
                    break
                STATS["requests"] += 1
                if not await route(req, writer, req.keep_alive, delay_ms):
                    break
            except BadRequest as e:
                await respond(writer, req, 400, {"error": f"bad request: {e}"}, False)
                break
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    except asyncio.CancelledError:  # shutdown: end quietly (3.11 logs cancelled handlers)
        pass
    finally:
        active.discard(task)
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--delay-ms", type=int, default=int(os.environ.get("DELAY_MS", "1000")))
    args = ap.parse_args()

    active = set()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args.delay_ms, active),
        args.host, args.port, backlog=4096, limit=MAX_HEADER_BYTES)
    await serve_until_stopped(server, args.port_file, active)


async def serve_connection(reader, writer, active, route):
    """One keep-alive connection of a fake vendor server: each request goes to
    `await route(req, writer, keep_alive)`, which answers and returns whether
    the connection stays open."""
    task = asyncio.current_task()
    active.add(task)
    try:
        while True:
            req = None
            try:
                req = await read_request(reader, writer)
                if req is None or not await route(req, writer, req.keep_alive):
                    break
            except BadRequest as e:
                await respond(writer, req, 400, {"error": f"bad request: {e}"}, False)
                break
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    except asyncio.CancelledError:  # shutdown
        pass
    finally:
        active.discard(task)
        writer.close()


async def control_json(req, writer, keep_alive, handler, errors=(TypeError, ValueError, KeyError)):
    """A POST to a fake's /_control/ API: a JSON object in, `await handler(path, msg)`
    -> (status, answer) out; a bad body or one of `errors` from the handler is a 400."""
    if req.method != "POST":
        await respond(writer, req, 404, {"error": "not found"}, keep_alive)
        return keep_alive
    try:
        msg = json.loads(req.body.decode("utf-8")) if req.body.strip() else {}
    except (UnicodeDecodeError, ValueError):
        msg = None
    if not isinstance(msg, dict):
        await respond(writer, req, 400, {"error": "expected a JSON object"}, keep_alive)
        return keep_alive
    try:
        status, answer = await handler(req.path, msg)
    except errors as e:
        status, answer = 400, {"error": str(e)}
    await respond(writer, req, status, dumps(answer), keep_alive)
    return keep_alive


def dumps(value):
    """JSON as the vendors send it: UTF-8 as is, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def vendor_args(doc):
    """The command line every fake vendor server takes (add your own options)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    return ap


async def run_vendor(args, route):
    """Serves route on args.host:args.port until SIGTERM/SIGINT."""
    active = set()
    server = await asyncio.start_server(lambda r, w: serve_connection(r, w, active, route), args.host,
                                        args.port, backlog=1024, limit=MAX_HEADER_BYTES)
    await serve_until_stopped(server, args.port_file, active)


# ---------------------------------------------------------------- what the fake vendors send

class Answer(NamedTuple):
    """One exchange of try_request; a failed one has status None, body "error: ..."
    and the exception in error."""
    status: "int | None"
    body: str                      # decoded as UTF-8 (errors replaced)
    headers: dict                  # the response's, names lowercased ({} when it failed)
    error: "BaseException | None"


EXCHANGE_ERRORS = (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                   asyncio.LimitOverrunError, ValueError, IndexError)


def http_target(url):
    """urlsplit(url); ValueError for anything but an http://host[:port]/path URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ValueError("only http://host:port/path URLs are supported")
    return parts


async def http_request(method, url, data, headers, timeout):
    """One HTTP/1.1 request on a fresh connection: Host, then headers (name, value
    pairs) as given, Content-Length unless data is None, Connection: close.
    -> (status, {lowercased name: value}, body bytes); 1xx answers are skipped.
    Raises ValueError (a URL other than http://, a malformed answer),
    asyncio.TimeoutError when the whole exchange takes over timeout seconds, and
    OSError, asyncio.IncompleteReadError... when the exchange fails."""
    parts = http_target(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]

    async def exchange():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80,
                                                       limit=MAX_HEADER_BYTES)
        try:
            lines = [f"{method} {target} HTTP/1.1", f"Host: {host}",
                     *(f"{k}: {v}" for k, v in headers)]
            if data is not None:
                lines.append(f"Content-Length: {len(data)}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (data or b""))
            await writer.drain()
            while True:
                status = int((await reader.readuntil(b"\r\n")).decode("latin-1").split(" ", 2)[1])
                resp = {}
                while True:
                    line = (await reader.readuntil(b"\r\n")).decode("latin-1")
                    if line == "\r\n":
                        break
                    k, _, v = line.partition(":")
                    resp[k.strip().lower()] = v.strip()
                if not 100 <= status < 200:
                    break
            if status in (204, 304) or method == "HEAD":
                body = b""
            elif "chunked" in resp.get("transfer-encoding", "").lower():
                try:
                    body = await read_chunked(reader)
                except BadRequest as e:
                    raise ValueError(f"bad chunked answer: {e}") from None
            elif "content-length" in resp:
                body = await reader.readexactly(int(resp["content-length"]))
            else:
                body = await reader.read()
            return status, resp, body
        finally:
            writer.close()

    return await asyncio.wait_for(exchange(), timeout)


async def try_request(method, url, data, headers, timeout):
    """http_request that answers a failed exchange (EXCHANGE_ERRORS) instead of
    raising it -> an Answer; the body of a timed-out one is "error: no answer
    within N ms", of any other "error: <repr of the exception>"."""
    try:
        status, resp, body = await http_request(method, url, data, headers, timeout)
    except EXCHANGE_ERRORS as e:
        if isinstance(e, asyncio.TimeoutError):
            return Answer(None, f"error: no answer within {timeout * 1000:.0f} ms", {}, e)
        return Answer(None, f"error: {e!r}", {}, e)
    return Answer(status, body.decode("utf-8", "replace"), resp, None)


_PAYLOAD = object()


async def deliver_webhook(msg, sign, *, url=None, body=_PAYLOAD, encode=dumps, method="POST",
                          content_type="application/json", timeout_ms=10000, retries=False,
                          before_send=None, answer=None, signature=None):
    """The generic part of a fake's POST /_control/deliver {"url", "payload",
    "headers"?, "times": 1, "gap_ms": 0, "parallel": false, "timeout_ms"
    (default timeout_ms)[, "retries": 0, "retry_base_ms": 200]}: sends the
    webhook `times` times (all at once when parallel, else gap_ms apart) and
    -> {"statuses": [...], "bodies": [...]} of every attempt (status null, body
    "error: ..." for a failed exchange). What is the vendor's:

      sign(body bytes or None) -> [(name, value), ...]  the vendor's headers
          (signature and the like); sent after Content-Type (content_type,
          None for none), before msg's extra "headers". Raises ValueError for
          a request it cannot sign.
      url / body    the URL and the bytes to send (None: no body) when the
          vendor works them out itself; by default msg's "url" (required) and
          "payload": a string as its UTF-8 bytes, an object or list through
          encode (default: compact UTF-8 JSON).
      retries       True: msg's "retries" and "retry_base_ms" apply: an attempt
          with a failed exchange or a non-2xx answer is repeated after
          retry_base_ms, then twice that, and so on (each attempt is reported).
      before_send() called once everything is checked, before the first attempt.
      answer(Answer) called after each attempt (may be a coroutine function);
          a dict it returns adds one list per key to the result, an entry per
          attempt, after "statuses" and "bodies".
      signature     the name of a header of sign's: its value (or null) is
          the result's "signature".
    Validation errors (ValueError and the like) propagate, for a 400."""
    if url is None:
        url = msg.get("url")
        if not isinstance(url, str) or not url:
            raise ValueError("url is required")
    if body is _PAYLOAD:
        payload = msg.get("payload")
        if isinstance(payload, str):
            body = payload.encode("utf-8")
        elif isinstance(payload, (dict, list)):
            body = encode(payload)
        else:
            raise ValueError("payload (an object, or the raw body text) is required")
    signed = list(sign(body))
    headers = ([("Content-Type", content_type)] if content_type else []) + signed
    for k, v in (msg.get("headers") or {}).items():
        k, v = str(k), str(v)
        if not k or ":" in k or any(c in k + v for c in "\r\n"):
            raise ValueError(f"bad extra header {k!r}")
        headers.append((k, v))
    times = max(1, int(msg.get("times", 1)))
    gap = max(0, float(msg.get("gap_ms", 0))) / 1000
    timeout = max(1, float(msg.get("timeout_ms", timeout_ms))) / 1000
    tries, base = 1, 0
    if retries:
        tries = 1 + max(0, int(msg.get("retries", 0)))
        base = max(0, float(msg.get("retry_base_ms", 200))) / 1000
    if before_send is not None:
        before_send()

    async def delivery():
        attempts = []
        for n in range(tries):
            if n:
                await asyncio.sleep(base * 2 ** (n - 1))
            a = await try_request(method, url, body, headers, timeout)
            extra = answer(a) if answer is not None else None
            if inspect.isawaitable(extra):
                extra = await extra
            attempts.append((a, extra or {}))
            if a.status is not None and 200 <= a.status < 300:
                break
        return attempts

    if msg.get("parallel"):
        runs = await asyncio.gather(*(delivery() for _ in range(times)))
    else:
        runs = []
        for i in range(times):
            if i and gap:
                await asyncio.sleep(gap)
            runs.append(await delivery())
    attempts = [one for run in runs for one in run]
    result = {"statuses": [a.status for a, _ in attempts], "bodies": [a.body for a, _ in attempts]}
    for key in attempts[0][1]:
        result[key] = [extra.get(key) for _, extra in attempts]
    if signature is not None:
        result["signature"] = dict(signed).get(signature)
    return result


async def serve_until_stopped(server, port_file, active):
    """Announces the port (READY <port>, and port_file if given), serves
    until SIGTERM/SIGINT, then closes every connection handler."""
    port = server.sockets[0].getsockname()[1]
    if port_file:
        tmp = f"{port_file}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, port_file)
    print(f"READY {port}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    server.close()  # stop accepting, then end every connection handler
    tasks = list(active)
    for t in tasks:
        t.cancel()  # each handler closes its socket in `finally`
    await asyncio.gather(*tasks, return_exceptions=True)
    await server.wait_closed()
    await asyncio.sleep(0)  # let transports run their close callbacks


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
