# An SSH jump host: a real sshd (UsePAM, public keys) on a loopback port, its PAM stack
# bind-mounted over /etc/pam.d/sshd in a private mount namespace, a real jitsudod and the real
# agent as root. With an approved grant a login gets the credentials (files only its user can
# read); without one the account gate refuses it with a message; at expiry the session files go
# and a new session gets nothing.
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

import agent_support
import harness
import pam_support as ps

GATED = "jitpamssh1"  # the account gate applies
UNGATED = "jitpamssh2"  # in jitpamnogate: the gate is skipped, the session still injects
GRANT = "provider=aws role=prod-infra-admin scope=123456789012"


@pytest.fixture(scope="module")
def jump(tmp_path_factory):
    for path in (ps.PAM_MODULE, agent_support.AGENT_BIN):
        if not path.exists():
            pytest.fail(f"{path} is not built (make)", pytrace=False)
    with ps.world() as w, \
            ps.unix_user(GATED, groups=[ps.ELIGIBLE_GROUP]) as gated, \
            ps.unix_user(UNGATED, groups=[ps.ELIGIBLE_GROUP, "jitpamnogate"]) as ungated:
        so, sock = ps.PAM_MODULE, w.socket
        stack = (
            "account [success=1 default=ignore] pam_succeed_if.so quiet user ingroup "
            "jitpamnogate\n"
            f"account required {so} socket={sock} {GRANT}\n"
            "account required pam_unix.so\n"
            f"session required {so} socket={sock}\n"
            "session required pam_unix.so\n")
        with ps.sshd(tmp_path_factory.mktemp("sshd"), stack) as sshd:
            sshd.authorize(gated)
            sshd.authorize(ungated)
            sshd.world = w
            w.sshds.append(sshd)
            yield sshd


def session_files_ok(path, user):
    """The file exists, belongs to `user`, mode 0600, in a 0700 directory of the user."""
    st = os.stat(path)
    dst = os.stat(os.path.dirname(path))
    assert st.st_uid == user.pw_uid and stat.S_IMODE(st.st_mode) == 0o600, (path, st)
    assert dst.st_uid == user.pw_uid and stat.S_IMODE(dst.st_mode) == 0o700, (path, dst)


def test_without_a_grant_the_gate_refuses_with_a_message(jump):
    r = jump.ssh(GATED, "echo logged-in")
    assert r.returncode == 255, (r.stdout, r.stderr)
    assert "logged-in" not in r.stdout
    assert ("jitsudo: access refused: no active grant. Ask for it with: jitsudo request "
            "--provider aws --role prod-infra-admin --scope 123456789012") in r.stderr, r.stderr
    assert "Access denied for user jitpamssh1 by PAM account configuration" in jump.log()


class OpenSession:
    """An ssh session kept open: its environment is read, then it sleeps until closed."""

    def __init__(self, jump, user):
        argv = jump.ssh_argv(user, "env; echo __READY__; exec sleep 120")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        lines = []
        for line in self.proc.stdout:
            if line.strip() == "__READY__":
                break
            lines.append(line)
        else:
            err = self.proc.stderr.read()
            ps.kill_tree(self.proc)
            raise AssertionError(f"the session did not open: {lines} {err}")
        self.env = ps.env_of("".join(lines))

    def close(self):
        ps.kill_tree(self.proc)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def test_with_an_approved_grant_the_session_has_the_credentials(jump):
    w = jump.world
    aws = w.approved(GATED)
    kube = w.approved(GATED, provider="kubernetes", role="edit", resource_scope="payments")
    user = ps.pwd.getpwnam(GATED)
    session = OpenSession(jump, GATED)
    try:
        env = session.env
        assert env["AWS_REGION"] == "us-east-1"
        for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "KUBECONFIG"):
            assert name in env, env
            session_files_ok(env[name], user)
        assert env["KUBE_NAMESPACE"] == "payments"
        assert Path(env["KUBECONFIG"]).name == "kubeconfig"
        # The files hold the grants' credentials, as jitsudod issued them.
        person = w.person(GATED)
        key_id = creds_value(harness.expect(person.credentials(aws["id"]), 200),
                             "AWS_ACCESS_KEY_ID")
        assert key_id and key_id in Path(env["AWS_SHARED_CREDENTIALS_FILE"]).read_text()
        assert env["AWS_ACCESS_KEY_ID"] == key_id  # the agent exports the keys by default
        kubeconfig = creds_value(harness.expect(person.credentials(kube["id"]), 200),
                                 "KUBECONFIG_DATA")
        assert Path(env["KUBECONFIG"]).read_text() == kubeconfig
        # Readable by that user in a session, by no other user.
        r = jump.ssh(GATED, 'cat "$KUBECONFIG" >/dev/null && grep -c aws_secret_access_key '
                     '"$AWS_SHARED_CREDENTIALS_FILE"')
        assert r.returncode == 0 and r.stdout.strip() == "1", (r.stdout, r.stderr)
        other = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                "--clear-groups", "cat", env["KUBECONFIG"]],
                               capture_output=True, text=True)
        assert other.returncode != 0 and "Permission denied" in other.stderr, other
    finally:
        session.close()
    # Closing the session tells the agent, which removes its files (best effort, at once).
    session_dir = Path(env["KUBECONFIG"]).parent
    harness.wait_for(lambda: not session_dir.exists(), 10, interval=0.1,
                     what="the closed session's directory to be removed")


def creds_value(body, name):
    """A credential's value from GET /requests/{id}/credentials, whatever its shape."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("name") == name and "value" in node:
                found.append(node["value"])
            for k, v in node.items():
                if k == name and isinstance(v, str):
                    found.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(body)
    return found[0] if found else None


def test_at_expiry_the_files_go_and_a_new_session_gets_nothing(jump):
    w = jump.world
    user = ps.pwd.getpwnam(UNGATED)
    w.approved(UNGATED, duration_seconds=6)
    # A session that stays open past the expiry.
    session = OpenSession(jump, UNGATED)
    try:
        path = Path(session.env["AWS_SHARED_CREDENTIALS_FILE"])
        session_files_ok(path, user)
        harness.wait_for(lambda: not path.parent.exists(), 20, interval=0.2,
                         what="the expired session's directory to be removed")
        assert session.proc.poll() is None  # removed by the agent's timer, not by a close
    finally:
        session.close()
    # A new session: the login works (no gate for this user) but nothing is injected.
    r = jump.ssh(UNGATED, "env")
    assert r.returncode == 0, (r.stdout, r.stderr)
    env = ps.env_of(r.stdout)
    assert not [n for n in env if n.startswith("AWS_") or n.startswith("KUBE")], env


def test_the_agent_down_refuses_the_gated_login(jump):
    w = jump.world
    w.agent.stop()
    try:
        t0 = time.monotonic()
        r = jump.ssh(GATED, "echo logged-in")
        assert r.returncode == 255 and "logged-in" not in r.stdout, (r.stdout, r.stderr)
        assert "jitsudo: the jitsudo agent is not available" in r.stderr, r.stderr
        assert time.monotonic() - t0 < 10
    finally:
        w.agent.start()


def test_approval_at_login_through_keyboard_interactive(jump, tmp_path):
    """publickey,keyboard-interactive: sshd runs the auth stack; the reason is typed at the
    prompt, an approver decides through the API while the login waits, and the session then
    has the credentials."""
    w = jump.world
    user = ps.pwd.getpwnam(GATED)
    so, sock = ps.PAM_MODULE, w.socket
    grant = "provider=aws role=login-role scope=123456789012"
    stack = (f"auth     required {so} socket={sock} {grant} wait=20s\n"
             "account  required pam_unix.so\n"
             f"session  required {so} socket={sock} provider=aws role=login-role\n"
             "session  required pam_unix.so\n")
    extra = ("KbdInteractiveAuthentication yes\n"
             "AuthenticationMethods publickey,keyboard-interactive:pam\n")
    with ps.sshd(tmp_path / "sshd-kbd", stack, extra) as kbd:
        kbd.authorize(user)
        pty = ps.Pty(kbd.ssh_argv(GATED, "env", batch=False))
        person = w.person(GATED)

        def pending():
            body = harness.expect(person.list(mine="true", state="REQUEST_STATE_PENDING"), 200)
            return [q for q in body["requests"] if q["role"] == "login-role"]

        try:
            pty.expect(r"jitsudo: reason for login-role on aws 123456789012: ", timeout=30)
            pty.send("deploy the hotfix\n")
            req = harness.wait_for(pending, 20, what="the request made at login")[0]
            assert req["reason"] == "deploy the hotfix", req
            harness.expect(w.bob.approve(req["id"], "ok"), 200)
            code = pty.finish(timeout=40)
        finally:
            pty.close()
        out = pty.output.replace("\r", "")
        assert code == 0, (out, kbd.log())
        env = ps.env_of(out)
        assert env["AWS_SHARED_CREDENTIALS_FILE"].endswith("/aws-credentials"), out
