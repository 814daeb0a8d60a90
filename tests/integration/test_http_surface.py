# What every answer looks like on the wire: the standard reason phrase in the status line, a
# Server header naming the program and not the HTTP library's version, JSON that ends its
# line. Read with a raw socket, as a proxy or a terminal would see it.
import socket

import pytest

from harness import API, ALICE


def raw(server, method, path, headers=()):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *fields = head.decode().split("\r\n")
    return status, {k.lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}, body


@pytest.mark.parametrize("method,path,auth,line", [
    ("GET", "/healthz", False, "HTTP/1.1 200 OK"),
    ("GET", f"{API}/requests", False, "HTTP/1.1 401 Unauthorized"),
    ("GET", f"{API}/requests/nope", True, "HTTP/1.1 400 Bad Request"),
    ("GET", f"{API}/nowhere", True, "HTTP/1.1 404 Not Found"),
    ("PUT", f"{API}/requests", True, "HTTP/1.1 405 Method Not Allowed"),
    ("GET", f"{API}/requests/0123456789abcdefghijklmnop/credentials", True, None),
])
def test_status_line_and_headers(server, method, path, auth, line):
    headers = [f"Authorization: Bearer {server.token(ALICE)}"] if auth else []
    status, fields, body = raw(server, method, path, headers)
    if line:
        assert status == line, status
    code = int(status.split()[1])
    assert status.split(" ", 2)[2] not in ("Error", ""), status
    assert fields.get("server", "jitsudod") == "jitsudod", fields
    if fields.get("content-type") == "application/json":
        assert body.endswith(b"}\n"), body
        assert code == 200 or b'"code"' in body


def test_json_answers_end_with_a_newline(server, alice):
    rid = alice.create_ok()["id"]
    r = alice.get(rid)
    assert r.status_code == 200 and r.content.endswith(b"}\n"), r.content[-20:]
    assert r.headers.get("Server", "jitsudod") == "jitsudod"
    r = server.call("GET", "/version")
    assert r.content.endswith(b"\n") and r.headers.get("Server", "jitsudod") == "jitsudod"
