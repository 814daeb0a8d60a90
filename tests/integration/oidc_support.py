# A real OpenID Connect provider for the login tests: Debian's glewlwyd, run on a free loopback
# port in a temporary directory with its own config and SQLite database, seeded through its
# admin API once per session (OIDC plugin with an RSA key made here, the public device-grant
# client jitsudo-cli, users alice and bob with email and groups claims); later instances load
# a dump of that database with the port rewritten. Also plays the user's side of the device
# flow (password login, consent, the verification URL) the way a browser would.
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import harness

GLEWLWYD = "/usr/bin/glewlwyd"
SCHEMA = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")
SHARE = Path("/usr/share/glewlwyd/webapp")
MODULES = Path("/usr/lib/glewlwyd")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
CLIENT_ID = "jitsudo-cli"
OTHER_CLIENT_ID = "other-app"  # another public client: its tokens are not for jitsudo

# The people of the login tests: username, password, email, groups. The policies written by
# write_policies make sre eligible and sre-leads approvers.
ALICE = ("alice", "alice-pw-1", "alice@example.test", ["sre"])
BOB = ("bob", "bob-pw-2", "bob@example.test", ["sre-leads"])
USERS = (ALICE, BOB)

ELIGIBILITY_REGO = """package jitsudo.eligibility

import rego.v1

default allow := false

allow if "sre" in input.user.groups

reason := "only sre may request (login test policy)" if not allow
"""

APPROVAL_REGO = """package jitsudo.approval

import rego.v1

default allow := false

allow if "sre-leads" in input.user.groups

reason := "only sre-leads may approve (login test policy)" if not allow
"""


def write_policies(directory):
    """Writes the login tests' policies into directory and returns it."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "eligibility.rego").write_text(ELIGIBILITY_REGO)
    (d / "approval.rego").write_text(APPROVAL_REGO)
    return d


CONFIG = """port={port}
bind_address="127.0.0.1"
external_url="{url}"
login_url="login.html"
api_prefix="api"
static_files_path="{share}/"
log_mode="file"
log_file="{log}"
log_level="DEBUG"
cookie_secure=0
session_key="GLEWLWYD2_SESSION_ID"
session_expiration=3600
admin_session_authentication="cookie"
profile_session_authentication="cookie"
login_api_enabled=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="{modules}/user"
user_middleware_module_path="{modules}/user_middleware"
client_module_path="{modules}/client"
user_auth_scheme_module_path="{modules}/scheme"
plugin_module_path="{modules}/plugin"
hash_algorithm="SHA512"
database={{ type="sqlite3"; path="{db}"; }};
static_files_mime_types=( {{ extension=".html"; mime_type="text/html"; compress=1; }} );
"""


class Glewlwyd:
    """One glewlwyd process with its own directory, config and database."""

    def __init__(self, root, tls=None):
        """tls: (key file, certificate file, CA file) to serve https instead of http."""
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = harness.free_port()
        self.tls = tls
        self.ca_file = tls[2] if tls else None
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.issuer = self.url + "/api/oidc"
        self.db_path = self.dir / "glewlwyd.db"
        self.log_path = self.dir / "glewlwyd.log"
        self.out_path = self.dir / "glewlwyd.out"
        self.config_path = self.dir / "glewlwyd.conf"
        self.proc = None
        self.out_file = None
        config = CONFIG.format(port=self.port, url=self.url, share=SHARE, modules=MODULES,
                               log=self.log_path, db=self.db_path)
        if tls:
            config += (f'use_secure_connection=true\nsecure_connection_key_file="{tls[0]}"\n'
                       f'secure_connection_pem_file="{tls[1]}"\n')
        self.config_path.write_text(config)

    def session(self):
        s = session()
        if self.ca_file:
            s.verify = str(self.ca_file)
        return s

    # ---- database --------------------------------------------------------------------

    def create_db(self):
        """An empty database from the package's schema (admin / password)."""
        self.sqlite_script(SCHEMA.read_text())

    def load_dump(self, dump, old_url):
        """A database from another instance's dump, its URLs moved to this instance's port."""
        self.sqlite_script(dump.replace(old_url, self.url))

    def dump(self):
        p = subprocess.run(["sqlite3", str(self.db_path), ".dump"], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, f"sqlite3 .dump: {p.stderr}"
        return p.stdout

    def sqlite_script(self, script):
        p = subprocess.run(["sqlite3", str(self.db_path)], input=script, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, f"sqlite3 {self.db_path}: {p.stderr}"

    def sql(self, statement):
        return harness.sqlite(self.db_path, statement)

    # ---- process ---------------------------------------------------------------------

    def start(self, timeout=START_TIMEOUT):
        """Starts glewlwyd; returns once its discovery document answers (bounded)."""
        assert self.proc is None, "already running"
        self.out_file = open(self.out_path, "a")
        self.proc = subprocess.Popen(
            [GLEWLWYD, f"--config-file={self.config_path}"],
            stdout=self.out_file, stderr=self.out_file, stdin=subprocess.DEVNULL,
            cwd=self.dir)
        s = self.session()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._closed()
                raise AssertionError(f"glewlwyd exited with {code} at start:\n{self.log()}")
            try:
                r = s.get(self.url + "/config", timeout=0.5)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        self.stop()
        raise AssertionError(f"glewlwyd did not answer within {timeout}s:\n{self.log()}")

    def wait_discovery(self, timeout=START_TIMEOUT):
        s = self.session()
        harness.wait_for(
            lambda: _status(s, self.issuer + "/.well-known/openid-configuration") == 200,
            timeout, what="glewlwyd's discovery document")

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self._closed()
        return code

    def _closed(self):
        self.proc = None
        if self.out_file:
            self.out_file.close()
            self.out_file = None

    def log(self):
        parts = [f"glewlwyd at {self.url} ({self.dir})"]
        for p in (self.out_path, self.log_path):
            try:
                parts.append(p.read_text(errors="replace")[-6000:])
            except OSError:
                pass
        return "\n".join(parts)

    # ---- admin API -------------------------------------------------------------------

    def admin(self):
        s = self.session()
        r = s.post(self.url + "/api/auth/", json={"username": "admin", "password": "password"},
                   timeout=10)
        assert r.status_code == 200, f"admin login: {r.status_code} {r.text}"
        return s

    def seed(self, interval=1, token_duration=3600):
        """Configures the OIDC plugin, scopes, the jitsudo-cli client and the users."""
        s = self.admin()

        def call(method, path, body):
            r = s.request(method, self.url + "/api/" + path, json=body, timeout=10)
            assert r.status_code == 200, f"{method} /api/{path}: {r.status_code} {r.text}"
            return r

        # A multi-valued `groups` property on the database user backend, readable by plugins.
        mod = s.get(self.url + "/api/mod/user/database", timeout=10).json()
        mod["parameters"]["data-format"]["groups"] = {
            "multiple": True, "read": True, "write": True, "profile-read": True,
            "profile-write": False}
        call("PUT", "mod/user/database", mod)
        call("PUT", "mod/user/database/reset", None)

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        call("POST", "mod/plugin/", {
            "module": "oidc", "name": "oidc", "display_name": "OIDC", "enabled": True,
            "parameters": {
                "iss": self.issuer, "jwt-type": "rsa", "jwt-key-size": "256",
                "key": private_pem, "cert": public_pem,
                "access-token-duration": token_duration,
                "refresh-token-duration": 1209600, "code-duration": 600,
                "refresh-token-rolling": True, "allow-non-oidc": False,
                "auth-type-code-enabled": True, "auth-type-token-enabled": False,
                "auth-type-id-token-enabled": True, "auth-type-none-enabled": False,
                "auth-type-password-enabled": False, "auth-type-client-enabled": False,
                "auth-type-device-enabled": True, "auth-type-refresh-enabled": True,
                "scope": [], "additional-parameters": [], "jwks-show": True,
                "allowed-scope": ["openid"], "subject-type": "public",
                "name-claim": "on-demand", "email-claim": "mandatory", "scope-claim": "no",
                "address-claim": {"type": "no", "mandatory": False},
                "claims": [
                    {"name": "preferred_username", "user-property": "username",
                     "type": "string", "mandatory": True, "on-demand": False, "scope": []},
                    {"name": "groups", "user-property": "groups", "type": "string",
                     "mandatory": True, "on-demand": False, "scope": []},
                ],
                "device-authorization-expiration": 600,
                "device-authorization-interval": interval,
            }})
        call("PUT", "scope/openid", {
            "name": "openid", "display_name": "Open ID", "description": "OIDC",
            "password_required": True, "password_max_age": 0})
        call("POST", "client/", {
            "client_id": CLIENT_ID, "name": "jitsudo CLI", "confidential": False,
            "enabled": True, "authorization_type": ["device_authorization", "refresh_token"],
            "scope": [], "redirect_uri": []})
        call("POST", "client/", {
            "client_id": OTHER_CLIENT_ID, "name": "another application",
            "confidential": False, "enabled": True,
            "authorization_type": ["device_authorization", "refresh_token"],
            "scope": [], "redirect_uri": []})
        for username, password, email, groups in USERS:
            call("POST", "user/", {
                "username": username, "name": username.title(), "email": email,
                "password": password, "enabled": True, "scope": ["openid"],
                "groups": groups})
        return private_pem

    def set_plugin(self, **params):
        """Changes OIDC plugin parameters (names with - written as _) through the admin API."""
        s = self.admin()
        mod = s.get(self.url + "/api/mod/plugin/oidc", timeout=10).json()
        for k, v in params.items():
            mod["parameters"][k.replace("_", "-")] = v
        r = s.put(self.url + "/api/mod/plugin/oidc", json=mod, timeout=10)
        assert r.status_code == 200, f"PUT plugin: {r.status_code} {r.text}"
        r = s.put(self.url + "/api/mod/plugin/oidc/reset", timeout=10)
        assert r.status_code == 200, f"reset plugin: {r.status_code} {r.text}"

    # ---- the OIDC side ---------------------------------------------------------------

    def discovery(self):
        r = self.session().get(self.issuer + "/.well-known/openid-configuration", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def start_device(self, client_id=CLIENT_ID, scope="openid"):
        r = self.session().post(self.issuer + "/device_authorization",
                           data={"client_id": client_id, "scope": scope}, timeout=10)
        assert r.status_code == 200, f"device_authorization: {r.status_code} {r.text}"
        return r.json()

    def poll(self, device_code, client_id=CLIENT_ID):
        return self.session().post(self.issuer + "/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": device_code, "client_id": client_id}, timeout=10)

    def approve_device(self, user, user_code, scope="openid", client_id=CLIENT_ID):
        """The user's side: password login, consent for jitsudo-cli, then the verification
        URL with the code. Returns the final redirect's Location."""
        username, password = user[0], user[1]
        s = self.session()
        r = s.post(self.url + "/api/auth/", json={"username": username, "password": password},
                   timeout=10)
        assert r.status_code == 200, f"login {username}: {r.status_code} {r.text}"
        r = s.put(self.url + f"/api/auth/grant/{client_id}", json={"scope": scope}, timeout=10)
        assert r.status_code == 200, f"grant {username}: {r.status_code} {r.text}"
        r = s.get(self.issuer + "/device", params={"g_continue": "", "code": user_code},
                  allow_redirects=False, timeout=10)
        location = r.headers.get("Location", "")
        assert r.status_code == 302 and "prompt=deviceComplete" in location, \
            f"device verification: {r.status_code} {location} {r.text[:300]}"
        return location

    def disable_device(self):
        """The provider withdraws every pending device authorization (status 3, `disabled` in
        glewlwyd's schema); their next poll is answered access_denied."""
        self.sql("UPDATE gpo_device_authorization SET gpoda_status=3 WHERE gpoda_status=0;")

    def device_token(self, user, scope="openid", client_id=CLIENT_ID):
        """A whole device grant for user, done over HTTP: returns the token response."""
        d = self.start_device(scope=scope, client_id=client_id)
        self.approve_device(user, d["user_code"], scope=scope, client_id=client_id)
        deadline = time.monotonic() + 15
        while True:
            r = self.poll(d["device_code"], client_id=client_id)
            if r.status_code == 200:
                return r.json()
            body = r.json()
            assert body.get("error") in ("authorization_pending", "slow_down"), r.text
            assert time.monotonic() < deadline, "device grant did not complete"
            time.sleep(d.get("interval", 1))


def session():
    s = requests.Session()
    s.trust_env = False
    return s


def _status(s, url):
    try:
        return s.get(url, timeout=0.5).status_code
    except requests.RequestException:
        return None


_template = {}  # the seeded dump, made once per process: dump, url, key


def _seeded_template(root):
    if not _template:
        g = Glewlwyd(Path(root) / "template")
        t0 = time.monotonic()
        g.create_db()
        g.start()
        t1 = time.monotonic()
        try:
            key = g.seed()
            g.wait_discovery()
        except BaseException:
            print(g.log())
            raise
        finally:
            g.stop()
        _template.update(dump=g.dump(), url=g.url, key=key, start_s=t1 - t0,
                         seed_s=time.monotonic() - t1)
    return _template


class Provider:
    """Makes glewlwyd instances for the tests: the first one of the process is seeded through
    the admin API and dumped; every instance starts from that dump (same RSA key, its own
    port, hence its own issuer URL)."""

    def __init__(self, root):
        self.root = Path(root)
        self.made = []
        self.times = {}

    @property
    def key(self):
        """The RSA private key every instance signs with (to re-sign hostile variants)."""
        return serialization.load_pem_private_key(_seeded_template(self.root)["key"].encode(),
                                                  password=None)

    def new(self, name=None, start=True, tls=None, **plugin):
        """A running glewlwyd from the seeded dump; plugin parameters changed if given
        (names with _ for -, e.g. access_token_duration=5); https with tls (see Glewlwyd)."""
        t = _seeded_template(self.root)
        self.times.update(template_start_s=t["start_s"], template_seed_s=t["seed_s"])
        g = Glewlwyd(self.root / (name or f"g{len(self.made)}"), tls=tls)
        self.made.append(g)
        g.load_dump(t["dump"], t["url"])
        if start:
            t0 = time.monotonic()
            g.start()
            g.wait_discovery()
            self.times.setdefault("start_s", time.monotonic() - t0)
            if plugin:
                g.set_plugin(**plugin)
        return g

    def close(self):
        for g in self.made:
            g.stop()


def jitsudod_settings(g, audience=CLIENT_ID, **extra):
    """The identity.oidc settings that make jitsudod trust glewlwyd g."""
    entry = {"issuer": g.issuer, "audience": audience}
    if g.ca_file:
        entry["ca_file"] = str(g.ca_file)
    entry.update(extra)
    return {"identity.oidc": [entry], "identity.jwks_fetch_timeout": "2s"}


def serve_jitsudod(g, root):
    """Runs a jitsudod trusting glewlwyd g only (the built-in issuer off) for as long as the
    generator lives; its log joins failure reports. For fixtures: `yield from`."""
    settings = jitsudod_settings(g)
    settings["identity.builtin_issuer.enabled"] = False
    s = harness.Server(root / "srv", settings, policies_dir=write_policies(root / "policies"))
    s.start()
    _report(s)
    yield s
    _unreport(s)
    assert s.stop() in (0, None)


def _report(g):
    """Joins g's log to the failure report of conftest (which reads .dir and .log())."""
    import conftest
    conftest._live.append(g)
    return g


def _unreport(g):
    import conftest
    if g in conftest._live:
        conftest._live.remove(g)


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    p = Provider(tmp_path_factory.mktemp("glewlwyd"))
    yield p
    p.close()


@pytest.fixture(scope="module")
def glewlwyd(provider):
    """A running glewlwyd for the module, its log in failure reports."""
    g = _report(provider.new())
    yield g
    _unreport(g)
    g.stop()


@pytest.fixture
def make_glewlwyd(provider):
    """make_glewlwyd(**plugin_params) -> a glewlwyd of this test only."""
    made = []

    def make(tls=None, **plugin):
        g = _report(provider.new(tls=tls, **plugin))
        made.append(g)
        return g

    yield make
    for g in made:
        _unreport(g)
        g.stop()


def make_tls(directory):
    """A CA and a certificate for 127.0.0.1 signed by it: (key, certificate, CA) paths."""
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "login test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (d / "glewlwyd.key", d / "glewlwyd.pem", d / "ca.pem")
    paths[0].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return paths
