# jitsudo-agent with a real jitsudod: the PAM verbs end to end (ensure, approval through the
# API, wait, session open with the AWS variables and a 0600 kubeconfig in a 0700 directory
# owned by the user, expiry removing the files on time, also across a restart), SO_PEERCRED on
# both sockets with real local users, jitsudod down, malformed frames, socket activation.
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import harness
from harness import expect
import agent_support as ag

USERS = ("jitagt_a", "jitagt_b")
GROUP = "sre"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def local_users():
    created_group = subprocess.run(["getent", "group", GROUP],
                                   capture_output=True).returncode != 0
    if created_group:
        subprocess.run(["groupadd", GROUP], check=True)
    for u in USERS:
        subprocess.run(["userdel", "-r", u], capture_output=True)
        subprocess.run(["useradd", "-M", "-G", GROUP, "-s", "/bin/sh", u], check=True)
    yield {u: int(subprocess.run(["id", "-u", u], capture_output=True, text=True,
                                 check=True).stdout) for u in USERS}
    for u in USERS:
        subprocess.run(["userdel", u], capture_output=True)
    if created_group:
        subprocess.run(["groupdel", GROUP], capture_output=True)


@pytest.fixture
def env(make_server, local_users):
    # World-traversable, so that the test users reach user.sock.
    root = Path(tempfile.mkdtemp(prefix="jitagent-"))
    os.chmod(root, 0o755)
    agent = ag.Agent(root)
    server = make_server(ag.host_settings(root))
    agent.server_url = server.url
    agent.write_config()
    agent.start()
    yield server, agent, local_users
    code = agent.stop()
    log = agent.log()
    shutil.rmtree(root, ignore_errors=True)
    assert code == 0, f"agent exited {code}:\n{log[-3000:]}"


def ensure(c, user, role="prod-infra-admin", provider="aws", duration=3600, lookup=False,
           scope="123456789012"):
    fields = [(ag.T_USER, user), (ag.T_PROVIDER, provider), (ag.T_ROLE, role),
              (ag.T_SCOPE, scope), (ag.T_DURATION, duration), (ag.T_REASON, "agent test")]
    if lookup:
        fields.append((ag.T_LOOKUP, 1))
    return c.call(ag.GRANT_ENSURE, fields)


def wait(c, user, rid, ms=5000):
    return c.call(ag.GRANT_WAIT, [(ag.T_USER, user), (ag.T_REQUEST_ID, rid), (ag.T_TIMEOUT, ms)])


def open_session(c, user, session, **filters):
    fields = [(ag.T_USER, user), (ag.T_SESSION, session)]
    fields += [({"provider": ag.T_PROVIDER, "role": ag.T_ROLE}[k], v) for k, v in filters.items()]
    return c.call(ag.SESSION_OPEN, fields)


def granted(server, agent, user, role="prod-infra-admin", provider="aws", duration=3600,
            scope="123456789012"):
    """A grant of `user` through the agent, approved by bob through the API."""
    c = agent.pam()
    r = ensure(c, user, role, provider, duration, scope=scope)
    assert r.type == ag.GRANT_STATE and r.get(ag.T_STATE) == "PENDING", r
    rid = r.get(ag.T_REQUEST_ID)
    bob = server.client(harness.BOB)
    expect(bob.approve(rid), 200)
    r = wait(c, user, rid)
    assert r.type == ag.GRANT_STATE and r.get(ag.T_STATE) == "APPROVED", r
    c.close()
    return rid


def test_pam_flow_end_to_end(env):
    server, agent, uids = env
    user, uid = "jitagt_a", uids["jitagt_a"]
    c = agent.pam()
    # Nothing held yet: a lookup finds nothing.
    r = ensure(c, user, lookup=True)
    assert r.type == ag.ERROR and r.get(ag.T_CODE) == ag.E_NOT_FOUND, r
    rid = granted(server, agent, user)
    req = expect(server.client(harness.ADMIN).get(rid), 200)["request"]
    assert req["requester_identity"] == "jitagt_a@example.com" and req["host"] == "jump1"
    # Now the lookup finds it, and a second ensure does not create another request.
    r = ensure(c, user, lookup=True)
    assert r.get(ag.T_REQUEST_ID) == rid, r
    assert ensure(c, user).get(ag.T_REQUEST_ID) == rid
    k8s = granted(server, agent, user, role="ns-admin", provider="kubernetes", scope="team-a")

    r = open_session(c, user, "ssh-1")
    assert r.type == ag.SESSION_ENV, r
    e = r.env()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "KUBECONFIG"):
        assert name in e, (name, e)
    d = Path(r.get(ag.T_DIR))
    assert d == agent.runtime / str(uid) / "ssh-1"
    st = d.stat()
    assert (st.st_uid, st.st_mode & 0o777) == (uid, 0o700)
    kube = Path(e["KUBECONFIG"])
    assert kube.parent == d
    kst = kube.stat()
    assert (kst.st_uid, kst.st_mode & 0o777) == (uid, 0o600)
    assert "current-context: jitsudo" in kube.read_text()
    assert Path(e["AWS_SHARED_CREDENTIALS_FILE"]).read_text().count(e["AWS_ACCESS_KEY_ID"]) == 1
    # Both requests are ACTIVE now, through the host.
    assert server.client(harness.ADMIN).state(rid) == "REQUEST_STATE_ACTIVE"
    assert server.client(harness.ADMIN).state(k8s) == "REQUEST_STATE_ACTIVE"
    # A filter keeps only the named provider.
    r = open_session(c, user, "ssh-2", provider="kubernetes")
    assert "KUBECONFIG" in r.env() and "AWS_ACCESS_KEY_ID" not in r.env()
    # Close removes the directory.
    r = c.call(ag.SESSION_CLOSE, [(ag.T_USER, user), (ag.T_SESSION, "ssh-2")])
    assert r.type == ag.OK
    assert not (agent.runtime / str(uid) / "ssh-2").exists()
    # A session id that is not a plain name is refused.
    r = open_session(c, user, "../x")
    assert r.type == ag.ERROR and r.get(ag.T_CODE) == ag.E_BAD


def test_expiry_removes_the_files_on_time(env):
    server, agent, uids = env
    user, uid = "jitagt_a", uids["jitagt_a"]
    granted(server, agent, user, duration=3)
    c = agent.pam()
    r = open_session(c, user, "short")
    assert r.type == ag.SESSION_ENV and r.get(ag.T_DIR), r
    d = Path(r.get(ag.T_DIR))
    assert d.exists()
    ag.wait_until(lambda: not d.exists(), 6, "the session directory to go at expiry")
    # A new session gets nothing.
    r = open_session(c, user, "after")
    assert r.type == ag.SESSION_ENV and not r.all(ag.T_ENV), r


def test_expiry_across_a_restart(env):
    server, agent, uids = env
    user = "jitagt_a"
    granted(server, agent, user, duration=4)
    r = open_session(agent.pam(), user, "restart")
    d = Path(r.get(ag.T_DIR))
    state = json.loads((agent.state / "state.json").read_text())
    assert any(s["id"] == "restart" for s in state["sessions"])
    assert "AWS_SECRET" not in (agent.state / "state.json").read_text()
    assert agent.stop() == 0
    agent.start()
    assert d.exists()
    ag.wait_until(lambda: not d.exists(), 7, "removal at expiry after a restart")
    # Expired while the agent was down: removed at start.
    granted(server, agent, user, duration=2)
    d2 = Path(open_session(agent.pam(), user, "down").get(ag.T_DIR))
    assert agent.stop() == 0
    time.sleep(3)
    assert d2.exists()
    agent.start()
    ag.wait_until(lambda: not d2.exists(), 2, "removal of what expired while down")


def test_each_grant_goes_at_its_own_expiry(env):
    """A session holding a short AWS grant and a long Kubernetes grant: the AWS files go at the
    AWS grant's expiry (also across a restart), the kubeconfig and the directory stay, a later
    session shows only the live grant, and the directory goes with the last grant."""
    server, agent, uids = env
    user = "jitagt_a"
    granted(server, agent, user, duration=5)
    k8s = granted(server, agent, user, role="ns-admin", provider="kubernetes", scope="team-a")
    r = open_session(agent.pam(), user, "two")
    e = r.env()
    d = Path(r.get(ag.T_DIR))
    aws_files = [d / "aws-credentials", d / "aws-config"]
    assert all(f.exists() for f in aws_files) and (d / "kubeconfig").exists(), e
    assert "AWS_ACCESS_KEY_ID" in e and "KUBECONFIG" in e
    state = json.loads((agent.state / "state.json").read_text())
    [rec] = [s for s in state["sessions"] if s["id"] == "two"]
    assert len({g["expires_at"] for g in rec["grants"]}) == 2, rec
    # Restarted in between: the per-grant expiries come back from state.json.
    assert agent.stop() == 0
    agent.start()
    ag.wait_until(lambda: not any(f.exists() for f in aws_files), 9,
                  "the AWS files to go at the AWS grant's expiry")
    assert (d / "kubeconfig").exists() and d.is_dir()
    r = open_session(agent.pam(), user, "later")
    e = r.env()
    assert "KUBECONFIG" in e and not any(k.startswith("AWS_") for k in e), e
    assert not (Path(r.get(ag.T_DIR)) / "aws-credentials").exists()
    # The last grant dropped: the directories go.
    assert as_user(user, "drop", agent.user_sock, k8s)["reply"][0] == ag.OK
    assert not d.exists() and not Path(r.get(ag.T_DIR)).exists()


@pytest.mark.parametrize("text,line,message", [
    ("server:\n  url: http://127.0.0.1:1\n  timout: 5s\nhost:\n  name: j\n", 3,
     "server.timout: unknown key"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\ndeadlines:\n  idle: forever\n",
     6, "deadlines.idle: invalid duration"),
    ("server:\n  url: http://127.0.0.1:1\n  url: http://127.0.0.1:2\nhost:\n  name: j\n", 3,
     "server.url: given twice (first on line 2)"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\ninjection:\n\n"
     "  aws_files: maybe\n", 7, "injection.aws_files: must be true or false"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nlimits:\n"
     "  max_connections: 0\n", 6, "limits.max_connections: an integer from 1 to 4096"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nidentity:\n"
     "  template: alice\n", 6, "identity.template: must contain {user}"),
    ("server:\n  url: [http://127.0.0.1:1\n", 3, "did not find expected"),
])
def test_config_errors_name_the_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "agent.yaml"
    path.write_text(text)
    p = subprocess.run([str(ag.AGENT_BIN), "--config", str(path), "--listen-pam",
                        str(tmp_path / "a.sock"), "--listen-user", str(tmp_path / "u.sock")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p
    assert f"{path}:{line}:" in p.stderr and message in p.stderr, p.stderr
    assert not (tmp_path / "a.sock").exists()


def test_the_call_helper_is_required(tmp_path):
    """Without jitsudo-agent-call next to it, the agent refuses to start and says why; with a
    host key others may read, the helper's check stops it too."""
    alone = tmp_path / "bin"
    alone.mkdir()
    shutil.copy(ag.AGENT_BIN, alone / "jitsudo-agent")
    agent = ag.Agent(tmp_path / "a", server_url="http://127.0.0.1:1")
    agent.write_config()
    argv = ["--config", str(agent.config_path), "--listen-pam", str(tmp_path / "p.sock"),
            "--listen-user", str(tmp_path / "u.sock")]
    p = subprocess.run([str(alone / "jitsudo-agent"), *argv], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 1 and "jitsudo-agent-call" in p.stderr, p
    os.chmod(agent.key, 0o644)
    p = subprocess.run([str(ag.AGENT_BIN), *argv], capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "readable by group or others" in p.stderr, p
    assert not (tmp_path / "p.sock").exists()


CLIENT = """
import sys, json
sys.path.insert(0, {here!r})
import agent_support as ag
verb, path = sys.argv[1], sys.argv[2]
out = {{}}
try:
    c = ag.AgentClient(path, hello=False)
    r = c.call(ag.HELLO, [(ag.T_VMIN, 1), (ag.T_VMAX, 1)], rid=0)
    out["hello"] = [r.type, r.get(ag.T_CODE)]
    if r.type == ag.HELLO:
        if verb == "grants":
            r = c.call(ag.MY_GRANTS)
            out["grants"] = [g.get(ag.T_REQUEST_ID) for g in r.all(ag.T_GRANT)]
        elif verb in ("creds", "drop"):
            r = c.call(ag.MY_CREDENTIALS if verb == "creds" else ag.DROP_GRANT,
                       [(ag.T_REQUEST_ID, sys.argv[3])])
            out["reply"] = [r.type, r.get(ag.T_CODE), r.env() if r.type == ag.CREDENTIALS else {{}}]
        elif verb == "ensure":
            r = c.call(ag.GRANT_ENSURE, [(ag.T_USER, "jitagt_b"), (ag.T_PROVIDER, "aws"),
                                         (ag.T_ROLE, "x")])
            out["reply"] = [r.type, r.get(ag.T_CODE)]
except OSError as e:
    out["oserror"] = e.errno
print(json.dumps(out))
"""


def as_user(user, *args):
    p = ag.run_as(user, [sys.executable, "-c", CLIENT.format(here=str(HERE)), *map(str, args)])
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_a_non_root_process_cannot_use_the_pam_socket(env):
    server, agent, uids = env
    out = as_user("jitagt_a", "ensure", agent.pam_sock)
    assert out.get("oserror") == 13, out  # the socket is 0600 root
    # Even through an opened-up socket file, the agent checks the peer.
    os.chmod(agent.pam_sock, 0o666)
    out = as_user("jitagt_a", "ensure", agent.pam_sock)
    assert out["hello"] == [ag.ERROR, ag.E_FORBIDDEN], out
    # A PAM verb on the user socket is refused.
    out = as_user("jitagt_a", "ensure", agent.user_sock)
    assert out["reply"] == [ag.ERROR, ag.E_FORBIDDEN], out


def test_one_user_cannot_see_or_drop_another_users_grant(env):
    server, agent, uids = env
    rid = granted(server, agent, "jitagt_a")
    assert as_user("jitagt_a", "grants", agent.user_sock)["grants"] == [rid]
    assert as_user("jitagt_b", "grants", agent.user_sock)["grants"] == []
    for verb in ("creds", "drop"):
        out = as_user("jitagt_b", verb, agent.user_sock, rid)
        assert out["reply"][:2] == [ag.ERROR, ag.E_NOT_FOUND], out
    out = as_user("jitagt_a", "creds", agent.user_sock, rid)
    assert out["reply"][0] == ag.CREDENTIALS and "AWS_ACCESS_KEY_ID" in out["reply"][2]
    assert server.client(harness.ADMIN).state(rid) == "REQUEST_STATE_ACTIVE"
    out = as_user("jitagt_a", "drop", agent.user_sock, rid)
    assert out["reply"][0] == ag.OK, out
    assert server.client(harness.ADMIN).state(rid) == "REQUEST_STATE_REVOKED"


def test_server_down(env):
    server, agent, uids = env
    user = "jitagt_a"
    granted(server, agent, user)
    c = agent.pam()
    assert open_session(c, user, "before").env().get("AWS_ACCESS_KEY_ID")
    server.stop()
    t0 = time.monotonic()
    r = ensure(c, user, role="another-role")
    assert r.type == ag.ERROR and r.get(ag.T_CODE) == ag.E_UNREACHABLE, r
    assert "unreachable" in r.get(ag.T_MESSAGE)
    assert time.monotonic() - t0 < 6
    # The grant already held keeps working.
    r = open_session(c, user, "during")
    assert r.type == ag.SESSION_ENV and r.env().get("AWS_ACCESS_KEY_ID"), r
    r = ensure(c, user, lookup=True)
    assert r.type == ag.GRANT_STATE, r


def test_malformed_frames(env):
    server, agent, uids = env
    # Not HELLO first.
    c = agent.pam(hello=False)
    r = c.call(ag.MY_GRANTS)
    assert r.type == ag.ERROR and r.get(ag.T_CODE) == ag.E_BAD
    assert c.recv() is None
    # No common version.
    c = agent.pam(hello=False)
    r = c.call(ag.HELLO, [(ag.T_VMIN, 7), (ag.T_VMAX, 9)], rid=0)
    assert r.type == ag.ERROR and r.get(ag.T_CODE) == 8
    # Oversized and zero lengths: closed without an answer.
    for prefix in (struct.pack(">I", 65537), struct.pack(">I", 0)):
        c = agent.pam()
        c.send_raw(prefix + b"x" * 16)
        assert c.recv() is None
    # A malformed body after the handshake: ERROR, then closed.
    c = agent.pam()
    c.send_raw(ag.frame(ag.GRANT_ENSURE, 77, [(ag.T_USER, "jitagt_a")]))
    r = c.recv()
    assert r.type == ag.ERROR and r.id == 77 and r.get(ag.T_CODE) == ag.E_BAD
    assert c.recv() is None
    # Still serving.
    c = agent.user()
    assert c.call(ag.MY_GRANTS).type == ag.GRANT_LIST


def test_concurrent_clients_do_not_block_each_other(env):
    server, agent, uids = env
    c = agent.pam()
    r = ensure(c, "jitagt_a", role="slow-role")
    rid = r.get(ag.T_REQUEST_ID)
    waiter = agent.pam()
    waiter.sock.sendall(ag.frame(ag.GRANT_WAIT, 5, [(ag.T_USER, "jitagt_a"),
                                                    (ag.T_REQUEST_ID, rid),
                                                    (ag.T_TIMEOUT, 3000)]))
    t0 = time.monotonic()
    assert agent.user().call(ag.MY_GRANTS).type == ag.GRANT_LIST
    assert time.monotonic() - t0 < 1
    r = waiter.recv()
    assert r.get(ag.T_STATE) == "PENDING" and time.monotonic() - t0 >= 2.5, r


def test_socket_activation(make_server, local_users):
    root = Path(tempfile.mkdtemp(prefix="jitagent-"))
    try:
        agent = ag.Agent(root)
        server = make_server(ag.host_settings(root))
        agent.server_url = server.url
        agent.write_config()
        agent.start(activation=True)
        assert agent.pam().call(ag.MY_GRANTS).type == ag.GRANT_LIST
        assert agent.user().call(ag.MY_GRANTS).type == ag.GRANT_LIST
        assert agent.stop() == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
