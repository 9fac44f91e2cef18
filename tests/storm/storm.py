#!/usr/bin/env python3
"""The kill storm: Telegram webhooks as fast as the hosts take them while the
hosts are killed -9 again and again, then a count of what every customer got.

Usage (one host the driver starts, kills and restarts itself):
    python3 tests/storm/storm.py --bin build/flowhost --port 28101 \\
        --duration 40 --kill-every 5 --quiet 45 [--in-doubt resend]
Several hosts: --port 28101 --port 28102 --port 28103 (killed in turn).
Hosts someone else runs: --host URL (repeatable) and --kill-script PATH,
called as `PATH <index> <url>` at each kill time (it kills that host -9 and
starts it again); give their logs with --log FILE (repeatable) for the
in-doubt counts. The hosts must send Telegram to the fake the driver starts:
it exports TELEGRAM_API_URL, <TENANT>_TELEGRAM_TOKEN, _SECRET, _RATE and
_IN_DOUBT to the hosts it starts and to the kill script; hosts started
before the driver take --fake-port P, --token T and --secret S as fixed
values (TELEGRAM_API_URL=http://127.0.0.1:P, <TENANT>_TELEGRAM_RATE high).

Load: --senders tasks; each posts one Update for a new chat ("hi") to a host
(round-robin) and, without a 2xx, posts the same Update again (to the next
host) until one answers 2xx, as Telegram does; then the next new chat. New
chats stop at --duration; the kills too; then the driver waits until the fake
has recorded no sendMessage for --quiet seconds.

The fake (tests/fakes/telegram.py, started here) records every sendMessage it
received (a reply on the wire when its sender was killed counts: the customer
got it). Per acknowledged chat (--expect replies each, 2 for the carwash
greeting):
  answered          every expected reply, each once
  never answered    no reply at all                               (a bug)
  answered twice    a reply more than once, beyond the resends in doubt
                    the hosts logged for that reply of that chat  (a bug)
  resent in doubt   a reply more than once, each extra copy a resend in
                    doubt the hosts logged for it (in_doubt = "resend": the
                    duplicate is the price of never losing one)
  answered in part  fewer distinct replies than expected (a reply in doubt
                    counted as sent under in_doubt = "skip"; under "resend"
                    it is a missing reply: a bug)
In doubt: the host's log lines "reply in doubt ..." (every host, every run),
split by their outcome: resent, skipped (counted as sent) and confirmed (the
vendor's status callback said it arrived; not Telegram). Exit status 1 when never answered or answered
twice is not 0 (or, with --in-doubt resend, answered in part is not 0);
--json FILE writes the figures.
"""
import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKE = os.path.join(ROOT, "tests", "fakes", "telegram.py")


def args_of():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", action="append", default=[], help="a host's base URL (run by someone else)")
    ap.add_argument("--kill-script", help="PATH <index> <url>: kills that host -9 and restarts it")
    ap.add_argument("--port", action="append", type=int, default=[], help="start a host on this port")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "flowhost"))
    ap.add_argument("--config", default="config/flowhost.lua")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--log", action="append", default=[], help="a host log to read (hosts run by someone else)")
    ap.add_argument("--logdir", default=os.path.join(ROOT, "var", "storm"))
    ap.add_argument("--tenant", default="carwash")
    ap.add_argument("--duration", type=float, default=40)
    ap.add_argument("--kill-every", type=float, default=5, help="seconds; 0: no kills")
    ap.add_argument("--quiet", type=float, default=45, help="drain: stop after this long without a send")
    ap.add_argument("--max-drain", type=float, default=300)
    ap.add_argument("--senders", type=int, default=24)
    ap.add_argument("--expect", type=int, default=2, help="replies per chat")
    ap.add_argument("--in-doubt", choices=("resend", "skip"), default="resend",
                    help="the tenant's rule (exported as <TENANT>_IN_DOUBT to the hosts it starts)")
    ap.add_argument("--fake-port", type=int, default=0, help="the Telegram fake's port (default: any free one)")
    ap.add_argument("--token", help="the bot token (default: a random one; give it for hosts started beforehand)")
    ap.add_argument("--secret", help="the webhook secret (default: a random one)")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--claim-idle-ms", type=int, default=None,
                    help="FLOWHOST_STREAM_CLAIM_IDLE_MS for the hosts it starts (default: the host's)")
    return ap.parse_args()


# ---------------------------------------------------------------- HTTP (stdlib, keep-alive)

class Conn:
    def __init__(self, url):
        m = re.match(r"http://([^:/]+):(\d+)", url)
        self.host, self.port = m[1], int(m[2])
        self.r = self.w = None

    async def close(self):
        if self.w:
            self.w.close()
        self.r = self.w = None

    async def request(self, method, path, body=b"", headers=None, timeout=10):
        """-> (status, body bytes); raises OSError/asyncio.TimeoutError on failure."""
        async def go():
            if self.w is None:
                self.r, self.w = await asyncio.open_connection(self.host, self.port)
            head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                    f"Content-Length: {len(body)}"]
            for k, v in (headers or {}).items():
                head.append(f"{k}: {v}")
            self.w.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await self.w.drain()
            line = await self.r.readline()
            if not line:
                raise ConnectionResetError("closed")
            status = int(line.split()[1])
            length, close = 0, False
            while True:
                h = await self.r.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
                elif k.strip().lower() == "connection" and v.strip().lower() == "close":
                    close = True
            data = await self.r.readexactly(length) if length else b""
            if close:
                await self.close()
            return status, data
        try:
            return await asyncio.wait_for(go(), timeout)
        except BaseException:
            await self.close()
            raise


async def get_json(url, path, timeout=30):
    c = Conn(url)
    try:
        status, data = await c.request("GET", path, timeout=timeout)
        return json.loads(data) if status == 200 else None
    finally:
        await c.close()


async def post_json(url, path, obj):
    c = Conn(url)
    try:
        return await c.request("POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json"})
    finally:
        await c.close()


# ---------------------------------------------------------------- processes

class Hosts:
    """The hosts: started here (--port) or by someone else (--host + --kill-script)."""

    def __init__(self, a, env):
        self.a, self.env, self.procs, self.kills = a, env, {}, 0
        self.logs = list(a.log)
        if a.port:
            os.makedirs(a.logdir, exist_ok=True)
            self.urls = [f"http://127.0.0.1:{p}" for p in a.port]
            for i, p in enumerate(a.port):
                self.logs.append(os.path.join(a.logdir, f"host-{p}.log"))
                open(self.logs[-1], "w").close()
        else:
            self.urls = list(a.host)

    def start(self, i):
        port = self.a.port[i]
        env = dict(self.env, FLOWHOST_LISTEN=f"127.0.0.1:{port}", FLOWHOST_WORKERS=str(self.a.workers))
        log = open(self.logs[i], "a")
        self.procs[i] = subprocess.Popen([self.a.bin, "serve", "--config", self.a.config], cwd=ROOT, env=env,
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    async def up(self, i, limit=20):
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            try:
                if await get_json(self.urls[i], "/healthz", timeout=1) is not None:
                    return True
            except (OSError, asyncio.TimeoutError, ValueError):
                pass
            await asyncio.sleep(0.05)
        return False

    async def start_all(self):
        for i in range(len(self.a.port)):
            self.start(i)
        for i in range(len(self.urls)):
            if not await self.up(i):
                raise SystemExit(f"storm: host {self.urls[i]} did not come up")

    async def kill(self, i):
        self.kills += 1
        if self.a.port:
            self.procs[i].send_signal(signal.SIGKILL)
            self.procs[i].wait()
            self.start(i)
        elif self.a.kill_script:
            await asyncio.to_thread(subprocess.run, [self.a.kill_script, str(i), self.urls[i]], env=self.env)

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def start_fake(port):
    p = subprocess.Popen([sys.executable, FAKE, "--port", str(port)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY "):
        p.kill()
        raise SystemExit("storm: the Telegram fake did not start")
    return p, f"http://127.0.0.1:{int(line.split()[1])}"


# ---------------------------------------------------------------- the storm

class Load:
    def __init__(self, urls, tenant, secret):
        self.urls, self.tenant, self.secret = urls, tenant, secret
        self.base = random.randrange(10 ** 9, 2 * 10 ** 9)
        self.next = 0
        self.acked = set()
        self.posts = self.retries = 0
        self.stop_new = False

    def update(self, n):
        chat = self.base + n
        return chat, json.dumps({"update_id": chat, "message": {
            "message_id": 1, "date": int(time.time()), "from": {"id": chat, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": chat, "type": "private", "first_name": "Ana"}, "text": "hi"}}).encode()

    async def sender(self, k, give_up_at):
        conns = [Conn(u) for u in self.urls]
        h = k % len(self.urls)
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": self.secret}
        path = f"/webhooks/{self.tenant}/telegram"
        while not self.stop_new:
            self.next += 1
            chat, body = self.update(self.next)
            while True:
                self.posts += 1
                try:
                    status, _ = await conns[h].request("POST", path, body, headers, timeout=10)
                except (OSError, asyncio.TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
                    status = None
                if status is not None and 200 <= status < 300:
                    self.acked.add(chat)
                    break
                self.retries += 1
                h = (h + 1) % len(self.urls)
                if time.monotonic() > give_up_at:
                    break                        # never acknowledged: not counted
                await asyncio.sleep(0.05)
        for c in conns:
            await c.close()


async def storm(a):
    token = a.token or f"7{random.randrange(10 ** 8, 10 ** 9)}:" + "".join(random.choices("abcdefghijkLMNOP0123456789", k=24))
    secret = a.secret or "storm_" + "".join(random.choices("abcdef0123456789", k=16))
    fake, fake_url = start_fake(a.fake_port)
    T = a.tenant.upper()
    env = dict(os.environ, TELEGRAM_API_URL=fake_url, **{f"{T}_TELEGRAM_TOKEN": token,
               f"{T}_TELEGRAM_SECRET": secret, f"{T}_TELEGRAM_RATE": "100000", f"{T}_IN_DOUBT": a.in_doubt})
    if a.claim_idle_ms is not None:
        env["FLOWHOST_STREAM_CLAIM_IDLE_MS"] = str(a.claim_idle_ms)
    hosts = Hosts(a, env)
    if not hosts.urls:
        raise SystemExit("storm: give --port or --host")
    try:
        await hosts.start_all() if a.port else None
        load = Load(hosts.urls, a.tenant, secret)
        t0 = time.monotonic()
        give_up = t0 + a.duration + a.max_drain
        senders = [asyncio.create_task(load.sender(k, give_up)) for k in range(a.senders)]

        async def killer():
            n = 0
            while True:
                await asyncio.sleep(a.kill_every)
                if time.monotonic() - t0 >= a.duration - 0.01:
                    return
                await hosts.kill(n % len(hosts.urls))
                n += 1
        if a.kill_every > 0:
            await asyncio.wait_for(killer(), a.duration + 5)
        else:
            await asyncio.sleep(a.duration)
        load.stop_new = True
        await asyncio.gather(*senders)
        storm_s = time.monotonic() - t0
        print(f"storm: {storm_s:.0f} s, {len(load.acked)} acknowledged, {hosts.kills} kills; draining",
              file=sys.stderr, flush=True)
        # drain: until nothing was sent for a.quiet seconds
        last_n, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < a.quiet and time.monotonic() - t0 < a.duration + a.max_drain:
            await asyncio.sleep(1)
            c = await get_json(fake_url, f"/_control/count?token={token}&method=sendMessage")
            if c["count"] != last_n:
                last_n, last_change = c["count"], time.monotonic()
        sent = (await get_json(fake_url, f"/_control/sent?token={token}&method=sendMessage", 120))["sent"]
        return figures(a, load, sent, hosts, storm_s, time.monotonic() - t0)
    finally:
        hosts.stop_all()
        fake.send_signal(signal.SIGTERM)
        fake.wait(10)


def in_doubt(logs):
    """-> {outcome: count} and {(conversation, reply number): times resent}."""
    counts, resent = {}, defaultdict(int)
    for path in logs:
        try:
            f = open(path, errors="replace")
        except OSError:
            continue
        with f:
            for line in f:
                if '"reply in doubt' not in line:
                    continue
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                outcome = e.get("outcome", "skipped")      # (older hosts: counted as sent)
                counts[outcome] = counts.get(outcome, 0) + 1
                if outcome == "resent":
                    resent[(str(e.get("conversation")), int(e.get("reply") or 0))] += 1
    return counts, resent


def figures(a, load, sent, hosts, storm_s, total_s):
    texts = defaultdict(lambda: defaultdict(int))    # chat -> text -> copies (in order of arrival)
    for r in sent:
        if r["status"] == 200:
            texts[str(r["params"].get("chat_id"))][r["params"].get("text")] += 1
    doubt, resends = in_doubt(hosts.logs)
    resent, skipped, confirmed = (doubt.get(k, 0) for k in ("resent", "skipped", "confirmed"))
    f = {"acknowledged": len(load.acked), "answered": 0, "never_answered": 0, "answered_twice": 0,
         "resent_in_doubt": 0, "answered_in_part": 0, "in_doubt": resent + skipped + confirmed,
         "in_doubt_resent": resent, "in_doubt_skipped": skipped, "in_doubt_confirmed": confirmed, "sends": sum(sum(t.values()) for t in texts.values()),
         "posts": load.posts, "post_retries": load.retries, "kills": hosts.kills, "hosts": len(hosts.urls),
         "storm_s": round(storm_s, 1), "total_s": round(total_s, 1), "rule": a.in_doubt, "examples": {}}
    for chat in load.acked:
        t = texts.get(str(chat), {})
        kind = None
        if not t:
            kind = "never_answered"
        elif any(n > 1 for n in t.values()) or len(t) > a.expect:
            # reply i is the i-th distinct text to arrive; its extra copies
            # must each be a resend in doubt the host logged for that reply
            extra_ok = all(n - 1 <= resends.get((str(chat), i), 0) for i, n in enumerate(t.values(), 1))
            kind = "resent_in_doubt" if extra_ok and len(t) <= a.expect else "answered_twice"
        elif len(t) < a.expect:
            kind = "answered_in_part"
        else:
            f["answered"] += 1
        if kind:
            f[kind] += 1
            f["examples"].setdefault(kind, [])
            if len(f["examples"][kind]) < 5:
                f["examples"][kind].append({"chat": chat, "texts": dict(t)})
        if kind == "resent_in_doubt" and len(t) < a.expect:
            f["answered_in_part"] += 1
    return f


def main():
    a = args_of()
    f = asyncio.run(storm(a))
    line = ("{hosts} host(s), {kills} kills -9 in {storm_s} s, in_doubt = {rule}: {acknowledged} acknowledged, "
            "{never_answered} never answered, {answered_twice} answered twice, {answered_in_part} answered in part, "
            "{resent_in_doubt} resent in doubt; in doubt {in_doubt} ({in_doubt_resent} resent, "
            "{in_doubt_skipped} counted as sent, {in_doubt_confirmed} confirmed by the vendor); {sends} replies, {post_retries} webhook retries").format(**f)
    print(line, flush=True)
    if f["examples"]:
        print("examples: " + json.dumps(f["examples"]), flush=True)
    if a.json:
        with open(a.json, "w") as out:
            json.dump(f, out, indent=1)
    bad = f["never_answered"] + f["answered_twice"] + (f["answered_in_part"] if a.in_doubt == "resend" else 0)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
