# Helpers of the agent tests: a jitsudod that knows the test host, a jitsudo-agent started with
# --listen-pam/--listen-user on sockets in a temporary directory, and a small client of the
# agent protocol (docs/agent-protocol.md) written from the documented wire format. Also a
# counting HTTP proxy to put between the agent and jitsudod, and clients that load the user
# socket (`python3 agent_support.py hold|creds-flood ...`, run as an unprivileged user).
import http.client
import http.server
import json
import os
import secrets
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

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
E_TIMEOUT, E_INTERNAL, E_VERSION = 6, 7, 8

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


class CountingProxy:
    """An HTTP/1.1 proxy on loopback in front of jitsudod: the agent is pointed at it, so every
    call the agent makes to jitsudod passes here and is counted (method, path, monotonic
    time)."""

    def __init__(self, upstream_url):
        u = urlsplit(upstream_url)
        self.upstream = (u.hostname, u.port)
        self.calls = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                with proxy.lock:
                    proxy.calls.append((self.command, self.path, time.monotonic()))
                skip = ("host", "connection", "content-length", "transfer-encoding")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                up = http.client.HTTPConnection(*proxy.upstream, timeout=10)
                try:
                    up.request(self.command, self.path, body=body, headers=headers)
                    answer = up.getresponse()
                    data = answer.read()
                finally:
                    up.close()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in skip:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = forward

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def count(self, since=0.0, path_part=""):
        with self.lock:
            return sum(1 for _, path, t in self.calls if t >= since and path_part in path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class UserLoad:
    """A load client (`hold` or `creds-flood` below) running as `user`; its first JSON line
    is in .first; .finish() ends it and returns its last line."""

    def __init__(self, user, *args):
        argv = ["runuser", "-u", user, "--", "/usr/bin/python3", str(Path(__file__).resolve()),
                *map(str, args)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"{args[0]} as {user} printed nothing: {self.proc.stderr.read()}")
        self.first = json.loads(line)

    def finish(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)  # closes its standard input
        assert self.proc.returncode == 0, err
        lines = [x for x in out.splitlines() if x.strip()]
        return json.loads(lines[-1]) if lines else self.first

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _reply_key(r):
    return f"{r.type}/{r.get(T_CODE)}" if r.type == ERROR else str(r.type)


def _hold_main(path, count, every):
    """Opens `count` connections to the user socket, each with the handshake; prints what was
    accepted and refused; then sends MY_GRANTS on each accepted one every `every` seconds
    (as an idle-deadline-beating client would) until standard input closes, and prints how
    many are still served."""
    accepted, refused, errors = [], [], []
    for _ in range(count):
        try:
            c = AgentClient(path, hello=False)
            r = c.call(HELLO, [(T_VMIN, 1), (T_VMAX, 1)], rid=0)
        except (OSError, AssertionError) as e:
            errors.append(repr(e))
            continue
        if r.type == HELLO:
            accepted.append(c)
        else:
            refused.append([r.get(T_CODE), r.get(T_MESSAGE)])
            refused[-1].append(c.recv() is None)  # closed after the refusal
            c.close()
    print(json.dumps({"accepted": len(accepted), "refused": refused, "errors": errors}),
          flush=True)
    lost = 0
    while True:
        ready, _, _ = select.select([sys.stdin], [], [], every)
        if ready and not sys.stdin.readline():
            break
        for c in list(accepted):
            try:
                assert c.call(MY_GRANTS).type == GRANT_LIST
            except (OSError, AssertionError):
                accepted.remove(c)
                lost += 1
    alive = 0
    for c in accepted:
        try:
            alive += c.call(MY_GRANTS).type == GRANT_LIST
        except (OSError, AssertionError):
            pass
    print(json.dumps({"alive": alive, "lost": lost}), flush=True)


def _creds_flood_main(path, seconds, connections):
    """MY_CREDENTIALS with made-up request ids as fast as `connections` connections allow, for
    `seconds`; prints the replies by kind and a message of each kind."""
    print(json.dumps({"started": time.monotonic()}), flush=True)
    replies, messages, lock = {}, {}, threading.Lock()
    end = time.monotonic() + seconds

    def flood():
        c = AgentClient(path)
        while time.monotonic() < end:
            r = c.call(MY_CREDENTIALS, [(T_REQUEST_ID, "01NOSUCH" + secrets.token_hex(8))])
            with lock:
                k = _reply_key(r)
                replies[k] = replies.get(k, 0) + 1
                messages.setdefault(k, r.get(T_MESSAGE))
        c.close()

    threads = [threading.Thread(target=flood) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.stdin.read()
    print(json.dumps({"replies": replies, "messages": messages}), flush=True)


def _creds_main(path, request_id):
    """One MY_CREDENTIALS; prints the reply's type, error code and variable names."""
    c = AgentClient(path)
    r = c.call(MY_CREDENTIALS, [(T_REQUEST_ID, request_id)])
    print(json.dumps({"type": r.type, "code": r.get(T_CODE), "message": r.get(T_MESSAGE),
                      "env": sorted(r.env()) if r.type == CREDENTIALS else []}), flush=True)
    c.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "creds":
        _creds_main(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "hold":
        _hold_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "creds-flood":
        _creds_flood_main(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("usage: agent_support.py creds SOCKET REQUEST_ID\n"
                 "       agent_support.py hold SOCKET COUNT EVERY_SECONDS\n"
                 "       agent_support.py creds-flood SOCKET SECONDS CONNECTIONS")
