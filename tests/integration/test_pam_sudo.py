# sudo with pam_jitsudo in its auth stack: the real sudo, run by a test user on a pseudo-terminal
# in a private mount namespace (the test's /etc/pam.d and /etc/sudoers.d bind-mounted), a real
# jitsudod and the real agent. The reason is typed at the prompt, the request id appears,
# another process approves through the API and the command sudo runs sees the credentials; a
# denial fails with the approver's reason shown.
import re
import threading

import pytest

import agent_support
import harness
import pam_support as ps

USER = "jitpamsudo1"
REQUEST_ID = re.compile(r"request (\S+) is waiting for approval")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    for path in (ps.PAM_MODULE, agent_support.AGENT_BIN):
        if not path.exists():
            pytest.fail(f"{path} is not built (make)", pytrace=False)
    with ps.world() as w, ps.unix_user(USER, groups=[ps.ELIGIBLE_GROUP]):
        d = tmp_path_factory.mktemp("sudo")
        w.sudoers = ps.sudoers_dir(d / "sudoers.d", USER, nopasswd=["/usr/bin/id"])
        w.sudo_dir = d
        yield w


def pam_dir(w, name, role):
    so, sock = ps.PAM_MODULE, w.socket
    grant = f"provider=aws role={role} scope=123456789012"
    stack = (f"auth     required {so} socket={sock} {grant} duration=10m wait=30s\n"
             f"account  required {so} socket={sock} {grant}\n"
             f"session  required {so} socket={sock} provider=aws role={role} ruser\n"
             "session  required pam_unix.so\n")
    return ps.pam_dir_with(w.sudo_dir / name, "sudo", stack)


def decide_in_background(w, pty_output, decide):
    """Once the request id appears on the terminal, another process (this thread, through the
    API as bob) decides."""
    result = {}

    def run():
        try:
            m = harness.wait_for(lambda: REQUEST_ID.search(pty_output()), 30,
                                 what="the request id on the terminal")
            result["id"] = m.group(1)
            result["answer"] = decide(m.group(1))
        except Exception as e:  # reported by the test
            result["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def test_reason_approval_and_the_command_sees_the_credentials(box):
    w = box
    command = ["sh", "-c", 'env; echo "secret-lines=$(grep -c aws_secret_access_key '
               '"$AWS_SHARED_CREDENTIALS_FILE")"']
    pty = ps.Pty(ps.sudo_argv(USER, pam_dir(w, "pam-approve", "prod-infra-admin"),
                              w.sudoers, command))
    try:
        pty.expect(r"jitsudo: reason for prod-infra-admin on aws 123456789012: ")
        pty.send("INC-4711 restart the payment workers\n")
        t, result = decide_in_background(
            w, lambda: pty.output,
            lambda rid: harness.expect(w.bob.approve(rid, "go ahead"), 200))
        pty.expect(r"is approved\.", timeout=40)
        code = pty.finish()
    finally:
        pty.close()
    t.join(5)
    assert "error" not in result, result
    out = pty.output.replace("\r", "")
    assert code == 0, out
    rid = result["id"]
    env = ps.env_of(out)
    # The command ran as root with the invoking user's credentials.
    assert env.get("USER") == "root" and env.get("SUDO_USER") == USER, out
    assert env["AWS_REGION"] == "us-east-1", out
    assert env["AWS_SHARED_CREDENTIALS_FILE"].endswith("/aws-credentials"), out
    assert "secret-lines=1" in out, out  # the command could read the credentials file
    # The request sudo made is the one approved: typed reason, the user's identity.
    req = harness.expect(w.person(USER).get(rid), 200)["request"]
    assert req["reason"] == "INC-4711 restart the payment workers", req
    assert req["requester_identity"] == f"{USER}@example.com", req
    assert req["state"] == "REQUEST_STATE_ACTIVE", req


def test_denial_fails_with_the_reason_shown(box):
    w = box
    pty = ps.Pty(ps.sudo_argv(USER, pam_dir(w, "pam-deny", "db-admin"), w.sudoers,
                              ["env"]))
    try:
        pty.expect(r"jitsudo: reason for db-admin on aws 123456789012: ")
        pty.send("look at the slow queries\n")
        t, result = decide_in_background(
            w, lambda: pty.output,
            lambda rid: harness.expect(w.bob.deny(rid, "not during the freeze"), 200))
        pty.expect(r"was denied: not during the freeze", timeout=40)
        code = pty.finish()
    finally:
        pty.close()
    t.join(5)
    assert "error" not in result, result
    out = pty.output.replace("\r", "")
    assert code != 0, out
    assert f"jitsudo: request {result['id']} was denied: not during the freeze" in out, out
    assert "AWS_" not in out and "SUDO_COMMAND" not in out, out
    state = harness.expect(w.person(USER).get(result["id"]), 200)["request"]["state"]
    assert state == "REQUEST_STATE_REJECTED"


def test_a_held_grant_passes_without_a_prompt(box):
    w = box
    w.approved(USER, role="read-only")
    pty = ps.Pty(ps.sudo_argv(USER, pam_dir(w, "pam-held", "read-only"), w.sudoers,
                              ["env"]))
    try:
        code = pty.finish()
    finally:
        pty.close()
    assert code == 0, pty.output
    assert "reason for" not in pty.output
    assert "AWS_SHARED_CREDENTIALS_FILE=" in pty.output, pty.output


def test_nopasswd_is_still_gated_by_the_account_stage(box):
    """sudo -n with a NOPASSWD rule runs no auth stack: the account line refuses it until the
    user holds the grant."""
    w = box
    pamdir = pam_dir(w, "pam-nopasswd", "nopasswd-role")
    argv = ps.sudo_argv(USER, pamdir, w.sudoers, ["-n", "/usr/bin/id"])
    r = ps.subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "uid=0" not in r.stdout, (r.stdout, r.stderr)
    assert "account" in r.stderr.lower(), r.stderr
    w.approved(USER, role="nopasswd-role")
    r = ps.subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("uid=0(root)"), (r.stdout, r.stderr)
