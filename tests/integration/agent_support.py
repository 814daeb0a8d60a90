# Helpers of the agent tests: a jitsudod that knows the test host, a jitsudo-agent started with
# --listen-pam/--listen-user on sockets in a temporary directory, and a small client of the
# agent protocol (docs/agent-protocol.md) written from the documented wire format.
import os
import socket
import struct
import subprocess
import time
from pathlib import Path

import harness

AGENT_BIN = Path(os.environ.get("JITSUDO_AGENT_BIN") or
                 harness.REPO / "build" / "bin" / "jitsudo-agent").resolve()

# Message types and tags (agentproto.h).
HELLO, ERROR, OK = 1, 2, 3
GRANT_ENSURE, GRANT_WAIT, SESSION_OPEN, SESSION_CLOSE = 16, 17, 18, 19
MY_GRANTS, MY_CREDENTIALS, DROP_GRANT = 32, 33, 34
GRANT_STATE, SESSION_ENV, GRANT_LIST, CREDENTIALS = 64, 65, 66, 67
T_VMIN, T_VMAX, T_VERSION, T_CODE, T_MESSAGE = 1, 2, 3, 4, 5
T_USER, T_PROVIDER, T_ROLE, T_SCOPE, T_DURATION, T_REASON = 16, 17, 18, 19, 20, 21
T_BREAK_GLASS, T_LOOKUP, T_REQUEST_ID, T_STATE, T_EXPIRES = 22, 23, 24, 25, 26
T_TIMEOUT, T_SESSION, T_ENV, T_DIR, T_GRANT = 27, 28, 29, 30, 31
E_BAD, E_FORBIDDEN, E_NOT_FOUND, E_DENIED, E_UNREACHABLE = 1, 2, 3, 4, 5

U16 = {T_VMIN, T_VMAX, T_VERSION, T_CODE}
U32 = {T_DURATION, T_TIMEOUT}
U8 = {T_BREAK_GLASS, T_LOOKUP}


def field(tag, value):
    if tag in U16:
        raw = struct.pack(">H", value)
    elif tag in U32:
        raw = struct.pack(">I", value)
    elif tag in U8:
        raw = bytes([value])
    elif isinstance(value, bytes):
        raw = value
    else:
        raw = value.encode()
    return struct.pack(">HH", tag, len(raw)) + raw


def frame(mtype, rid, fields=()):
    body = bytes([mtype]) + struct.pack(">I", rid) + b"".join(field(t, v) for t, v in fields)
    return struct.pack(">I", len(body)) + body


def parse(body):
    mtype, rid = body[0], struct.unpack(">I", body[1:5])[0]
    out, off = [], 5
    while off < len(body):
        tag, n = struct.unpack(">HH", body[off:off + 4])
        raw = body[off + 4:off + 4 + n]
        off += 4 + n
        if tag in U16:
            out.append((tag, struct.unpack(">H", raw)[0]))
        elif tag == T_EXPIRES:
            out.append((tag, struct.unpack(">q", raw)[0]))
        elif tag == T_GRANT:
            out.append((tag, dict(parse(b"\0\0\0\0\0" + raw)[2])))
        else:
            out.append((tag, raw.decode()))
    return mtype, rid, out


class Reply:
    def __init__(self, mtype, rid, fields):
        self.type, self.id, self.fields = mtype, rid, fields

    def get(self, tag, default=None):
        for t, v in self.fields:
            if t == tag:
                return v
        return default

    def all(self, tag):
        return [v for t, v in self.fields if t == tag]

    def env(self):
        return dict(e.split("=", 1) for e in self.all(T_ENV))

    def __repr__(self):
        return f"Reply(type={self.type}, id={self.id}, fields={self.fields})"


class AgentClient:
    def __init__(self, path, timeout=10, hello=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.next_id = 1
        if hello:
            r = self.call(HELLO, [(T_VMIN, 1), (T_VMAX, 1)], rid=0)
            assert r.type == HELLO and r.get(T_VERSION) == 1, r

    def send_raw(self, data):
        self.sock.sendall(data)

    def recv(self):
        head = self._exact(4)
        if head is None:
            return None
        n = struct.unpack(">I", head)[0]
        body = self._exact(n)
        return Reply(*parse(body)) if body is not None else None

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
            except ConnectionResetError:  # closed with our unread bytes pending
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def call(self, mtype, fields=(), rid=None):
        if rid is None:
            rid = self.next_id
            self.next_id += 1
        self.sock.sendall(frame(mtype, rid, fields))
        r = self.recv()
        assert r is not None, "the agent closed the connection"
        assert r.id == rid, r
        return r

    def close(self):
        self.sock.close()


class Agent:
    """A jitsudo-agent of a test, configured for `server` and listening in `root`."""

    def __init__(self, root, server_url=None, host="jump1", settings=None):
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.server_url = server_url
        self.key = self.dir / "host.key"
        p = subprocess.run([str(AGENT_BIN), "keygen", "--out", str(self.key)],
                           capture_output=True, text=True, timeout=10, check=True)
        self.public_pem = p.stdout
        (self.dir / "host.pub").write_text(p.stdout)
        self.pam_sock = self.dir / "agent.sock"
        self.user_sock = self.dir / "user.sock"
        self.runtime = self.dir / "run"
        self.state = self.dir / "state"
        self.config_path = self.dir / "agent.yaml"
        self.log_path = self.dir / "agent.log"
        self.host = host
        self.proc = None
        self.settings = settings or {}

    def write_config(self):
        s = {
            "server.url": self.server_url, "server.timeout": "2s",
            "host.name": self.host, "host.key_file": str(self.key),
            "identity.template": "{user}@example.com", "identity.groups": ["sre", "dev"],
            "requests.scope": "123456789012", "requests.duration": "1h",
            "deadlines.poll_interval": "200ms", "deadlines.request": "5s",
            "deadlines.idle": "5s", "deadlines.refresh": "0ms",
            "paths.runtime_dir": str(self.runtime), "paths.state_dir": str(self.state),
        }
        s.update(self.settings)
        sections = {}
        for k, v in s.items():
            sec, key = k.split(".")
            sections.setdefault(sec, {})[key] = v
        import yaml
        self.config_path.write_text(yaml.safe_dump(sections))

    def start(self, argv_extra=(), activation=False):
        log = open(self.log_path, "a")
        if activation:
            cmd = ["systemd-socket-activate", "-l", str(self.pam_sock), "-l",
                   str(self.user_sock), "--fdname=agent:user", str(AGENT_BIN), "--config",
                   str(self.config_path)]
        else:
            cmd = [str(AGENT_BIN), "--config", str(self.config_path), "--listen-pam",
                   str(self.pam_sock), "--listen-user", str(self.user_sock), *argv_extra]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        log.close()
        harness.wait_for(lambda: self.pam_sock.exists() and self.user_sock.exists(), 5,
                         what="agent sockets")
        if activation:
            os.chmod(self.user_sock, 0o666)

    def stop(self):
        if self.proc is None:
            return None
        self.proc.terminate()
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def log(self):
        try:
            return self.log_path.read_text()
        except OSError:
            return ""

    def pam(self, **kw):
        return AgentClient(self.pam_sock, **kw)

    def user(self, **kw):
        return AgentClient(self.user_sock, **kw)


def host_settings(agent_dir, identities="*@example.com", groups=("sre", "dev")):
    return {"hosts": [{"name": "jump1", "public_key_file": str(Path(agent_dir) / "host.pub"),
                       "identities": identities, "groups": list(groups)}]}


def run_as(user, argv, timeout=30):
    """Runs argv as `user` (setpriv, no new privileges)."""
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True,
                          text=True, timeout=timeout)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
