# What a newcomer meets first, with the real programs: `make run` (tools/run-local, started in
# a temporary run directory on free loopback ports) honouring JITSUDO_RUN_ADDR on a second run
# and refusing to start twice; the CLI's message when nothing listens at the server's address
# (refused, at once) or the TLS handshake fails; `jitsudo status | head` ending quietly; and
# help and docs that promise nothing the code does not do (alerts, gRPC, real providers).
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import harness
from harness import ALICE, BOB
from test_cli import JITSUDO, Cli, need_binary

RUN_LOCAL = harness.REPO / "tools" / "run-local"
STOP = "Stop with Ctrl-C."


# ---- the CLI against nothing, or against the wrong protocol ----------------------------------

def test_a_refused_connection_says_refused_at_once(tmp_path):
    need_binary()
    port = harness.free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}"
    c = Cli(None, tmp_path)
    start = time.monotonic()
    for args in (("--token", "x", "status", "--pending"), ("server", "health"),
                 ("--token", "x", "request", "--provider", "aws", "--role", "r", "--scope",
                  "123456789012", "--duration", "1h", "--reason", "r")):
        p = c.run("--server", url, "--timeout", "30s", *args)
        assert p.returncode == 75, (args, p)
        assert p.stderr == (f"jitsudo: the server at {url} refused the connection: "
                            "is jitsudod running there?\n"), (args, p.stderr)
        assert "within" not in p.stderr
    # refused is known at once: no waiting for the 30 s timeout
    assert time.monotonic() - start < 5


def test_a_failed_tls_handshake_is_not_called_a_timeout(tmp_path):
    """https:// to a plain-HTTP port: the handshake fails, said as such (exit 75)."""
    need_binary()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]

        def answer_in_plain_http():
            for _ in range(2):
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(2)
                    try:
                        conn.recv(4096)
                        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                     b"Connection: close\r\n\r\n")
                    except OSError:
                        pass

        t = threading.Thread(target=answer_in_plain_http, daemon=True)
        t.start()
        c = Cli(None, tmp_path)
        url = f"https://127.0.0.1:{port}"
        p = c.run("--server", url, "--token", "x", "--timeout", "5s", "status")
        assert p.returncode == 75, p
        assert p.stderr == (f"jitsudo: the TLS handshake with the server at {url} failed "
                            "(--debug shows why)\n"), p.stderr
        p = c.run("--debug", "--server", url, "--token", "x", "--timeout", "5s", "status")
        assert p.returncode == 75, p
        assert re.search(r"^jitsudo: debug: GET https://127\.0\.0\.1:\d+/api/v1alpha1/requests"
                         r" -> .*(SSL|TLS|ssl|tls|version)", p.stderr, re.M), p.stderr
        t.join(5)


# ---- a closed pipe -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crowded(tmp_path_factory):
    """A server with 400 pending requests: over 100 KiB of `status --pending` table, more than
    a pipe holds, so the CLI is still writing when its reader goes away."""
    need_binary()
    s = harness.Server(tmp_path_factory.mktemp("crowded"))
    s.start()
    alice = s.client(ALICE)
    for _ in range(400):
        alice.create_ok(role="r" * 190, reason="x" * 400)
    yield s
    s.stop()


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
def test_status_into_a_pipe_closed_after_one_line_ends_quietly(crowded, tmp_path, output):
    c = Cli(crowded, tmp_path)
    read_end, write_end = os.pipe()
    try:
        proc = c.popen("-o", output, "status", "--pending", who=BOB, stdout=write_end,
                       stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    first = b""
    with os.fdopen(read_end, "rb", buffering=0) as reader:
        while not first.endswith(b"\n"):  # one line, as `head -1` reads it
            chunk = reader.read(1)
            assert chunk, f"the output ended before a line: {first!r}"
            first += chunk
    # the reader is gone; what is left (about 100 KiB) cannot all fit in the pipe
    _, err = proc.communicate(timeout=20)
    assert err == b"", err
    assert proc.returncode == -signal.SIGPIPE, (proc.returncode, err)
    if output == "table":
        assert first.startswith(b"ID "), first
    # a shell reports it as 141, like any tool killed by SIGPIPE; no message either way
    p = subprocess.run(["bash", "-c", f"'{JITSUDO}' status --pending | head -2; "
                        "echo \"status=${PIPESTATUS[0]}\""],
                       capture_output=True, text=True, timeout=20, env=c.env(BOB))
    assert p.stderr == "", p.stderr
    assert p.stdout.splitlines()[-1] == "status=141", p.stdout[-200:]
    assert len(p.stdout.splitlines()) == 3


def test_a_full_disk_is_still_an_error(crowded, tmp_path):
    """Only a vanished reader is quiet: a write that fails otherwise (/dev/full) is reported."""
    c = Cli(crowded, tmp_path)
    with open("/dev/full", "wb") as full:
        p = subprocess.run([str(JITSUDO), "status", "--pending"], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=c.env(BOB), timeout=20)
    assert p.returncode == 1, p
    assert p.stderr == "jitsudo: cannot write the output\n", p.stderr


# ---- make run (tools/run-local) ---------------------------------------------------------------

@pytest.fixture
def build_dir(tmp_path):
    """A build directory as run-local expects it ($BUILD/jitsudod, $BUILD/bin/jitsudo), made of
    links to the programs under test."""
    need_binary()
    text = RUN_LOCAL.read_text()
    # Without these, run-local would use ./run and build/ of the checkout: do not touch them.
    assert "JITSUDO_RUN_DIR" in text and "BUILD" in text, "run-local takes no run directory"
    d = tmp_path / "build"
    (d / "bin").mkdir(parents=True)
    (d / "jitsudod").symlink_to(harness.BIN)
    (d / "bin" / "jitsudo").symlink_to(JITSUDO)
    return d


class RunLocal:
    """One `tools/run-local` in the foreground, its output in a file."""

    def __init__(self, build, run_dir, port, log):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(run_dir.parent),
                    "LANG": "C.UTF-8", "BUILD": str(build), "JITSUDO_RUN_DIR": str(run_dir),
                    "JITSUDO_RUN_ADDR": f"127.0.0.1:{port}"}
        self.proc = None

    def start(self, timeout=10):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([str(RUN_LOCAL)], stdout=log, stderr=log,
                                         env=self.env, cwd=str(harness.REPO))
        session = requests.Session()
        session.trust_env = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"run-local exited {self.proc.returncode}:\n{self.output()}")
            try:
                if session.get(self.url + "/healthz", timeout=0.5).status_code == 200 \
                        and STOP in self.output():
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"run-local did not serve {self.url}:\n{self.output()}")

    def run(self, timeout=15):
        """Runs it to the end (it is expected to refuse): the CompletedProcess."""
        return subprocess.run([str(RUN_LOCAL)], capture_output=True, text=True, env=self.env,
                              cwd=str(harness.REPO), timeout=timeout)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def walkthrough(self):
        return self.output().split(STOP)[0]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def run_local(build_dir, tmp_path):
    started = []

    def make(port, run_dir=None):
        r = RunLocal(build_dir, run_dir or tmp_path / "run", port,
                     tmp_path / f"run-local-{len(started)}.log")
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


def create_request(url, token):
    """A request as alice, with the token a walk-through printed: its ID."""
    session = requests.Session()
    session.trust_env = False
    r = session.post(f"{url}{harness.API}/requests", json=harness.DEFAULT_SPEC, timeout=10,
                     headers={"Authorization": f"Bearer {token}"})
    return harness.expect(r, 200)["request"]["id"]


def refused(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_make_run_honours_the_address_with_an_existing_run_dir(run_local, tmp_path, build_dir):
    first_port, second_port = harness.free_port(), harness.free_port()
    first = run_local(first_port).start()
    text = first.walkthrough()
    assert f"jitsudod on {first.url} " in text
    token = re.search(r"export REQUESTER=(\S+)", text).group(1)
    rid = create_request(first.url, token)
    run_dir = tmp_path / "run"
    keys = {name: (run_dir / name).read_bytes() for name in ("seal.key", "issuer.pem")}
    first.stop()

    second = run_local(second_port).start()
    text = second.walkthrough()
    # what the walk-through says is what listens, and the old address is free
    assert f"jitsudod on {second.url} " in text, text
    assert f"export JITSUDO_SERVER={second.url} " in text
    assert f"{second.url}/api/v1alpha1/requests" in text
    assert str(first_port) not in text
    assert refused(first_port)
    config = (run_dir / "jitsudod.yaml").read_text()
    assert f'http_addr: "127.0.0.1:{second_port}"' in config
    assert f'url: "http://127.0.0.1:{second_port}"' in config
    # the keys and the database stayed: the first run's request is still there, and the
    # tokens of the second walk-through work with the jitsudo command it names
    assert {name: (run_dir / name).read_bytes() for name in keys} == keys
    token = re.search(r"export REQUESTER=(\S+)", text).group(1)
    cli = re.search(r"With the jitsudo command \((/\S+)\)", text).group(1)
    p = subprocess.run([cli, "-q", "status", "--mine"], capture_output=True, text=True,
                       timeout=20, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                        "JITSUDO_SERVER": second.url, "JITSUDO_TOKEN": token})
    assert p.returncode == 0 and p.stdout.split() == [rid], p


def test_the_walkthrough_names_absolute_paths(run_local, build_dir):
    r = run_local(harness.free_port()).start()
    text = r.walkthrough() + STOP
    more = re.search(r"^More tokens: (\S+) token --config (\S+) --user EMAIL --groups G1,G2$",
                     text, re.M)
    assert more, text
    program, config = Path(more.group(1)), Path(more.group(2))
    assert program.is_absolute() and os.access(program, os.X_OK), program
    assert config.is_absolute() and config.is_file(), config
    p = subprocess.run([str(program), "token", "--config", str(config), "--user",
                        "dave@example.com", "--groups", "sre"], capture_output=True, text=True,
                       timeout=10, cwd="/")
    assert p.returncode == 0 and p.stdout.count(".") == 2, p
    cli = re.search(r"With the jitsudo command \((\S+)\)", text).group(1)
    assert Path(cli).is_absolute() and os.access(cli, os.X_OK), cli
    assert re.search(rf"^  export JITSUDO_SERVER={re.escape(r.url)} PATH=/\S+:\$PATH$", text,
                     re.M), text


def test_make_run_twice_says_already_running(run_local, tmp_path):
    port = harness.free_port()
    first = run_local(port).start()
    config = (tmp_path / "run" / "jitsudod.yaml").read_text()
    # the same address, and another one: either way the running one is named
    for second_port in (port, harness.free_port()):
        start = time.monotonic()
        p = run_local(second_port).run()
        assert time.monotonic() - start < 5
        assert p.returncode == 1, p
        assert p.stdout == "", p.stdout
        assert p.stderr.startswith(f"jitsudo is already running at {first.url} "
                                   f"(pid {first.proc.pid}), on {tmp_path / 'run'}.\n"), p.stderr
        assert f"kill {first.proc.pid}" in p.stderr
        assert refused(second_port) or second_port == port
    # nothing changed: the first one still serves, with the same config
    assert first.proc.poll() is None
    assert (tmp_path / "run" / "jitsudod.yaml").read_text() == config
    assert requests.get(first.url + "/healthz", timeout=2).status_code == 200
    # once it is stopped, a stale pid file does not stop the next one
    first.stop()
    run_local(port).start()


def test_make_run_at_an_address_in_use_says_so(run_local, tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(4)
        port = other.getsockname()[1]
        p = run_local(port, run_dir=tmp_path / "fresh").run()
    assert p.returncode == 1, p
    assert p.stderr.startswith(f"Something is already listening at http://127.0.0.1:{port}"), \
        p.stderr
    assert "JITSUDO_RUN_ADDR=" in p.stderr
    assert not (tmp_path / "fresh").exists()  # nothing was written


# ---- help and docs say what the code does ------------------------------------------------------

def test_request_help_promises_no_alerts(tmp_path):
    need_binary()
    text = " ".join(Cli(None, tmp_path).ok("request", "--help").split())  # unwrapped
    for promise in ("alerts sent", "sends alerts", "alerting", "notifies", "are notified"):
        assert promise not in text, promise
    assert "no alert is sent" in text and "sends no alerts" in text
    man = harness.BIN.parent / "man" / "jitsudo-request.1"
    if man.exists():
        assert "alerts sent" not in man.read_text() and "sends alerts" not in man.read_text()


def test_docs_claim_only_what_this_version_does():
    readme = (harness.REPO / "README.md").read_text()
    cli_md = (harness.REPO / "docs" / "cli.md").read_text()
    config_md = (harness.REPO / "docs" / "configuration.md").read_text()
    assert "gRPC API" not in readme.split("**Status.**")[0]  # the parts: REST only
    assert "providers for AWS" not in readme
    assert "Still to come" not in readme and "later version" not in config_md
    assert "mock provider" in readme and "nobody is alerted" in readme
    assert "alerts sent" not in cli_md and "jitsudod sends no alert" in cli_md
    assert "refused the connection" in cli_md and "SIGPIPE" in cli_md
