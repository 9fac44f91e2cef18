"""A flood of idle connections from one loopback address, for
tests/security/stranger_spec.lua (things the host's own HTTP client cannot
do: hundreds of sockets that never send, a chosen source address).

  flood.py PORT N

Opens N TCP connections from 127.0.0.1 that send nothing, waits a moment,
counts how many the host still holds open, then asks GET /healthz from
127.0.0.2 (another client) and from 127.0.0.1 (the flooder) on fresh
connections. Prints one JSON line:
  {"opened": N, "held": n, "other": {"status": 200, "ms": 3.1},
   "same": {"status": "closed" | 503 | ..., "ms": ...}}
"""
import json
import socket
import sys
import time


def ask(port, source):
    start = time.monotonic()
    try:
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(4096).decode(errors="replace")
        s.close()
        status = int(data.split(" ")[1]) if data.startswith("HTTP/") else "closed"
    except OSError as e:
        status = "error: " + type(e).__name__
    return {"status": status, "ms": round((time.monotonic() - start) * 1000, 1)}


def still_open(s):
    """True when the host has not closed (or answered on) this socket."""
    s.setblocking(False)
    try:
        s.recv(1)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # closed, or answered (a 503) instead of holding it


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    held = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        held.append(s)
    time.sleep(0.5)
    open_now = sum(1 for s in held if still_open(s))
    other = ask(port, "127.0.0.2")
    same = ask(port, "127.0.0.1")
    print(json.dumps({"opened": len(held), "held": open_now, "other": other, "same": same}))
    for s in held:
        s.close()


if __name__ == "__main__":
    main()
