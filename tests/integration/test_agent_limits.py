# What one local user can take from jitsudo-agent, with the real agent, a real jitsudod and real
# unprivileged users: connections to user.sock held open by one uid (or filling user.sock) never
# change what the PAM socket answers (a grant holder is let in, anyone else refused, also under
# the `authinfo_unavail=ignore` stack); one uid gets at most limits.max_user_connections_per_uid
# connections, the rest an ERROR naming the limit; MY_CREDENTIALS with made-up ids reaches
# jitsudod at the rate of limits.user_server_calls_* (counted by a proxy in front of jitsudod);
# refusal log lines come at most once a second per reason, with the count of those held back.
import re
import time

import pytest

import agent_support as ag
import pam_support as ps
from pam_support import PAM_PERM_DENIED, PAM_SUCCESS

SERVICE = "jitlimits"
GRANT = ("provider=aws", "role=prod-infra-admin", "scope=123456789012")
ATTACKER = "jitlim_att"  # no groups: eligible for nothing, holds nothing
HOLDER = "jitlim_hold"  # holds the grant
OTHER = "jitlim_none"  # eligible, holds nothing
# The agent's defaults (docs/agent.md).
PER_UID = 8
BURST, PER_MINUTE = 10, 30


@pytest.fixture(scope="module")
def users():
    with ps.unix_user(ATTACKER), ps.unix_user(HOLDER, groups=[ps.ELIGIBLE_GROUP]), \
            ps.unix_user(OTHER, groups=[ps.ELIGIBLE_GROUP]):
        yield


def started_world(agent_settings=None):
    """A World whose agent reaches jitsudod through a counting proxy."""
    w = ps.World(agent_settings)
    w.proxy = ag.CountingProxy(w.server.url)
    w.agent.server_url = w.proxy.url
    try:
        w.start()
    except BaseException:
        w.cleanup()
        w.proxy.stop()
        raise
    return w


def finish_world(w):
    """Stops the world; the agent must have exited 0 on SIGTERM (no crash, no sanitizer
    report)."""
    codes = w.stop()
    log = w.agent.log()
    w.cleanup()
    w.proxy.stop()
    assert codes.get("Agent") == 0, f"jitsudo-agent exited {codes}:\n{log[-3000:]}"


@pytest.fixture(scope="module")
def world(users):
    w = started_world()
    w.grant = w.approved(HOLDER)["id"]
    yield w
    finish_world(w)


def account(tmp_path, w, user, control="required", permit_after=False):
    lines = [ps.module_line("account", w.socket, *GRANT, "timeout=5s", control=control)]
    if permit_after:  # the rest of a real stack (common-account) that lets the user in
        lines.append("account required pam_permit.so")
    conf = ps.write_service(tmp_path / f"pam-{user}-{len(lines)}-{control[:4]}", SERVICE, lines)
    return ps.run_driver(conf, SERVICE, user, ["account"])


AVAILABILITY = "[success=ok authinfo_unavail=ignore default=bad]"


def assert_gate_answers(tmp_path, w):
    """The PAM gate as if nobody were loading the user socket."""
    r = account(tmp_path, w, HOLDER)
    assert r.results.get("account") == PAM_SUCCESS, (r, w.logs())
    r = account(tmp_path, w, OTHER)
    assert r.results.get("account") == PAM_PERM_DENIED, (r, w.logs())
    r = account(tmp_path, w, OTHER, control=AVAILABILITY, permit_after=True)
    assert r.results.get("account") == PAM_PERM_DENIED, (r, w.logs())
    # Several PAM connections at once, each a slot of the PAM socket's own.
    clients = [w.agent.pam() for _ in range(4)]
    for c in clients:
        r = c.call(ag.GRANT_ENSURE, [(ag.T_USER, HOLDER), (ag.T_PROVIDER, "aws"),
                                     (ag.T_ROLE, "prod-infra-admin"),
                                     (ag.T_SCOPE, "123456789012"), (ag.T_LOOKUP, 1)])
        assert r.type == ag.GRANT_STATE and r.get(ag.T_STATE) in ("APPROVED", "ACTIVE"), r
        c.close()


def test_made_up_ids_reach_jitsudod_at_the_metered_rate(tmp_path, world):
    """MY_CREDENTIALS with unknown ids costs a refresh of the caller's grants each: at most
    limits.user_server_calls_burst of them at once, then limits.user_server_calls_per_minute,
    per uid. Past that the answer is an ERROR with a retry time, not a call to jitsudod."""
    w = world
    seconds = 3.0
    load = ag.UserLoad(ATTACKER, "creds-flood", w.agent.user_sock, seconds, 4)
    t0 = time.monotonic()
    before = w.proxy.count()
    # Meanwhile a grant holder gets their credentials and PAM its answers.
    try:
        creds = ag.UserLoad(HOLDER, "creds", w.agent.user_sock, w.grant).finish()
        assert creds["type"] == ag.CREDENTIALS and "AWS_ACCESS_KEY_ID" in creds["env"], creds
        assert_gate_answers(tmp_path, w)
        out = load.finish(timeout=seconds + 20)
    finally:
        load.kill()
    elapsed = time.monotonic() - t0
    calls = w.proxy.count(since=t0)
    replies, messages = out["replies"], out["messages"]
    refused = replies.get(f"{ag.ERROR}/{ag.E_INTERNAL}", 0)
    not_found = replies.get(f"{ag.ERROR}/{ag.E_NOT_FOUND}", 0)
    print(f"\nmade-up ids: {sum(replies.values())} requests in {seconds}s, {not_found} sent on "
          f"(not found), {refused} refused; jitsudod saw {calls} calls "
          f"({calls / elapsed:.1f}/s) of which the PAM checks and the holder made some "
          f"({before} before)")
    # One refresh is three lists; the checks of the gate above add their own.
    tokens = BURST + PER_MINUTE / 60 * elapsed + 1
    assert not_found <= tokens, out
    assert refused > 0, out
    assert "limits.user_server_calls_per_minute" in messages[f"{ag.ERROR}/{ag.E_INTERNAL}"]
    assert "try again in" in messages[f"{ag.ERROR}/{ag.E_INTERNAL}"]
    assert calls <= 3 * tokens + 40, (calls, out)
    # The attacker's own cached list still answers (no call needed), and another uid's
    # bucket is its own.
    assert ag.UserLoad(ATTACKER, "hold", w.agent.user_sock, 1, 1.0).finish()["alive"] == 1
    log = w.agent.log()
    assert "not sent on to jitsudod" in log, log[-3000:]


def test_one_uid_holding_user_sock_open_leaves_pam_alone(tmp_path, world):
    """The report's attack with the defaults: 64 connections from one uid with no groups,
    kept alive with MY_GRANTS. It gets limits.max_user_connections_per_uid of them; PAM
    answers as before, throughout."""
    w = world
    load = ag.UserLoad(ATTACKER, "hold", w.agent.user_sock, 64, 1.0)
    try:
        first = load.first
        assert_gate_answers(tmp_path, w)
        assert first["accepted"] == PER_UID and not first["errors"], first
        assert len(first["refused"]) == 64 - PER_UID, first
        for code, message, closed in first["refused"]:
            assert code == ag.E_INTERNAL and closed, first
            assert "limits.max_user_connections_per_uid" in message, message
        # Another uid still gets user.sock.
        out = ag.UserLoad(HOLDER, "hold", w.agent.user_sock, 1, 1.0)
        assert out.first["accepted"] == 1, out.first
        assert out.finish() == {"alive": 1, "lost": 0}
        last = load.finish()
    finally:
        load.kill()
    assert last == {"alive": PER_UID, "lost": 0}, last  # the attacker's held out throughout


@pytest.fixture
def full_world(users):
    """One uid may fill all of user.sock: the PAM socket's pool is apart from it."""
    w = started_world({"limits.max_user_connections": 16,
                       "limits.max_user_connections_per_uid": 16,
                       "limits.max_pam_connections": 8})
    w.approved(HOLDER)
    yield w
    finish_world(w)


def test_a_full_user_sock_takes_no_pam_slot(tmp_path, full_world):
    w = full_world
    load = ag.UserLoad(ATTACKER, "hold", w.agent.user_sock, 20, 1.0)
    try:
        first = load.first
        assert_gate_answers(tmp_path, w)
        assert first["accepted"] == 16 and len(first["refused"]) == 4, first
        assert all("limits.max_user_connections" in m and "per_uid" not in m
                   for _, m, _ in first["refused"]), first
        # user.sock is full for everyone now ...
        other = ag.UserLoad(HOLDER, "hold", w.agent.user_sock, 1, 1.0)
        assert other.first["accepted"] == 0, other.first
        [[code, message, _]] = other.first["refused"]
        assert code == ag.E_INTERNAL and "user.sock serves 16 connections" in message
        other.finish()
        # ... and agent.sock still answers as if it were not.
        assert_gate_answers(tmp_path, w)
        last = load.finish()
    finally:
        load.kill()
    assert last == {"alive": 16, "lost": 0}, last
    # Once the load is gone, user.sock serves again.
    assert w.agent.user().call(ag.MY_GRANTS).type == ag.GRANT_LIST


def count_refusals(text, key):
    """(refusal lines written, refusals they say were held back) of the limit `key`."""
    written = held = 0
    for line in text.splitlines():
        if key not in line:
            continue
        m = re.search(r"(\d+) more refusals not logged", line)
        if m:
            held += int(m.group(1))
        if "refused a connection" in line:
            written += 1
    return written, held


def test_refusal_lines_are_rate_limited(tmp_path, world):
    w = world
    key = "limits.max_user_connections_per_uid"
    offset = len(w.agent.log())
    attempts = 150
    t0 = time.monotonic()
    load = ag.UserLoad(ATTACKER, "hold", w.agent.user_sock, PER_UID + attempts, 5.0)
    try:
        assert load.first["accepted"] == PER_UID, load.first
        assert len(load.first["refused"]) == attempts, load.first
        elapsed = time.monotonic() - t0
        # The count of what was held back comes within a second after the last refusal.
        ag.wait_until(lambda: sum(count_refusals(w.agent.log()[offset:], key)) >= attempts,
                      3, "the count of the refusal lines held back")
        load.finish()
    finally:
        load.kill()
    written, held = count_refusals(w.agent.log()[offset:], key)
    print(f"\n{attempts} refusals in {elapsed:.2f}s: {written} lines written, {held} held back")
    assert written + held == attempts, (written, held)
    assert written <= elapsed + 2, (written, elapsed)


@pytest.mark.parametrize("text,line,message", [
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nlimits:\n"
     "  max_user_connections: 4\n  max_user_connections_per_uid: 5\n", 7,
     "limits.max_user_connections_per_uid: 5 is more than limits.max_user_connections (4)"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nlimits:\n"
     "  max_pam_connections: 0\n", 6, "limits.max_pam_connections: an integer from 1 to 4096"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nlimits:\n"
     "  user_server_calls_per_minute: 0\n", 6,
     "limits.user_server_calls_per_minute: an integer from 1 to 6000"),
    ("server:\n  url: http://127.0.0.1:1\nhost:\n  name: j\nlimits:\n"
     "  user_server_calls_burst: lots\n", 6,
     "limits.user_server_calls_burst: an integer from 1 to 1000"),
])
def test_limit_errors_name_the_file_and_line(tmp_path, text, line, message):
    import subprocess

    path = tmp_path / "agent.yaml"
    path.write_text(text)
    p = subprocess.run([str(ag.AGENT_BIN), "--config", str(path), "--listen-pam",
                        str(tmp_path / "a.sock"), "--listen-user", str(tmp_path / "u.sock")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1, p
    assert f"{path}:{line}:" in p.stderr and message in p.stderr, p.stderr


def test_the_old_single_limit_still_reads(tmp_path, users):
    """limits.max_connections (one pool for both sockets, deprecated) sizes each pool the
    file does not size and is reported at start; one uid still gets its own cap."""
    w = started_world({"limits.max_connections": 4, "limits.max_user_connections_per_uid": 2})
    try:
        assert "limits.max_connections is deprecated" in w.agent.log()
        load = ag.UserLoad(ATTACKER, "hold", w.agent.user_sock, 3, 1.0)
        assert load.first["accepted"] == 2, load.first
        pam = [w.agent.pam() for _ in range(4)]
        c = w.agent.pam(hello=False)
        r = c.call(ag.HELLO, [(ag.T_VMIN, 1), (ag.T_VMAX, 1)], rid=0)
        assert r.type == ag.ERROR and "limits.max_pam_connections" in r.get(ag.T_MESSAGE), r
        for x in pam:
            x.close()
        load.finish()
    finally:
        finish_world(w)
