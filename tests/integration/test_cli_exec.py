# `jitsudo exec` and `jitsudo shell` against a real jitsudod and its mock provider: the
# credentials the server issued reach the command's environment (and nothing else prints
# them), the Kubernetes kubeconfig is a private 0600 file removed afterwards (also when jitsudo
# is terminated), exit statuses pass through like a shell's, and the shell's prompt carries the
# marker and the time left in bash and zsh.
import http.server
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import threading
import time

import pytest

import harness
from harness import ALICE, BOB, EVE, expect
from test_cli import JITSUDO, Cli, need_binary

DUMP_ENV = ("import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w')); "
            "sys.exit(int(sys.argv[2]))")


@pytest.fixture(scope="module")
def cli(server, tmp_path_factory):
    need_binary()
    return Cli(server, tmp_path_factory.mktemp("home"))


def approved(cli, provider="aws", role="prod-infra-admin", scope="123456789012"):
    rid = cli.ok("-q", "request", "--provider", provider, "--role", role, "--scope", scope,
                 "--duration", "1h", "--reason", "exec test", who=ALICE).strip()
    cli.ok("approve", rid, who=BOB)
    return rid


def credentials(client, rid):
    grant = expect(client.credentials(rid), 200)["grant"]
    return {c["name"]: c["value"] for c in grant["credentials"]}, grant


def test_exec_passes_the_aws_credentials_and_the_exit_status(cli, alice, tmp_path):
    rid = approved(cli)
    out = tmp_path / "env.json"
    p = cli.run("exec", rid, "--", "/usr/bin/python3", "-c", DUMP_ENV, str(out), "0", who=ALICE)
    assert p.returncode == 0, p.stderr
    env = json.loads(out.read_text())
    issued, grant = credentials(alice, rid)
    assert set(issued) >= {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    for name, value in issued.items():
        assert env[name] == value, name
        assert value not in p.stdout and value not in p.stderr
    assert env["JITSUDO_REQUEST_ID"] == rid
    assert env["JITSUDO_EXPIRES_AT"] == grant["expires_at"]
    assert env["HOME"] == str(cli.home)  # the user's environment is kept
    assert "JITSUDO_TOKEN" not in env  # but not jitsudo's own token
    assert expect(alice.get(rid), 200)["request"]["state"] == "REQUEST_STATE_ACTIVE"
    for status in (1, 7, 255):
        p = cli.run("exec", rid, "--", "sh", "-c", f"exit {status}", who=ALICE)
        assert p.returncode == status and p.stderr == ""


def test_exec_status_like_a_shell(cli, tmp_path):
    rid = approved(cli)
    p = cli.run("exec", rid, "--", "sh", "-c", "kill -TERM $$", who=ALICE)
    assert p.returncode == 128 + signal.SIGTERM
    p = cli.run("exec", rid, "--", "no-such-command-jitsudo", who=ALICE)
    assert p.returncode == 127
    assert p.stderr == "jitsudo: no-such-command-jitsudo: No such file or directory\n"
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    p = cli.run("exec", rid, "--", str(script), who=ALICE)
    assert p.returncode == 126 and "Permission denied" in p.stderr
    # the command's own arguments are not jitsudo's flags
    p = cli.run("exec", rid, "--", "sh", "-c", 'test "$1" = --help', "sh", "--help",
                who=ALICE)
    assert p.returncode == 0, p.stderr
    # stdin and stdout are the command's
    p = cli.run("exec", rid, "--", "cat", input="through\n", who=ALICE)
    assert p.stdout == "through\n"


def test_exec_kubernetes_writes_a_private_kubeconfig_and_removes_it(cli, alice, tmp_path):
    rid = approved(cli, "kubernetes", "view", "team-a")
    issued, _ = credentials(alice, rid)
    check = (
        "import json, os, stat, sys; p = os.environ['KUBECONFIG']; st = os.stat(p); "
        "d = os.stat(os.path.dirname(p)); "
        "json.dump({'path': p, 'mode': stat.S_IMODE(st.st_mode), "
        "'dir_mode': stat.S_IMODE(d.st_mode), 'uid': st.st_uid, 'text': open(p).read(), "
        "'env': dict(os.environ)}, open(sys.argv[1], 'w'))")
    out = tmp_path / "kube.json"
    p = cli.run("exec", rid, "--", "/usr/bin/python3", "-c", check, str(out),
                env={"TMPDIR": str(tmp_path)}, who=ALICE)
    assert p.returncode == 0, p.stderr
    seen = json.loads(out.read_text())
    assert seen["text"] == issued["KUBECONFIG_DATA"]
    assert "kind: Config" in seen["text"] and "namespace: team-a" in seen["text"]
    assert seen["mode"] == 0o600 and seen["dir_mode"] == 0o700 and seen["uid"] == os.getuid()
    assert seen["path"].startswith(str(tmp_path) + "/jitsudo-")
    assert seen["env"]["KUBE_NAMESPACE"] == "team-a"
    assert "KUBECONFIG_DATA" not in seen["env"]
    assert not os.path.exists(seen["path"])
    assert not os.path.exists(os.path.dirname(seen["path"]))
    assert [e for e in os.listdir(tmp_path) if e.startswith("jitsudo-")] == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_kubeconfig_removed_when_jitsudo_is_signalled(cli, tmp_path, sig):
    rid = approved(cli, "kubernetes", "view", "team-b")
    marker = tmp_path / "path"
    script = f'echo "$KUBECONFIG" > {marker}; exec sleep 30'
    p = cli.popen("exec", rid, "--", "sh", "-c", script,
                  env={"TMPDIR": str(tmp_path)}, who=ALICE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    try:
        harness.wait_for(lambda: marker.exists() and marker.read_text().strip(), 10,
                         what="the command to start")
        path = marker.read_text().strip()
        assert os.path.exists(path)
        p.send_signal(sig)
        _, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 128 + sig, err  # the command was ended by the forwarded signal
    assert not os.path.exists(path)
    assert [e for e in os.listdir(tmp_path) if e.startswith("jitsudo-")] == []


def test_exec_refused(cli, alice):
    rid = cli.ok("-q", "request", "--provider", "aws", "--role", "r", "--scope",
                 "123456789012", "--duration", "1h", "--reason", "pending", who=ALICE).strip()
    cli.fails(1, "exec", rid, "--", "true", who=ALICE, contains="PENDING")
    rid = approved(cli)
    cli.fails(1, "exec", rid, "--", "true", who=EVE, contains="not found")
    cli.fails(2, "exec", rid, who=ALICE, contains="--")
    cli.fails(2, "exec", rid, "true", who=ALICE)
    cli.ok("revoke", rid, "--reason", "done", who=ALICE)
    cli.fails(1, "exec", rid, "--", "true", who=ALICE)


# ---- shell ----------------------------------------------------------------------------------

def test_shell_runs_a_scripted_shell_with_the_environment(cli, alice, tmp_path):
    rid = approved(cli)
    out = tmp_path / "env.json"
    shell = tmp_path / "fake-shell"
    shell.write_text(f"#!/usr/bin/python3\n{DUMP_ENV.replace('sys.argv[1]', repr(str(out)))}"
                     .replace("int(sys.argv[2])", "5") + "\n")
    shell.chmod(0o755)
    p = cli.run("shell", rid, env={"SHELL": str(shell), "PS1": "me$ "}, who=ALICE)
    assert p.returncode == 5, p.stderr
    env = json.loads(out.read_text())
    issued, grant = credentials(alice, rid)
    for name, value in issued.items():
        assert env[name] == value
    assert env["JITSUDO_REQUEST_ID"] == rid
    assert env["PS1"] == f"[jitsudo {rid} until {grant['expires_at']}] me$ "


def interact(cli, rid, shell, tmp_path, home_files):
    """Starts jitsudo shell on a terminal; returns (prompt text seen, exit status)."""
    home = tmp_path / "shellhome"
    home.mkdir()
    for name, text in home_files.items():
        (home / name).write_text(text)
    master, slave = pty.openpty()
    env = cli.env(ALICE, {"SHELL": shell, "HOME": str(home), "TERM": "dumb"})
    p = subprocess.Popen([str(JITSUDO), "shell", rid],
                         stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True)
    os.close(slave)
    seen = b""

    def read_until(pattern, timeout):
        nonlocal seen
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, seen):
                return True
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        return re.search(pattern, seen) is not None

    try:
        ok = read_until(rb"mine> ", 15)
        assert ok, seen
        os.write(master, b"echo left-$JITSUDO_REQUEST_ID\n")
        read_until(rb"left-req_", 5)
        os.write(master, b"exit 4\n")
        p.wait(timeout=10)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
    return seen.decode(errors="replace"), p.returncode


@pytest.mark.parametrize("shell,rc_name,rc_text", [
    ("bash", ".bashrc", "PS1='mine> '\n"),
    ("zsh", ".zshrc", "PROMPT='mine> '\n"),
])
def test_shell_prompt_shows_the_marker_and_the_time_left(cli, tmp_path, shell, rc_name,
                                                         rc_text):
    path = shutil.which(shell)
    if not path:
        pytest.skip(f"{shell} is not installed (tools/deps.d/cli.list lists it)")
    rid = approved(cli)
    seen, status = interact(cli, rid, path, tmp_path, {rc_name: rc_text})
    assert status == 4, seen
    m = re.search(rf"\[jitsudo {rid} (\d+h\d+m|\d+m\d+s)\] mine> ", seen)
    assert m, seen
    left = m.group(1)
    assert left in ("1h0m",) or left.startswith("59m"), left
    assert f"left-{rid}" in seen


# ---- a server that cannot be trusted ----------------------------------------------------------

class _FakeGrant(http.server.BaseHTTPRequestHandler):
    credentials = []

    def do_GET(self):
        body = json.dumps({"grant": {"request_id": "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX",
                                     "credentials": self.credentials,
                                     "issued_at": "2026-03-20T16:00:00Z",
                                     "expires_at": "2099-03-20T16:00:00Z"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("name", ["LD_PRELOAD", "PATH", "aws_lower", "AWS_A=B", "BASH_ENV"])
def test_exec_refuses_credentials_outside_the_exported_families(tmp_path, name):
    need_binary()
    handler = type("H", (_FakeGrant,), {"credentials": [
        {"name": "AWS_ACCESS_KEY_ID", "value": "ASIAEXAMPLE"},
        {"name": name, "value": "/tmp/evil"}]})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        c = Cli(None, tmp_path)
        ran = tmp_path / "ran"
        p = c.run("--server", f"http://127.0.0.1:{httpd.server_address[1]}", "--token", "t",
                  "exec", "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX", "--", "touch", str(ran))
        assert p.returncode == 1, p.stderr
        assert "jitsudo does not put into an environment" in p.stderr
        assert not ran.exists()
        assert "/tmp/evil" not in p.stderr
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_text_is_printed_without_control_characters(tmp_path):
    need_binary()

    class Hostile(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"code": "permission_denied",
                               "message": "no\x1b[2J\rhidden\u2192ok"}).encode()
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        c = Cli(None, tmp_path)
        err = c.fails(1, "--server", f"http://127.0.0.1:{httpd.server_address[1]}", "--token",
                      "t", "status", "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX")
        assert err == "jitsudo: refused: no?[2J?hidden\u2192ok\n"
    finally:
        httpd.shutdown()
        httpd.server_close()
