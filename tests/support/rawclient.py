"""Raw-socket HTTP clients for the limit tests (things curl won't do).

  rawclient.py slow PORT INTERVAL   trickle a request 1 byte per INTERVAL s;
                                    prints seconds until the server closed
  rawclient.py hold PORT N          hold N idle connections, then send one
                                    request on a new one; prints its status
  rawclient.py chunked PORT KB      send a chunked body 4 KB at a time (10 ms
                                    apart) up to KB; prints the status the
                                    server answered, or "closed"
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


def chunked(port, kb):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"1000\r\n" + b"y" * 4096 + b"\r\n"
    s.setblocking(False)
    data = b""
    for _ in range(kb // 4):
        try:
            data += s.recv(4096)
        except BlockingIOError:
            pass
        except OSError:
            break
        if data:
            break  # answered before the end of the body
        try:
            s.sendall(chunk)
        except OSError:
            break
        time.sleep(0.01)
    s.setblocking(True)
    s.settimeout(5)
    try:
        while b"\r\n\r\n" not in data:
            more = s.recv(4096)
            if not more:
                break
            data += more
    except OSError:
        pass
    text = data.decode(errors="replace")
    print(text.split(" ")[1] if text.startswith("HTTP/") else "closed")


if __name__ == "__main__":
    if sys.argv[1] == "slow":
        slow(int(sys.argv[2]), float(sys.argv[3]))
    elif sys.argv[1] == "chunked":
        chunked(int(sys.argv[2]), int(sys.argv[3]))
    else:
        hold(int(sys.argv[2]), int(sys.argv[3]))
