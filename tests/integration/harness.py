# Runs a real jitsudod for the integration tests: `jitsudod init` into a temporary directory,
# the config rewritten for the test (short durations, test policies, mock provider hooks), the
# server started as a subprocess on a free loopback port and stopped (SIGTERM, then SIGKILL)
# at teardown. Tokens come from `jitsudod token`; hostile tokens are forged with PyJWT.
import base64
import datetime
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import jwt
import requests
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("JITSUDOD_BIN") or REPO / "build" / "jitsudod").resolve()
TEST_POLICIES = Path(__file__).resolve().parent / "policies"
REPO_POLICIES = REPO / "policies"
API = "/api/v1alpha1"
START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0

# The people of the tests, as (email, groups). The test policies (policies/) make sre and dev
# eligible, approvers the approvers; jitsudo-admins is the default admin group.
ALICE = ("alice@example.com", ("sre",))  # requester
BOB = ("bob@example.com", ("approvers",))  # approver
CAROL = ("carol@example.com", ("approvers",))  # a second approver
EVE = ("eve@example.com", ("dev",))  # an eligible user who is nobody's approver
ADMIN = ("admin@example.com", ("jitsudo-admins",))  # admin, not an approver
MALLORY = ("mallory@example.com", ())  # not eligible for anything


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_time(text):
    """RFC 3339 (Z or offset, with or without a fraction) to a POSIX float."""
    assert isinstance(text, str) and text, f"not a timestamp: {text!r}"
    t = text.replace("Z", "+00:00").replace("z", "+00:00")
    frac = ""
    if "." in t:
        head, rest = t.split(".", 1)
        digits = ""
        while rest and rest[0].isdigit():
            digits += rest[0]
            rest = rest[1:]
        frac = digits
        t = head + rest
    dt = datetime.datetime.fromisoformat(t)
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate() until it returns a true value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def set_path(tree, dotted, value):
    node = tree
    keys = dotted.split(".")
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value


class Server:
    """One jitsudod with its own directory, config, keys and database."""

    def __init__(self, root, settings=None, policies_dir=TEST_POLICIES):
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.dir / "jitsudod.yaml"
        self.db_path = self.dir / "data" / "jitsudo.db"
        self.log_path = self.dir / "server.log"
        self.proc = None
        self.log_file = None
        self.env = {}  # extra environment of the server process
        self.starts = 0
        self._tokens = {}
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies for loopback
        self._init(settings or {}, policies_dir)

    # ---- setup -----------------------------------------------------------------------

    def _init(self, settings, policies_dir):
        self.run_cli(
            "init",
            "--dir", str(self.dir),
            "--data-dir", str(self.dir / "data"),
            "--http-addr", f"127.0.0.1:{self.port}",
            "--issuer-url", self.url,
            check=True,
        )
        config = yaml.safe_load(self.config_path.read_text()) or {}
        defaults = {
            "server.http_addr": f"127.0.0.1:{self.port}",
            "server.http_threads": 4,
            "database.path": str(self.db_path),
            "keys.seal_key_file": str(self.dir / "seal.key"),
            "identity.admin_groups": ["jitsudo-admins"],
            "identity.builtin_issuer.enabled": True,
            "identity.builtin_issuer.url": self.url,
            "identity.builtin_issuer.audience": "jitsudo",
            "identity.builtin_issuer.key_file": str(self.dir / "issuer.pem"),
            "workflow.min_duration": "1s",
            "workflow.max_duration": "2h",
            "workflow.revoke_retry_initial": "200ms",
            "workflow.revoke_retry_max": "1s",
            "policies.dir": str(policies_dir),
            "providers.mock.enabled": True,
            "providers.mock.fail_grant_roles": ["broken-role", "auto-broken-role"],
            "providers.mock.fail_revocations": 0,
        }
        defaults.update(settings)
        for key, value in defaults.items():
            set_path(config, key, value)
        self.config_path.write_text(yaml.safe_dump(config, default_flow_style=False))
        self.config = config

    def run_cli(self, *args, check=False, timeout=30):
        p = subprocess.run(
            [str(BIN), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"jitsudod {' '.join(args)} exited {p.returncode}\n"
                f"stdout: {p.stdout}\nstderr: {p.stderr}"
            )
        return p

    # ---- process ---------------------------------------------------------------------

    def start(self, timeout=START_TIMEOUT):
        """Starts the server and returns the monotonic time at which /healthz answered."""
        assert self.proc is None, "already running"
        self.log_file = open(self.log_path, "a")
        self.log_file.write(f"---- start {self.starts + 1}\n")
        self.log_file.flush()
        self.proc = subprocess.Popen(
            [str(BIN), "--config", str(self.config_path)],
            stdout=self.log_file,
            stderr=self.log_file,
            cwd=REPO,
            env={**os.environ, **self.env},
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.proc = None
                raise AssertionError(f"jitsudod exited with {code} at start:\n{self.log()}")
            try:
                r = self.session.get(self.url + "/healthz", timeout=0.5)
                if r.status_code == 200:
                    return time.monotonic()
            except requests.RequestException:
                pass
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"jitsudod did not answer /healthz within {timeout}s:\n{self.log()}")

    def stop(self):
        """SIGTERM, then SIGKILL after 5 s. Returns the exit code (None if not running)."""
        if self.proc is None:
            return None
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                code = "killed after SIGTERM timed out"
        else:
            code = self.proc.returncode
        self.proc = None
        self.log_file.close()
        return code

    def kill9(self):
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self.log_file.close()

    def log(self):
        try:
            return self.log_path.read_text()
        except OSError:
            return "(no log)"

    # ---- identity --------------------------------------------------------------------

    def token(self, who, ttl="1h"):
        email, groups = who
        key = (email, tuple(groups), ttl)
        if key not in self._tokens:
            args = ["token", "--config", str(self.config_path), "--user", email, "--ttl", ttl]
            if groups:
                args += ["--groups", ",".join(groups)]
            p = self.run_cli(*args, check=True)
            self._tokens[key] = p.stdout.strip()
        return self._tokens[key]

    def issuer_key(self):
        pem = (self.dir / "issuer.pem").read_bytes()
        return serialization.load_pem_private_key(pem, password=None)

    def jwks_kid(self):
        r = self.session.get(self.url + "/.well-known/jwks.json", timeout=5)
        assert r.status_code == 200, r.text
        return r.json()["keys"][0]["kid"]

    def forge(self, claims=None, headers=None, key=None, algorithm="ES256", drop=()):
        """An ID token signed with the issuer's key (or `key`), with claims changed."""
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": "jitsudo",
            "sub": "alice@example.com",
            "email": "alice@example.com",
            "groups": ["sre"],
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        body.update(claims or {})
        for name in drop:
            body.pop(name, None)
        head = {"kid": self.jwks_kid()}
        head.update(headers or {})
        return jwt.encode(body, key or self.issuer_key(), algorithm=algorithm, headers=head)

    def forge_raw(self, header, claims, signer):
        """A token assembled by hand: signer(signing_input bytes) -> signature bytes."""
        h = b64url(json.dumps(header, separators=(",", ":")).encode())
        c = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = f"{h}.{c}".encode()
        return f"{h}.{c}.{b64url(signer(signing_input))}"

    # ---- HTTP ------------------------------------------------------------------------

    def call(self, method, path, token=None, json_body=None, data=None, params=None,
             headers=None, timeout=10):
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body)
            h.setdefault("Content-Type", "application/json")
        url = self.url + (path if path.startswith("/") else f"{API}/{path}")
        return self.session.request(method, url, data=data, params=params, headers=h,
                                    timeout=timeout)

    def client(self, who):
        return Client(self, who)

    def audit_verify(self):
        return self.run_cli("audit", "verify", "--config", str(self.config_path))


DEFAULT_SPEC = {
    "provider": "aws",
    "role": "prod-infra-admin",
    "resource_scope": "123456789012",
    "duration_seconds": 3600,
    "reason": "integration test",
}


FAILSYNC = REPO / "build" / "tests" / "failsync.so"


def failsync_env(**settings):
    """The environment of a server under the failsync shim (tests/integration/preload):
    settings such as JITSUDO_TEST_SYNC_DELAY_MS="3" go to the shim."""
    assert FAILSYNC.exists(), f"{FAILSYNC} is missing (make {FAILSYNC.relative_to(REPO)})"
    asan = os.environ.get("ASAN_OPTIONS", "")
    return {
        "LD_PRELOAD": str(FAILSYNC),
        # A sanitized build wants its runtime first among preloaded libraries.
        "ASAN_OPTIONS": (asan + ":" if asan else "") + "verify_asan_link_order=0",
        **settings,
    }


def show(r):
    return f"{r.request.method} {r.request.path_url} -> {r.status_code} {r.text[:600]}"


def expect(r, status, code=None, contains=None):
    """Asserts the status (and, for errors, the JSON code and a text in the message)."""
    assert r.status_code == status, show(r)
    if status == 200:
        return r.json()
    body = r.json()
    assert set(body) >= {"code", "message"}, show(r)
    if code:
        assert body["code"] == code, show(r)
    if contains:
        assert contains.lower() in body["message"].lower(), show(r)
    return body


class Client:
    """One person talking to the API with their token."""

    def __init__(self, server, who):
        self.server = server
        self.who = who
        self.email = who[0]

    @property
    def token(self):
        return self.server.token(self.who)

    def call(self, method, path, **kw):
        return self.server.call(method, path, token=self.token, **kw)

    # requests
    def create(self, **spec):
        body = dict(DEFAULT_SPEC)
        body.update(spec)
        return self.call("POST", "requests", json_body=body)

    def create_ok(self, **spec):
        return expect(self.create(**spec), 200)["request"]

    def get(self, rid):
        return self.call("GET", f"requests/{rid}")

    def state(self, rid):
        return expect(self.get(rid), 200)["request"]["state"]

    def list(self, **params):
        return self.call("GET", "requests", params=params)

    def approve(self, rid, comment=None):
        return self.call("POST", f"requests/{rid}/approve",
                         json_body={} if comment is None else {"comment": comment})

    def deny(self, rid, reason="no"):
        return self.call("POST", f"requests/{rid}/deny", json_body={"reason": reason})

    def revoke(self, rid, reason="done"):
        return self.call("POST", f"requests/{rid}/revoke", json_body={"reason": reason})

    def credentials(self, rid):
        return self.call("GET", f"requests/{rid}/credentials")

    # audit and policies
    def audit(self, **params):
        return self.call("GET", "audit", params=params)

    def audit_all(self, **params):
        """Every event the caller may read, following page tokens."""
        events, token, pages = [], "", 0
        while True:
            p = dict(params)
            p.setdefault("page_size", 1000)
            if token:
                p["page_token"] = token
            body = expect(self.audit(**p), 200)
            events += body["events"]
            token = body["next_page_token"]
            pages += 1
            assert pages < 1000
            if not token:
                return events

    def policies(self):
        return self.call("GET", "policies")

    def apply_policy(self, name, ptype, rego, **extra):
        body = {"name": name, "type": ptype, "rego": rego}
        body.update(extra)
        return self.call("POST", "policies", json_body=body)

    def delete_policy(self, pid):
        return self.call("DELETE", f"policies/{pid}")

    def reload(self):
        return self.call("POST", "admin/reload-policies", json_body={})

    def eval(self, input_obj, ptype=None):
        body = {"input_json": json.dumps(input_obj)}
        if ptype:
            body["type"] = ptype
        return self.call("POST", "policies:eval", json_body=body)


def approved_request(alice, bob, **spec):
    """A request of alice approved by bob (APPROVED, credentials not yet fetched)."""
    req = alice.create_ok(**spec)
    assert req["state"] == "REQUEST_STATE_PENDING", req
    out = expect(bob.approve(req["id"], "ok"), 200)["request"]
    assert out["state"] == "REQUEST_STATE_APPROVED", out
    return out


def active_request(alice, bob, **spec):
    req = approved_request(alice, bob, **spec)
    expect(alice.credentials(req["id"]), 200)
    return expect(alice.get(req["id"]), 200)["request"]


def details(event):
    text = event.get("details_json") or "{}"
    return json.loads(text) if isinstance(text, str) else text


def sqlite(db_path, sql):
    p = subprocess.run(["sqlite3", str(db_path), sql], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, f"sqlite3 {sql!r}: {p.stderr}"
    return p.stdout


def rfc7638_thumbprint(public_key):
    n = public_key.public_numbers()
    jwk = {
        "crv": "P-256",
        "kty": "EC",
        "x": b64url(n.x.to_bytes(32, "big")),
        "y": b64url(n.y.to_bytes(32, "big")),
    }
    return b64url(hashlib.sha256(json.dumps(jwk, separators=(",", ":"),
                                            sort_keys=True).encode()).digest())


def hs256_signer(secret):
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def new_ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
