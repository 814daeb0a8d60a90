# Helpers of the pam_jitsudo tests: the agent protocol's framing (to play a fake agent that
# answers well, badly or never), a driver that runs PAM stages from a private directory with
# pam_start_confdir (optionally under valgrind), throwaway Unix users, and a real sshd and sudo
# confined to a private mount namespace so the host's /etc/pam.d and sudoers stay untouched.
# Everything started or created here is undone by the context managers, also on failure.
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAM_MODULE = Path(os.environ.get("PAM_JITSUDO_SO") or REPO / "build" / "pam_jitsudo.so").resolve()
PAM_DRIVER = Path(os.environ.get("PAM_DRIVER_BIN")
                  or REPO / "build" / "pam_jitsudo" / "pam_driver").resolve()
PYTHON = "/usr/bin/python3"

# PAM return codes (security/_pam_types.h).
PAM_SUCCESS = 0
PAM_SERVICE_ERR = 3
PAM_SYSTEM_ERR = 4
PAM_BUF_ERR = 5
PAM_PERM_DENIED = 6
PAM_AUTH_ERR = 7
PAM_AUTHINFO_UNAVAIL = 9
PAM_USER_UNKNOWN = 10
PAM_CONV_ERR = 19
PAM_IGNORE = 25

# ---- the agent protocol (lib/agentproto/agentproto.h, docs/agent-protocol.md) ---------------

HELLO, ERROR, OK = 1, 2, 3
GRANT_ENSURE, GRANT_WAIT, SESSION_OPEN, SESSION_CLOSE = 16, 17, 18, 19
GRANT_STATE, SESSION_ENV = 64, 65
TYPE_NAMES = {HELLO: "HELLO", ERROR: "ERROR", OK: "OK", GRANT_ENSURE: "GRANT_ENSURE",
              GRANT_WAIT: "GRANT_WAIT", SESSION_OPEN: "SESSION_OPEN",
              SESSION_CLOSE: "SESSION_CLOSE", GRANT_STATE: "GRANT_STATE",
              SESSION_ENV: "SESSION_ENV"}

T_VERSION_MIN, T_VERSION_MAX, T_VERSION, T_ERROR_CODE, T_MESSAGE = 1, 2, 3, 4, 5
T_USER, T_PROVIDER, T_ROLE, T_SCOPE, T_DURATION, T_REASON = 16, 17, 18, 19, 20, 21
T_BREAK_GLASS, T_LOOKUP_ONLY, T_REQUEST_ID, T_STATE, T_EXPIRES_AT = 22, 23, 24, 25, 26
T_TIMEOUT_MS, T_SESSION_ID, T_ENV, T_SESSION_DIR = 27, 28, 29, 30
TAG_NAMES = {T_USER: "user", T_PROVIDER: "provider", T_ROLE: "role", T_SCOPE: "scope",
             T_DURATION: "duration", T_REASON: "reason", T_BREAK_GLASS: "break_glass",
             T_LOOKUP_ONLY: "lookup_only", T_REQUEST_ID: "request_id", T_STATE: "state",
             T_TIMEOUT_MS: "timeout_ms", T_SESSION_ID: "session_id", T_ENV: "env",
             T_VERSION_MIN: "version_min", T_VERSION_MAX: "version_max"}
INT_TAGS = {T_VERSION_MIN: 2, T_VERSION_MAX: 2, T_VERSION: 2, T_ERROR_CODE: 2, T_DURATION: 4,
            T_BREAK_GLASS: 1, T_LOOKUP_ONLY: 1, T_TIMEOUT_MS: 4, T_EXPIRES_AT: 8}

ERR_BAD_REQUEST, ERR_FORBIDDEN, ERR_NOT_FOUND, ERR_DENIED = 1, 2, 3, 4
ERR_SERVER_UNREACHABLE, ERR_TIMEOUT, ERR_INTERNAL = 5, 6, 7


def field(tag, value):
    if isinstance(value, str):
        value = value.encode()
    elif isinstance(value, int):
        value = value.to_bytes(INT_TAGS[tag], "big", signed=(tag == T_EXPIRES_AT))
    return struct.pack(">HH", tag, len(value)) + value


def frame(mtype, mid, fields=()):
    body = struct.pack(">BI", mtype, mid) + b"".join(field(t, v) for t, v in fields)
    return struct.pack(">I", len(body)) + body


def parse_body(body):
    """A request body -> (type, id, {name: value or [values]})."""
    mtype, mid = struct.unpack(">BI", body[:5])
    out, i = {}, 5
    while i < len(body):
        tag, n = struct.unpack(">HH", body[i:i + 4])
        raw = body[i + 4:i + 4 + n]
        i += 4 + n
        value = int.from_bytes(raw, "big") if tag in INT_TAGS else raw.decode()
        name = TAG_NAMES.get(tag, str(tag))
        if tag == T_ENV:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return mtype, mid, out


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def recv_frame(conn):
    head = recv_exact(conn, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    return recv_exact(conn, n)


# ---- a fake agent ---------------------------------------------------------------------------
#
# Run as `python3 pam_support.py fake-agent SOCKET SCRIPT.json LOG.jsonl`. The script says how
# to answer each verb: {"GRANT_ENSURE": [reply, ...], "GRANT_WAIT": [...], ...}; replies are
# used in order (the last one repeats). A reply is one of
#   {"state": "ACTIVE", "request_id": "r1", "message": "..."}   GRANT_STATE
#   {"env": ["A=1"], "dir": "/x"}                                SESSION_ENV
#   {"ok": true}                                                  OK
#   {"error": 5, "message": "..."}                                ERROR
#   {"raw": "<hex>"}                  these bytes as they are (malformed replies)
#   {"hang": true}                    never answer (keep the connection open)
#   {"close": true}                   close the connection
#   {"wrong_id": true, ...}           the reply above with another request id
# A PENDING answer to GRANT_WAIT comes after the timeout asked for, unless "early": true.
# "HELLO" may be given too (default: version 1). "accept_only": true never reads at all.
# Each request is appended to LOG as JSON: {"type": ..., "fields": {...}}.


def _fake_agent_main(sock_path, script_path, log_path):
    script = json.loads(Path(script_path).read_text())
    counters = {}
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sock_path)
    srv.bind(sock_path)
    srv.listen(16)
    held = []  # connections left hanging
    log = open(log_path, "a")
    print("ready", flush=True)

    def reply_for(verb):
        replies = script.get(verb)
        if replies is None:
            return None
        k = counters.get(verb, 0)
        counters[verb] = k + 1
        return replies[min(k, len(replies) - 1)]

    def build(r, mtype, mid):
        if "raw" in r:
            return bytes.fromhex(r["raw"])
        rid = mid + 7 if r.get("wrong_id") else mid
        if "error" in r:
            f = [(T_ERROR_CODE, r["error"])]
            if "message" in r:
                f.append((T_MESSAGE, r["message"]))
            return frame(ERROR, rid, f)
        if "state" in r:
            f = []
            if "request_id" in r:
                f.append((T_REQUEST_ID, r["request_id"]))
            f.append((T_STATE, r["state"]))
            if "expires_at" in r:
                f.append((T_EXPIRES_AT, r["expires_at"]))
            if "message" in r:
                f.append((T_MESSAGE, r["message"]))
            return frame(r.get("type", GRANT_STATE), rid, f)
        if "env" in r:
            f = [(T_ENV, e) for e in r["env"]]
            if "dir" in r:
                f.append((T_SESSION_DIR, r["dir"]))
            return frame(r.get("type", SESSION_ENV), rid, f)
        if r.get("ok"):
            return frame(r.get("type", OK), rid)
        raise ValueError(f"bad reply {r!r}")

    while True:
        conn, _ = srv.accept()
        if script.get("accept_only"):
            held.append(conn)
            continue
        while True:
            try:
                body = recv_frame(conn)
            except OSError:
                body = None
            if body is None:
                conn.close()
                break
            mtype, mid, fields = parse_body(body)
            verb = TYPE_NAMES.get(mtype, str(mtype))
            log.write(json.dumps({"type": verb, "fields": fields}) + "\n")
            log.flush()
            r = reply_for(verb)
            if r is None:
                r = {"version": 1} if mtype == HELLO else {"error": ERR_BAD_REQUEST}
            if r.get("hang"):
                held.append(conn)
                break
            if r.get("close"):
                conn.close()
                break
            if (verb == "GRANT_WAIT" and r.get("state") == "PENDING" and not r.get("early")):
                # As the agent does: PENDING only once the timeout asked for has passed.
                time.sleep(fields.get("timeout_ms", 0) / 1000.0)
            if "version" in r:
                conn.sendall(frame(HELLO, mid, [(T_VERSION, r["version"])]))
            else:
                conn.sendall(build(r, mtype, mid))


class FakeAgent:
    """A fake agent process listening on `path`, answering as `script` says."""

    def __init__(self, directory, script, user=None):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "agent.sock"
        self.script_path = self.dir / "script.json"
        self.log_path = self.dir / "requests.jsonl"
        self.script_path.write_text(json.dumps(script))
        self.log_path.write_text("")
        cmd = [PYTHON, __file__, "fake-agent", str(self.path), str(self.script_path),
               str(self.log_path)]
        if user is not None:
            # A non-root peer: the directory must let it create the socket.
            os.chmod(self.dir, 0o777)
            for p in (self.log_path,):
                os.chmod(p, 0o666)
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"fake agent did not start: {line!r}"

    def requests(self, verb=None):
        out = [json.loads(x) for x in self.log_path.read_text().splitlines() if x.strip()]
        return [r for r in out if verb is None or r["type"] == verb]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


@contextlib.contextmanager
def fake_agent(directory, script, user=None):
    a = FakeAgent(directory, script, user=user)
    try:
        yield a
    finally:
        a.stop()


# ---- running PAM stages through the driver --------------------------------------------------

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--track-fds=no"]


class Run:
    """The driver's output: results per stage, conversation lines, the PAM environment."""

    def __init__(self, proc, elapsed):
        self.proc = proc
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.elapsed = elapsed
        self.results, self.times, self.conv, self.env = {}, {}, [], {}
        for line in proc.stdout.splitlines():
            if line.startswith("result "):
                _, stage, code, rest = line.split(" ", 3)
                self.results[stage] = int(code)
                self.times[stage] = int(rest.rsplit(" ", 1)[1]) / 1000.0
            elif line.startswith("conv "):
                kind, _, text = line[5:].partition(": ")
                self.conv.append((kind, text))
            elif line.startswith("env "):
                name, _, value = line[4:].partition("=")
                self.env[name] = value

    def messages(self, kind=None):
        return [t for k, t in self.conv if kind is None or k == kind]

    def __repr__(self):
        return f"Run(rc={self.returncode}, stdout={self.stdout!r}, stderr={self.stderr[-3000:]!r})"


def write_service(confdir, service, lines):
    confdir = Path(confdir)
    confdir.mkdir(parents=True, exist_ok=True)
    (confdir / service).write_text("\n".join(lines) + "\n")
    return confdir


def module_line(stage, socket_path, *args, control="required"):
    return " ".join([stage, control, str(PAM_MODULE), f"socket={socket_path}", *args])


def run_driver(confdir, service, user, stages, answers=(), silent=False, conv_fail=False,
               valgrind=False, timeout=60, ruser=None):
    cmd = [str(PAM_DRIVER), "--confdir", str(confdir), "--service", service, "--user", user]
    if ruser:
        cmd += ["--ruser", ruser]
    for a in answers:
        cmd += ["--answer", a]
    if silent:
        cmd.append("--silent")
    if conv_fail:
        cmd.append("--conv-fail")
    cmd += list(stages)
    if valgrind:
        cmd = VALGRIND + cmd
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return Run(p, time.monotonic() - t0)


# ---- throwaway users ------------------------------------------------------------------------


def _run(*cmd, check=True, **kw):
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p


@contextlib.contextmanager
def unix_user(name, groups=()):
    """A Unix user with a home directory (and its groups), removed afterwards."""
    created_groups = []
    for g in groups:
        if _run("getent", "group", g, check=False).returncode != 0:
            _run("groupadd", g)
            created_groups.append(g)
    if _run("getent", "passwd", name, check=False).returncode == 0:
        _run("userdel", "-r", "-f", name, check=False)
    args = ["useradd", "-m", "-s", "/bin/bash"]
    if groups:
        args += ["-G", ",".join(groups)]
    _run(*args, name)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        _run("userdel", "-r", "-f", name, check=False)
        for g in created_groups:
            _run("groupdel", g, check=False)


# ---- a private mount namespace --------------------------------------------------------------
#
# The sshd and sudo tests run their programs under `unshare -m` with a shell that bind-mounts
# the test's /etc/pam.d (and sudoers.d) first; the mounts die with the namespace, so the host
# configuration is never modified even if the test is killed.


def in_namespace(binds, argv):
    """argv run in a new mount namespace after `mount --bind SRC DST` for each pair."""
    script = "set -e\n" + "".join(
        f"mount --bind {shell_quote(str(src))} {shell_quote(str(dst))}\n" for src, dst in binds)
    script += 'exec "$@"\n'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "ns"] + list(argv)


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def pam_dir_with(directory, service, text):
    """A copy of the host's /etc/pam.d with `service` replaced by `text`."""
    d = Path(directory)
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree("/etc/pam.d", d, symlinks=True)
    (d / service).write_text(text)
    return d


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_tree(proc, sig=signal.SIGTERM, wait=5):
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ---- a real sshd --------------------------------------------------------------------------


class Sshd:
    """sshd -D on a loopback port, in its own mount namespace where /etc/pam.d is a copy of the
    host's with `sshd` replaced by the test's stack. Public-key logins only."""

    def __init__(self, directory, pam_stack, extra_config=""):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log_path = self.dir / "sshd.log"
        self.hostkey = self.dir / "hostkey"
        self.clientkey = self.dir / "clientkey"
        for key in (self.hostkey, self.clientkey):
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        self.pamdir = pam_dir_with(self.dir / "pam.d", "sshd", pam_stack)
        self.config = self.dir / "sshd_config"
        # extra_config comes first: for each keyword sshd keeps the first value it reads.
        self.config.write_text(
            extra_config +
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.hostkey}\n"
            f"PidFile {self.dir / 'sshd.pid'}\nUsePAM yes\nPubkeyAuthentication yes\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "AuthorizedKeysFile .ssh/authorized_keys\nPermitRootLogin no\nPrintMotd no\n"
            "LoginGraceTime 30\nLogLevel VERBOSE\nMaxStartups 50\n")
        self.proc = None
        self.made_privsep_dir = False

    def authorize(self, user):
        """Lets the client key log in as `user` (a pwd entry)."""
        ssh = Path(user.pw_dir) / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        keys = ssh / "authorized_keys"
        with open(keys, "a") as f:  # other sshds of the test may have their keys there
            f.write((self.dir / "clientkey.pub").read_text())
        for path in (ssh, keys):
            os.chown(path, user.pw_uid, user.pw_gid)
        keys.chmod(0o600)

    def start(self):
        if not os.path.isdir("/run/sshd"):  # the privilege separation directory
            os.makedirs("/run/sshd", mode=0o755)
            self.made_privsep_dir = True
        _run("/usr/sbin/sshd", "-t", "-f", str(self.config))
        argv = in_namespace([(self.pamdir, "/etc/pam.d")],
                            ["/usr/sbin/sshd", "-D", "-f", str(self.config),
                             "-E", str(self.log_path)])
        self.proc = subprocess.Popen(argv, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sshd exited {self.proc.returncode}:\n{self.log()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise AssertionError(f"sshd did not listen within 10 s:\n{self.log()}")

    def ssh_argv(self, user, command, batch=True):
        """ssh as root with the test's key; batch=False lets it prompt (keyboard-interactive)
        on its controlling terminal."""
        argv = ["ssh", "-T", "-p", str(self.port), "-i", str(self.clientkey), "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=INFO"]
        if batch:
            argv += ["-o", "BatchMode=yes"]
        return argv + [f"{user}@127.0.0.1", command]

    def ssh(self, user, command, timeout=60):
        return subprocess.run(self.ssh_argv(user, command), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def log(self):
        try:
            return self.log_path.read_text()[-6000:]
        except OSError:
            return "(no sshd log)"

    def stop(self):
        kill_tree(self.proc)
        if self.made_privsep_dir:
            with contextlib.suppress(OSError):
                os.rmdir("/run/sshd")


@contextlib.contextmanager
def sshd(directory, pam_stack, extra_config=""):
    d = Sshd(directory, pam_stack, extra_config)
    try:
        yield d.start()
    finally:
        d.stop()


def env_of(text):
    """`env` output -> dict."""
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            out[name] = value
    return out


# ---- a process on a pseudo-terminal (sudo reads its prompts from the tty) ------------------


class Pty:
    """argv with a new pty as its controlling terminal; expect() reads, send() types."""

    def __init__(self, argv, env=None):
        import fcntl
        import termios

        self.master, slave = os.openpty()

        def setup():
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     preexec_fn=setup, close_fds=True, env=env)
        os.close(slave)
        self.output = ""

    def _read(self, timeout):
        import select

        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 4096)
        except OSError:  # EIO: every process on the slave side is gone
            data = b""
        if not data:
            return None
        self.output += data.decode(errors="replace")
        return True

    def expect(self, pattern, timeout=30):
        import re

        deadline = time.monotonic() + timeout
        start = 0
        while True:
            m = re.compile(pattern).search(self.output, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got:\n{self.output}")
            if self._read(left) is None:
                raise AssertionError(f"ended before {pattern!r}; got:\n{self.output}")

    def send(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=60):
        """Reads until the process ends; returns its exit code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._read(0.2) is None:
                break
        try:
            return self.proc.wait(max(0.1, deadline - time.monotonic()))
        finally:
            self.close()

    def close(self):
        kill_tree(self.proc)
        with contextlib.suppress(OSError):
            os.close(self.master)


def sudo_argv(user, pamdir, sudoersdir, command):
    """sudo run by `user` in a namespace where /etc/pam.d and /etc/sudoers.d are the test's."""
    return in_namespace(
        [(pamdir, "/etc/pam.d"), (sudoersdir, "/etc/sudoers.d")],
        ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
         "env", "-i", "PATH=/usr/bin:/bin", "TERM=dumb", "LANG=C",
         "sudo", *command])


def sudoers_dir(directory, user, nopasswd=()):
    """A sudoers.d letting `user` run anything after authenticating, and the `nopasswd`
    commands without (sudo then runs no auth stack, only account and session)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    f = d / "jitsudo-test"
    rules = "".join(f"{user} ALL=(root) NOPASSWD: {c}\n" for c in nopasswd)
    # The last matching rule wins: the NOPASSWD ones come after the general one.
    f.write_text(f"Defaults:{user} passwd_tries=1, timestamp_timeout=0, !lecture\n"
                 f"{user} ALL=(root) ALL\n" + rules)
    f.chmod(0o440)
    _run("visudo", "-c", "-f", str(f))
    return d


# ---- a real jitsudod and a real agent --------------------------------------------------------

# The policies of the PAM tests: members of jitpam may ask, members of approvers decide.
ELIGIBILITY = """package jitsudo.eligibility

import rego.v1

default allow := false

allow if "jitpam" in input.user.groups

reason := "not eligible: only jitpam may request (pam test policy)" if not allow
"""
APPROVAL = """package jitsudo.approval

import rego.v1

default allow := false

allow if "approvers" in input.user.groups

reason := "only approvers may approve (pam test policy)" if not allow
"""
ELIGIBLE_GROUP = "jitpam"


class World:
    """jitsudod (mock providers, the policies above, the agent's host key) and a root
    jitsudo-agent on sockets in a directory every user may traverse (session files must be
    reachable by their owners)."""

    def __init__(self, agent_settings=None, server_settings=None):
        import agent_support
        import harness

        self.root = Path(tempfile.mkdtemp(prefix="jitsudo-pam-"))
        self.root.chmod(0o755)
        policies = self.root / "policies"
        policies.mkdir()
        (policies / "eligibility.rego").write_text(ELIGIBILITY)
        (policies / "approval.rego").write_text(APPROVAL)
        settings = {"identity.groups": [ELIGIBLE_GROUP], "requests.scope": "123456789012"}
        settings.update(agent_settings or {})
        self.agent = agent_support.Agent(self.root / "agent", settings=settings)
        (self.root / "agent").chmod(0o755)
        server = agent_support.host_settings(self.agent.dir, groups=[ELIGIBLE_GROUP])
        server.update(server_settings or {})
        self.server = harness.Server(self.root / "server", server, policies_dir=policies)
        self.agent.server_url = self.server.url
        self.bob = self.server.client(harness.BOB)
        self.started = []
        self.sshds = []  # sshds of the tests, for the failure report

    def start(self):
        self.agent.write_config()
        self.server.start()
        self.started.append(self.server)
        self.agent.start()
        self.started.append(self.agent)
        _report_logs_of(self)
        return self

    def stop(self):
        codes = {}
        for p in reversed(self.started):
            codes[type(p).__name__] = p.stop()
        self.started = []
        return codes

    @property
    def socket(self):
        return self.agent.pam_sock

    def person(self, user):
        """The API client of local user `user` (the identity the agent uses for it)."""
        return self.server.client((f"{user}@example.com", (ELIGIBLE_GROUP,)))

    def approved(self, user, **spec):
        """A request of `user` approved by bob; returns it."""
        import harness

        req = harness.expect(self.person(user).create(**spec), 200)["request"]
        assert req["state"] == "REQUEST_STATE_PENDING", req
        out = harness.expect(self.bob.approve(req["id"], "ok"), 200)["request"]
        assert out["state"] == "REQUEST_STATE_APPROVED", out
        return out

    def logs(self):
        return f"agent log:\n{self.agent.log()[-4000:]}\njitsudod log:\n{self.server.log()[-3000:]}"

    def log(self):
        """For conftest's failure report: the agent's and jitsudod's logs, and any sshd's."""
        text = self.logs()
        for d in self.sshds:
            text += f"\nsshd log ({d.dir}):\n{d.log()}"
        return text

    @property
    def dir(self):
        return self.root

    def cleanup(self):
        _report_logs_of(self, False)
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _report_logs_of(world_, add=True):
    """conftest attaches the logs of the servers in its `_live` list to a failing test's
    report; a World (jitsudod, the agent, sshds) joins that list while it runs."""
    conftest = sys.modules.get("conftest")
    live = getattr(conftest, "_live", None)
    if live is None:
        return
    if add:
        live.append(world_)
    elif world_ in live:
        live.remove(world_)


@contextlib.contextmanager
def world(agent_settings=None, server_settings=None):
    w = World(agent_settings, server_settings)
    try:
        yield w.start()
    finally:
        w.cleanup()


# ---- what the module writes to syslog ----------------------------------------------------
#
# `python3 pam_support.py syslog-capture DIR OUT argv...` (run under `unshare -m`): a private
# /dev (tmpfs, with /dev/null kept) whose /dev/log is a datagram socket of ours; runs argv and
# writes every syslog datagram it sent to OUT, one per line.


def _syslog_capture_main(directory, out, argv):
    null_copy = Path(directory) / "null"
    null_copy.touch()
    for cmd in (["mount", "--bind", "/dev/null", str(null_copy)],
                ["mount", "-t", "tmpfs", "tmpfs", "/dev"]):
        subprocess.run(cmd, check=True)
    Path("/dev/null").touch()
    subprocess.run(["mount", "--bind", str(null_copy), "/dev/null"], check=True)
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind("/dev/log")
    log.settimeout(0.05)
    proc = subprocess.Popen(argv)
    lines = []
    while True:
        try:
            lines.append(log.recv(65536).decode(errors="replace"))
            continue
        except socket.timeout:
            pass
        if proc.poll() is not None:
            break
    with contextlib.suppress(socket.timeout):
        while True:
            lines.append(log.recv(65536).decode(errors="replace"))
    Path(out).write_text("\n".join(x.replace("\n", " ") for x in lines) + "\n")
    sys.exit(proc.returncode)


def run_driver_capturing_syslog(directory, confdir, service, user, stages, answers=()):
    """run_driver in a private /dev; returns (Run, the syslog lines)."""
    out = Path(directory) / "syslog.txt"
    cmd = [str(PAM_DRIVER), "--confdir", str(confdir), "--service", service, "--user", user]
    for a in answers:
        cmd += ["--answer", a]
    cmd += list(stages)
    argv = ["unshare", "-m", "--propagation", "private", PYTHON, __file__, "syslog-capture",
            str(directory), str(out), *cmd]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    run = Run(p, time.monotonic() - t0)
    lines = out.read_text().splitlines() if out.exists() else []
    return run, lines


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "fake-agent":
        _fake_agent_main(*sys.argv[2:])
    elif len(sys.argv) > 4 and sys.argv[1] == "syslog-capture":
        _syslog_capture_main(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit("usage: pam_support.py fake-agent SOCKET SCRIPT.json LOG.jsonl\n"
                 "       pam_support.py syslog-capture DIR OUT ARGV...")
