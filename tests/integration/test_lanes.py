# Where an operation runs is decided by what it does: an event loop answers health checks and
# single reads while a credentials fetch waits for a slow disk, a token waits for its issuer's
# keys, or scans of the audit log keep the reader threads busy. One event loop thread, so a
# loop that waited would show in every health check.
import http.server
import json
import threading
import time

import pytest

import harness
from harness import ALICE, BOB, MALLORY, approved_request, b64url, expect, free_port

SYNC_DELAY_MS = 400


def healthz_while(server, busy, limit_s):
    """Times /healthz until busy() turns false; returns the latencies in seconds."""
    times = []
    deadline = time.monotonic() + limit_s
    while busy() and time.monotonic() < deadline:
        t0 = time.monotonic()
        r = server.session.get(server.url + "/healthz", timeout=5)
        times.append(time.monotonic() - t0)
        assert r.status_code == 200
        time.sleep(0.01)
    return times


def in_thread(fn):
    out = {}

    def run():
        out["result"] = fn()

    t = threading.Thread(target=run)
    t.start()
    return t, out


@pytest.fixture
def slow_disk_server(make_server):
    s = make_server({"server.http_threads": 1}, start=False)
    s.env = harness.failsync_env(JITSUDO_TEST_SYNC_DELAY_MS=str(SYNC_DELAY_MS))
    s.start(timeout=30)
    return s


def test_credentials_fetch_does_not_stall_the_loop(slow_disk_server):
    s = slow_disk_server
    alice, bob = s.client(ALICE), s.client(BOB)
    rids = [approved_request(alice, bob)["id"] for _ in range(3)]
    for rid in rids:
        # the first fetch moves APPROVED to ACTIVE: a commit, synced to a slow disk
        t, out = in_thread(lambda: alice.credentials(rid))
        lat = healthz_while(s, t.is_alive, 10)
        t.join()
        expect(out["result"], 200)
        assert alice.state(rid) == "REQUEST_STATE_ACTIVE"
        assert lat, "the fetch ended before any health check"
        assert max(lat) < SYNC_DELAY_MS / 1000 / 2, lat


class SlowIssuer:
    """An OpenID issuer whose key set takes `delay` seconds to arrive."""

    def __init__(self, delay):
        self.key = harness.new_ec_key()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay = delay
        self.fetches = 0
        n = self.key.public_key().public_numbers()
        jwks = {"keys": [{"kty": "EC", "crv": "P-256", "kid": "slow1", "alg": "ES256",
                          "use": "sig", "x": b64url(n.x.to_bytes(32, "big")),
                          "y": b64url(n.y.to_bytes(32, "big"))}]}
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
                elif self.path == "/jwks":
                    issuer.fetches += 1
                    time.sleep(issuer.delay)
                    body = jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def token(self, email="alice@example.com", groups=("sre",)):
        import jwt
        now = int(time.time())
        return jwt.encode({"iss": self.url, "aud": "jitsudo", "sub": email, "email": email,
                           "groups": list(groups), "iat": now, "exp": now + 600},
                          self.key, algorithm="ES256", headers={"kid": "slow1"})

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_key_fetch_does_not_stall_the_loop(make_server):
    issuer = SlowIssuer(delay=1.0)
    try:
        s = make_server({"server.http_threads": 1,
                         "identity.oidc": [{"issuer": issuer.url, "audience": "jitsudo"}]})
        rid = s.client(ALICE).create_ok()["id"]
        token = issuer.token()
        # a single read, which the loop answers itself once the keys are known
        t, out = in_thread(lambda: s.call("GET", f"requests/{rid}", token=token))
        lat = healthz_while(s, t.is_alive, 10)
        t.join()
        expect(out["result"], 200)
        assert issuer.fetches == 1
        assert lat and max(lat) < 0.3, lat
        # the keys are known now: the same read is quick
        t0 = time.monotonic()
        expect(s.call("GET", f"requests/{rid}", token=issuer.token(groups=("sre", "x"))), 200)
        assert time.monotonic() - t0 < 0.5
    finally:
        issuer.close()


def test_audit_scans_do_not_stall_the_loop(make_server):
    s = make_server({"server.http_threads": 1})
    alice = s.client(ALICE)
    for _ in range(400):
        alice.create_ok()
    # mallory may see none of these requests: every scan checks each one and finds nothing
    mallory = s.client(MALLORY)
    stop = threading.Event()
    answers = []

    def scan():
        while not stop.is_set():
            r = mallory.audit(page_size=1000)
            answers.append(r.status_code)

    scanners = [threading.Thread(target=scan) for _ in range(8)]
    for t in scanners:
        t.start()
    try:
        time.sleep(0.3)
        t_end = time.monotonic() + 3
        lat = healthz_while(s, lambda: time.monotonic() < t_end, 5)
    finally:
        stop.set()
        for t in scanners:
            t.join()
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1]
    assert p99 < 0.05, (p99, lat[-5:])
    assert answers and set(answers) <= {200, 503}, set(answers)
    assert 200 in answers


def test_scan_cost_is_bounded_by_a_page_token(make_server):
    s = make_server()
    alice, mallory = s.client(ALICE), s.client(MALLORY)
    rids = [alice.create_ok()["id"] for _ in range(300)]
    # 300 requests mallory may not see: one query checks at most 256 of them, then stops
    body = expect(mallory.audit(page_size=1000), 200)
    assert body["events"] == [] and body["next_page_token"], body
    assert mallory.audit_all() == []
    body = expect(mallory.list(page_size=1000), 200)
    assert body["requests"] == [] and body["next_page_token"], body
    # a caller who may see them all still gets every one, page after page
    seen = {e["request_id"] for e in s.client(BOB).audit_all()}
    assert set(rids) <= seen
    listed, token = [], ""
    while True:
        params = {"page_size": 1000, **({"page_token": token} if token else {})}
        page = expect(s.client(BOB).list(**params), 200)
        listed += [r["id"] for r in page["requests"]]
        token = page["next_page_token"]
        if not token:
            break
    assert set(rids) <= set(listed)
