"""Raw-socket HTTP clients for the limit tests (things curl won't do).

  rawclient.py slow PORT INTERVAL   trickle a request 1 byte per INTERVAL s;
                                    prints seconds until the server closed
  rawclient.py hold PORT N          hold N idle connections, then send one
                                    request on a new one; prints its status
"""
import socket
import sys
import time


def slow(port, interval):
    s = socket.create_connection(("127.0.0.1", port))
    start = time.monotonic()
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 10000
    try:
        for b in req:
            s.send(bytes([b]))
            time.sleep(interval)
            if time.monotonic() - start > 30:
                break
    except OSError:
        pass
    # the server closed (send failed) or we ran out of bytes
    s.settimeout(1)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    print(f"{time.monotonic() - start:.2f}")


def hold(port, n):
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    time.sleep(0.3)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(5)
    data = s.recv(4096).decode(errors="replace")
    print(data.split(" ")[1] if data.startswith("HTTP/") else "closed")
    for h in held:
        h.close()


if __name__ == "__main__":
    if sys.argv[1] == "slow":
        slow(int(sys.argv[2]), float(sys.argv[3]))
    else:
        hold(int(sys.argv[2]), int(sys.argv[3]))
