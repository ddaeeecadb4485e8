#!/usr/bin/env python3
"""http_front.py — raw HTTP/1.1 over TLS against the edge's front door, for t_front_http.

  http_front.py pipeline HOST PORT CA TOKEN        two GETs and a HEAD in one write; prints each
                                                   response's status and body length, in order
  http_front.py early HOST PORT CA TOKEN LEN       POST /api/v1/apps announcing LEN body bytes,
                                                   sends only the head; prints the status and
                                                   whether the edge closed, and how fast (ms)
  http_front.py hold HOST PORT CA N SECONDS SRC... N connections (spread over source addresses
                                                   SRC...) each announcing a 1 MiB body to the
                                                   admin API with a wrong token and sending 64 KiB
                                                   of it; prints how many were refused (401, or
                                                   429 past the failure limit) and closed, then
                                                   holds the rest for SECONDS
  http_front.py idle HOST PORT CA TOKEN            one authenticated GET, then waits; prints the
                                                   seconds until the edge closed the connection
  http_front.py big HOST PORT CA TOKEN             GET /api/v1/audit?limit=5000 then GET
                                                   /api/v1/apps on the same connection; prints the
                                                   first one's transfer-encoding, body bytes and
                                                   events, and the second one's status
"""
import json
import socket
import ssl
import sys
import time


def connect(host, port, ca, src=None):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    raw = socket.create_connection((host, int(port)), timeout=15,
                                   source_address=(src, 0) if src else None)
    return ctx.wrap_socket(raw, server_hostname=None)


def read_response(s, buf, head_only=False):
    """Reads one response from s (leftover bytes in buf); returns (status, body, buf, headers)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed before a response head")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if not head_only and headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed inside a chunked body")
                buf += chunk
            line, _, buf = buf.partition(b"\r\n")
            size = int(line, 16)
            while len(buf) < size + 2:
                chunk = s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed inside a chunk")
                buf += chunk
            if buf[size:size + 2] != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                return status, body, buf, headers
    n = 0 if head_only else int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside a response body")
        buf += chunk
    return status, buf[:n], buf[n:], headers


def req(method, path, token, extra=""):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"{extra}\r\n").encode()


def mode_pipeline(host, port, ca, token):
    s = connect(host, port, ca)
    s.sendall(req("GET", "/api/v1/apps", token) + req("GET", "/api/v1/service-tokens", token) +
              req("HEAD", "/api/v1/apps", token))
    buf = b""
    for method in ("GET", "GET", "HEAD"):
        status, body, buf, headers = read_response(s, buf, head_only=method == "HEAD")
        print(status, len(body), headers.get("content-length"), headers.get("connection"))
    s.close()


def mode_early(host, port, ca, token, length):
    s = connect(host, port, ca)
    t0 = time.monotonic()
    s.sendall(req("POST", "/api/v1/apps", token,
                  f"Content-Type: application/json\r\nContent-Length: {length}\r\n"))
    status, _, _, headers = read_response(s, b"")
    closed = False
    try:
        closed = s.recv(1) == b""
    except (ConnectionError, ssl.SSLError):
        closed = True
    print(status, "closed" if closed else "open", int((time.monotonic() - t0) * 1000))


def mode_hold(host, port, ca, n, seconds, srcs):
    conns, answered = [], 0
    body = b"x" * 65536
    for i in range(n):
        s = connect(host, port, ca, srcs[i % len(srcs)])
        s.sendall(req("POST", "/api/v1/apps", "wrong-token",
                      "Content-Type: application/json\r\nContent-Length: 1048576\r\n"))
        try:
            s.sendall(body)
        except (ConnectionError, ssl.SSLError):
            pass
        conns.append(s)
    for s in conns:
        try:
            s.settimeout(5)
            status, _, _, _ = read_response(s, b"")
            if status in (401, 429) and s.recv(1) == b"":
                answered += 1
        except (EOFError, ConnectionError, ssl.SSLError, OSError):
            pass
    print(answered, flush=True)
    time.sleep(seconds)


def mode_idle(host, port, ca, token):
    s = connect(host, port, ca)
    s.sendall(req("GET", "/api/v1/apps", token))
    status, _, buf, headers = read_response(s, b"")
    if status != 200 or headers.get("connection") != "keep-alive":
        print(f"status {status} connection {headers.get('connection')}")
        return
    t0 = time.monotonic()
    s.settimeout(60)
    try:
        while s.recv(4096):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    print(f"closed after {time.monotonic() - t0:.1f}")


def mode_big(host, port, ca, token):
    s = connect(host, port, ca)
    s.sendall(req("GET", "/api/v1/audit?limit=5000", token) + req("GET", "/api/v1/apps", token))
    status, body, buf, headers = read_response(s, b"")
    events = len(json.loads(body)["events"]) if status == 200 else -1
    status2, _, _, _ = read_response(s, buf)
    print(headers.get("transfer-encoding", "-"), len(body), events, status2)


def main():
    a = sys.argv[1:]
    if a[0] == "pipeline":
        mode_pipeline(*a[1:5])
    elif a[0] == "early":
        mode_early(*a[1:5], int(a[5]))
    elif a[0] == "hold":
        mode_hold(a[1], a[2], a[3], int(a[4]), float(a[5]), a[6:])
    elif a[0] == "idle":
        mode_idle(*a[1:5])
    elif a[0] == "big":
        mode_big(*a[1:5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
