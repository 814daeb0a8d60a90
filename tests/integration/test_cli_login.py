# `jitsudo login` end to end against a real OpenID Connect provider (glewlwyd, started by the
# test) and a jitsudod that trusts only glewlwyd: the device code read from the command's
# output and approved as the user through glewlwyd, the credentials file (0600 in a 0700
# directory), a request -> approve -> exec cycle on glewlwyd tokens alone, what happens when
# the ID token expires, a denied grant (exit 1), glewlwyd down or silent (75) and logout.
import base64
import json
import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

import harness
import oidc_support
from oidc_support import ALICE, BOB, glewlwyd, make_glewlwyd, provider  # noqa: F401 (fixtures)

# The CLI next to the jitsudod under test (build-asan/bin/jitsudo in `make asan`), unless
# JITSUDO_CLI_BIN names another.
JITSUDO = Path(os.environ.get("JITSUDO_CLI_BIN")
               or harness.BIN.parent / "bin" / "jitsudo").resolve()
SPEC = ["--provider", "aws", "--role", "prod-infra-admin", "--scope", "123456789012",
        "--duration", "10m", "--reason", "glewlwyd login test"]
PROMPT = re.compile(r"^To sign in, open (\S+) and enter the code (\S+)$")
LOGIN_BOUND = 20  # seconds a whole login may take here (glewlwyd's interval is 1 s)


def need_binary():
    if not os.access(JITSUDO, os.X_OK):
        pytest.fail(f"{JITSUDO} is not built (make build/bin/jitsudo)", pytrace=False)


def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Home:
    """One person's HOME for jitsudo: no token in the environment, only what login stores."""

    def __init__(self, root, server=None):
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.server = server
        self.creds = self.dir / ".jitsudo" / "credentials"

    def env(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir),
                "LANG": "C.UTF-8", "NO_PROXY": "*"}

    def run(self, *args, timeout=30):
        return subprocess.run([str(JITSUDO), *args], capture_output=True, text=True,
                              timeout=timeout, env=self.env(), cwd=str(self.dir))

    def ok(self, *args, **kw):
        p = self.run(*args, **kw)
        assert p.returncode == 0, f"jitsudo {' '.join(args)} -> {p.returncode}\n{p.stderr}"
        return p.stdout

    def start_login(self, g, *extra):
        args = [str(JITSUDO), "login", "--issuer", g.issuer, "--client-id",
                oidc_support.CLIENT_ID, *extra]
        if self.server is not None:
            args[2:2] = ["--server", self.server.url]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                bufsize=0, env=self.env(), cwd=str(self.dir))
        proc.seen = b""  # stdout read so far by read_prompt
        return proc

    def stored(self):
        return json.loads(self.creds.read_text())


def read_prompt(proc, timeout=10):
    """The verification URI and user code from login's first line (bounded wait)."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline and b"\n" not in proc.seen:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            proc.seen += chunk
    if b"\n" in proc.seen:
        line = proc.seen.split(b"\n", 1)[0].decode()
        m = PROMPT.match(line)
        assert m, f"unexpected first line: {line!r}"
        return m.group(1), m.group(2)
    proc.kill()
    out, err = finish(proc)[1:]
    raise AssertionError(f"no sign-in prompt from jitsudo login: rc={proc.returncode}\n"
                         f"stdout: {out}\nstderr: {err}")


def finish(proc, timeout=LOGIN_BOUND):
    """Waits (bounded) for login to end: exit code, all its stdout, its stderr."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"jitsudo login still running after {timeout}s\n{out}\n{err}")
    return proc.returncode, (proc.seen + out).decode(), err.decode()


def login(home, g, user, *extra):
    """A whole `jitsudo login`, approved as `user` through glewlwyd. Returns stdout."""
    t0 = time.monotonic()
    proc = home.start_login(g, *extra)
    uri, code = read_prompt(proc)
    assert uri == g.issuer + "/device"
    g.approve_device(user, code)
    rc, out, err = finish(proc)
    assert rc == 0, f"login exited {rc}\nstdout: {out}\nstderr: {err}"
    home.login_seconds = time.monotonic() - t0
    return out


@pytest.fixture(scope="module")
def jitsudod(glewlwyd, tmp_path_factory):  # noqa: F811
    """A jitsudod trusting glewlwyd only (the built-in issuer off)."""
    need_binary()
    yield from oidc_support.serve_jitsudod(glewlwyd, tmp_path_factory.mktemp("jitsudod-login"))


@pytest.fixture
def home(tmp_path, jitsudod):
    return Home(tmp_path / "alice", jitsudod)


def test_login_stores_credentials(home, glewlwyd):  # noqa: F811
    out = login(home, glewlwyd, ALICE)
    lines = out.splitlines()
    assert PROMPT.match(lines[0]), out
    assert lines[1].startswith(f"Or open {glewlwyd.issuer}/device?code="), out
    assert lines[-1] == "Logged in as alice@example.test", out
    assert home.login_seconds < LOGIN_BOUND

    assert (home.dir / ".jitsudo").stat().st_mode & 0o777 == 0o700
    assert home.creds.stat().st_mode & 0o777 == 0o600
    stored = home.stored()
    assert stored["server"] == home.server.url
    assert stored["issuer"] == glewlwyd.issuer
    assert stored["client_id"] == oidc_support.CLIENT_ID
    assert stored["token_endpoint"] == glewlwyd.discovery()["token_endpoint"]
    claims = claims_of(stored["id_token"])
    assert claims["email"] == "alice@example.test" and claims["groups"] == ["sre"]
    assert stored["expires_at"] == claims["exp"]
    assert stored["refresh_token"]
    # no token on the terminal
    assert stored["id_token"] not in out and stored["refresh_token"] not in out


def test_request_approve_exec_with_glewlwyd_tokens(tmp_path, jitsudod, glewlwyd):  # noqa: F811
    alice = Home(tmp_path / "alice", jitsudod)
    bob = Home(tmp_path / "bob", jitsudod)
    login(alice, glewlwyd, ALICE)
    login(bob, glewlwyd, BOB)
    assert claims_of(bob.stored()["id_token"])["groups"] == ["sre-leads"]

    # no --server, no --token: both come from what login stored
    rid = alice.ok("-q", "request", *SPEC).strip()
    assert re.fullmatch(r"req_[0-9A-Z]{26}", rid), rid
    req = json.loads(alice.ok("-o", "json", "status", rid))
    req = req.get("request", req)
    assert req["requester_identity"] == "alice@example.test"

    # alice (sre) cannot approve; bob (sre-leads) can
    assert alice.run("approve", rid).returncode == 1
    out = bob.ok("approve", rid, "--comment", "ok")
    assert out.strip() == f"Request {rid} → APPROVED", out

    p = alice.run("exec", rid, "--", "env")
    assert p.returncode == 0, p.stderr
    env = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    assert env.get("AWS_ACCESS_KEY_ID"), p.stdout
    # the grant is alice's: bob cannot use it
    assert bob.run("exec", rid, "--", "true").returncode == 1


def test_expired_id_token_and_refresh(tmp_path, make_glewlwyd, make_server):  # noqa: F811
    """glewlwyd lets the ID token live as long as its access tokens (here 5 s) and answers
    the refresh grant with an access token only (OpenID Connect Core §12.2 permits that): so
    once the ID token is within 30 s of its end, jitsudo asks glewlwyd, gets no new ID token,
    and says to log in again, leaving the file as it was; a new login works."""
    g = make_glewlwyd(access_token_duration=5)
    s = make_server(oidc_support.jitsudod_settings(g),
                    policies_dir=oidc_support.write_policies(tmp_path / "policies"))
    home = Home(tmp_path / "alice", s)
    login(home, g, ALICE)
    before = home.stored()
    assert before["expires_at"] - time.time() <= 6

    refreshes = g.log().count("Access token generated for client 'jitsudo-cli'")
    p = home.run("status")
    assert p.returncode == 1, p.stderr
    assert "run `jitsudo login`" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    # the refresh grant did reach glewlwyd (one more access token issued for jitsudo-cli)
    harness.wait_for(
        lambda: g.log().count("Access token generated for client 'jitsudo-cli'") > refreshes,
        5, what="glewlwyd to log the refresh")
    assert home.stored() == before
    assert home.creds.stat().st_mode & 0o777 == 0o600

    g.set_plugin(access_token_duration=3600)
    login(home, g, ALICE)
    assert home.stored()["expires_at"] - time.time() > 3000
    home.ok("status")


def test_denied_device_grant(home, glewlwyd):  # noqa: F811
    proc = home.start_login(glewlwyd)
    read_prompt(proc)
    glewlwyd.disable_device()  # glewlwyd now answers the device code with access_denied
    t0 = time.monotonic()
    rc, out, err = finish(proc)
    assert rc == 1, f"{rc}\n{out}\n{err}"
    assert time.monotonic() - t0 < 5
    assert err.strip() == "jitsudo: sign-in refused: the issuer denied the request", err
    assert "Logged in" not in out
    assert not home.creds.exists()


def test_max_wait(home, glewlwyd):  # noqa: F811
    proc = home.start_login(glewlwyd, "--max-wait", "2s")
    read_prompt(proc)
    t0 = time.monotonic()
    rc, out, err = finish(proc)
    assert rc == 75, f"{rc}\n{err}"
    assert time.monotonic() - t0 < 4
    assert "gave up waiting" in err, err
    assert not home.creds.exists()


def test_code_expires(home, make_glewlwyd):  # noqa: F811
    g = make_glewlwyd(device_authorization_expiration=2)
    proc = home.start_login(g)
    read_prompt(proc)
    rc, out, err = finish(proc, timeout=10)
    assert rc == 75, f"{rc}\n{err}"
    assert "expired" in err, err
    assert not home.creds.exists()


def test_glewlwyd_down(home, make_glewlwyd):  # noqa: F811
    g = make_glewlwyd()
    g.stop()
    t0 = time.monotonic()
    p = home.run("login", "--issuer", g.issuer, "--client-id", oidc_support.CLIENT_ID)
    assert p.returncode == 75, p.stderr
    assert time.monotonic() - t0 < 5
    assert p.stderr.strip() == (f"jitsudo: the issuer at {g.issuer}"
                                "/.well-known/openid-configuration refused the connection"
                                ), p.stderr
    assert p.stdout == ""
    assert not home.creds.exists()


def test_glewlwyd_silent(home, make_glewlwyd):  # noqa: F811
    """A provider that accepts connections and never answers: 75 within --timeout."""
    g = make_glewlwyd()
    g.proc.send_signal(signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        p = home.run("--timeout", "1s", "login", "--issuer", g.issuer, "--client-id",
                     oidc_support.CLIENT_ID, timeout=15)
        took = time.monotonic() - t0
    finally:
        g.proc.send_signal(signal.SIGCONT)
    assert p.returncode == 75, p.stderr
    assert took < 3, took
    assert p.stderr.strip() == (f"jitsudo: the issuer at {g.issuer}"
                                "/.well-known/openid-configuration did not answer within 1000 ms"
                                ), p.stderr


def test_refresh_with_glewlwyd_down(tmp_path, make_glewlwyd, make_server):  # noqa: F811
    """The ID token needs renewing and glewlwyd is away: 75, the file untouched."""
    g = make_glewlwyd(access_token_duration=5)
    s = make_server(oidc_support.jitsudod_settings(g),
                    policies_dir=oidc_support.write_policies(tmp_path / "policies"))
    home = Home(tmp_path / "alice", s)
    login(home, g, ALICE)
    before = home.stored()
    g.stop()
    t0 = time.monotonic()
    p = home.run("status")
    assert p.returncode == 75, p.stderr
    assert time.monotonic() - t0 < 5
    assert p.stderr == ("jitsudo: cannot reach the identity provider to refresh the stored "
                        "token (--debug shows why)\n"), p.stderr
    p = home.run("--debug", "status")
    assert p.returncode == 75
    assert "refused the connection" in p.stderr, p.stderr
    assert home.stored() == before


def test_refuses_credentials_open_to_others(home, glewlwyd):  # noqa: F811
    login(home, glewlwyd, ALICE)
    home.ok("status")
    home.creds.chmod(0o644)
    p = home.run("status")
    assert p.returncode == 2 and "readable by others" in p.stderr, p
    p = home.run("--debug", "status")
    assert p.returncode == 2 and "accessible by group or others (mode 644)" in p.stderr, p
    home.creds.chmod(0o600)
    home.ok("status")


def test_logout(home, glewlwyd):  # noqa: F811
    login(home, glewlwyd, ALICE)
    home.ok("status")
    home.ok("logout")
    assert not home.creds.exists()
    p = home.run("--server", home.server.url, "status")
    assert p.returncode == 1
    assert "run `jitsudo login`" in p.stderr, p.stderr
    home.ok("logout")  # nothing to remove: still fine


def test_https_issuer_with_ca_file(tmp_path, make_glewlwyd, make_server):  # noqa: F811
    """glewlwyd over https with a private CA: refused without --ca-file (exit 1 with what to
    do, nothing stored), signed in with it; the CA file is stored and used again for the refresh, and
    jitsudod fetches the JWKS with the ca_file of its oidc entry."""
    tls = oidc_support.make_tls(tmp_path / "tls")
    g = make_glewlwyd(tls=tls)
    assert g.issuer.startswith("https://")
    s = make_server(oidc_support.jitsudod_settings(g),
                    policies_dir=oidc_support.write_policies(tmp_path / "policies"))
    home = Home(tmp_path / "alice", s)

    p = home.run("--timeout", "5s", "login", "--issuer", g.issuer, "--client-id",
                 oidc_support.CLIENT_ID)
    assert p.returncode == 1, p.stderr
    assert "TLS certificate" in p.stderr and "--ca-file" in p.stderr, p.stderr
    assert not home.creds.exists()

    login(home, g, ALICE, "--ca-file", str(tls[2]))
    assert home.stored()["ca_file"] == str(tls[2])
    assert home.stored()["token_endpoint"].startswith("https://")
    home.ok("status")

    # the refresh goes over https with the stored CA file (glewlwyd answers it, with no new
    # ID token: log in again), not a TLS failure (whose message names the certificate)
    g.set_plugin(access_token_duration=5)
    login(home, g, ALICE, "--ca-file", str(tls[2]))
    issued = g.log().count("Access token generated for client 'jitsudo-cli'")
    p = home.run("status")
    assert p.returncode == 1, p.stderr
    assert "run `jitsudo login`" in p.stderr
    assert "TLS certificate" not in p.stderr, p.stderr
    harness.wait_for(
        lambda: g.log().count("Access token generated for client 'jitsudo-cli'") > issued,
        5, what="glewlwyd to log the refresh")


def test_unknown_client_refused(home, glewlwyd):  # noqa: F811
    p = home.run("login", "--issuer", glewlwyd.issuer, "--client-id", "not-registered")
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith("jitsudo: the issuer refused the device authorization"), p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
    assert p.stdout == ""
    assert not home.creds.exists()


def test_wrong_issuer_url(home, glewlwyd):  # noqa: F811
    """An --issuer whose discovery document names another issuer is a usage error (2)."""
    p = home.run("login", "--issuer", glewlwyd.issuer + "/", "--client-id",
                 oidc_support.CLIENT_ID)
    assert p.returncode == 2, p.stderr
    assert "names another issuer" in p.stderr, p.stderr
    assert not home.creds.exists()
