# pam_jitsudo run by libpam itself (pam_start_confdir with a stack written by the test) against
# fake agents: each stage answered well, badly (malformed frames, wrong ids, wrong types), never
# (accepted and silent: the module must return by its deadline) or not at all (no socket), by
# an impostor (a socket or a peer that is not root), and with the server down behind the agent.
# A subset runs again under valgrind, which must report no error and no leak.
# With the real agent and jitsudod, a request still pending is waited for at the next auth instead
# of being asked for again, and gate=auto refuses with its id instead of filing another.
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

import harness
import pam_support as ps
from pam_support import (PAM_AUTH_ERR, PAM_AUTHINFO_UNAVAIL, PAM_CONV_ERR, PAM_IGNORE,
                         PAM_PERM_DENIED, PAM_SERVICE_ERR, PAM_SUCCESS)

SERVICE = "jittest"
GRANT = ("provider=aws", "role=prod-infra-admin", "scope=123456789012")
TIMEOUT_S = 1  # timeout= of the stacks below: every exchange with the agent ends by then


@pytest.fixture(autouse=True)
def _built():
    for path in (ps.PAM_MODULE, ps.PAM_DRIVER):
        if not path.exists():
            pytest.fail(f"{path} is not built (make {path.relative_to(ps.REPO)})",
                        pytrace=False)


def stack(tmp_path, socket_path, *extra, auth=(), account=(), session=()):
    lines = [
        ps.module_line("auth", socket_path, *GRANT, f"timeout={TIMEOUT_S}s", *extra, *auth),
        ps.module_line("account", socket_path, *GRANT, f"timeout={TIMEOUT_S}s", *extra,
                       *account),
        ps.module_line("session", socket_path, f"timeout={TIMEOUT_S}s", *extra, *session),
    ]
    return ps.write_service(tmp_path / "pam.d", SERVICE, lines)


def run(conf, stages, **kw):
    return ps.run_driver(conf, SERVICE, "root", stages, **kw)


ALL_STAGES = ["auth", "account", "open"]


def assert_unavailable(r, stages=ALL_STAGES, within=TIMEOUT_S + 1.5):
    assert r.returncode == 0, r
    for stage in stages:
        assert r.results.get(stage) == PAM_AUTHINFO_UNAVAIL, (stage, r)
        assert r.times[stage] <= within, (stage, r.times, r)
    assert "AWS_ACCESS_KEY_ID" not in r.env


# ---- no agent, a dead socket, an impostor ---------------------------------------------------


def test_agent_absent(tmp_path):
    conf = stack(tmp_path, tmp_path / "missing.sock")
    r = run(conf, ALL_STAGES + ["close", "env"], answers=["why"])
    assert_unavailable(r, within=0.5)
    # Nothing was opened, so close has nothing to do (and is not a success either).
    assert r.results["close"] != PAM_SUCCESS
    assert "jitsudo: the jitsudo agent is not available; no elevation now." in r.messages("error")
    # auth failed before prompting: no request without an agent.
    assert not r.messages("prompt-echo-on")


def test_dead_socket(tmp_path):
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays, nobody listens: ECONNREFUSED
    r = run(stack(tmp_path, path), ALL_STAGES, answers=["why"])
    assert_unavailable(r, within=0.5)


def test_socket_not_owned_by_root(tmp_path):
    script = {"GRANT_ENSURE": [{"state": "ACTIVE", "request_id": "r-1"}],
              "SESSION_OPEN": [{"env": ["AWS_ACCESS_KEY_ID=AKIAIMPOSTOR"]}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        os.chown(agent.path, 65534, 65534)
        r = run(stack(tmp_path, agent.path), ALL_STAGES, answers=["why"])
        assert_unavailable(r, within=0.5)
        assert agent.requests() == []  # not a byte was sent to it


def test_peer_not_root(tmp_path):
    """A root-owned socket file whose listening process is not root: SO_PEERCRED says no."""
    # pytest's directories are root's alone; the other user needs one it can reach.
    shared = Path(tempfile.mkdtemp(prefix="jitsudo-pam-"))
    try:
        shared.chmod(0o755)
        script = {"GRANT_ENSURE": [{"state": "ACTIVE", "request_id": "r-1"}],
                  "SESSION_OPEN": [{"env": ["AWS_ACCESS_KEY_ID=AKIAIMPOSTOR"]}]}
        with ps.fake_agent(shared / "a", script, user=65534) as agent:
            assert agent.path.stat().st_uid == 65534
            os.chown(agent.path, 0, 0)
            r = run(stack(tmp_path, agent.path), ALL_STAGES, answers=["why"])
            assert_unavailable(r, within=0.5)
            assert agent.requests() == []
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_not_a_socket(tmp_path):
    path = tmp_path / "plain"
    path.write_text("")
    r = run(stack(tmp_path, path), ALL_STAGES, answers=["why"])
    assert_unavailable(r, within=0.5)


# ---- an agent that accepts and never answers ------------------------------------------------


@pytest.mark.parametrize("script", [
    {"accept_only": True},                       # never reads the HELLO
    {"HELLO": [{"hang": True}]},                 # reads it, never answers
    {"GRANT_ENSURE": [{"hang": True}], "SESSION_OPEN": [{"hang": True}]},  # after HELLO
], ids=["accept-only", "silent-hello", "silent-verb"])
def test_silent_agent_returns_by_the_deadline(tmp_path, script):
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ALL_STAGES, answers=["why"])
    assert_unavailable(r)
    for stage in ALL_STAGES:
        assert r.times[stage] >= TIMEOUT_S - 0.1, (stage, r.times)


def test_silent_wait_returns_by_cap_plus_timeout(tmp_path):
    """GRANT_WAIT never answered: the module gives up at the wait cap plus one timeout."""
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-9"}],
              "GRANT_WAIT": [{"hang": True}]}
    with ps.fake_agent(tmp_path / "a", script):
        conf = stack(tmp_path, tmp_path / "a" / "agent.sock", auth=("wait=2s",))
        r = run(conf, ["auth"], answers=["deploy fix"])
    assert r.results["auth"] == PAM_AUTHINFO_UNAVAIL, r
    assert 2.0 <= r.times["auth"] <= 2 + TIMEOUT_S + 1.0, r.times


# ---- malformed replies ----------------------------------------------------------------------

MALFORMED = {
    "zero-length": {"raw": "00000000"},
    "over-64k": {"raw": "00010001" + "00" * 16},
    "garbage": {"raw": "0000000a" + "ff" * 10},
    "cut-frame": {"raw": "00000040" + "40" + "00" * 8},
    "unknown-type": {"raw": "00000005" + "7700000001"},
    "trailing-bytes": {"raw": "00000008" + "0300000001" + "000100"},
    "wrong-id": {"wrong_id": True, "state": "ACTIVE", "request_id": "r-1"},
    # GRANT_STATE with a request id but no state.
    "no-state": {"raw": "0000000c" + "40" + "00000001" + "0018" + "0003" + "722d31"},
    "wrong-type": {"ok": True},
    "closed": {"close": True},
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_reply_to_each_verb(tmp_path, kind):
    bad = MALFORMED[kind]
    script = {"GRANT_ENSURE": [bad], "SESSION_OPEN": [bad]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ALL_STAGES, answers=["why"])
    assert_unavailable(r)


@pytest.mark.parametrize("kind", ["zero-length", "garbage", "wrong-type", "closed",
                                  "no-version", "version-2", "version-error", "wrong-id"])
def test_malformed_hello(tmp_path, kind):
    bad = {"no-version": {"ok": True, "type": ps.HELLO}, "version-2": {"version": 2},
           "version-error": {"error": 8, "message": "no common version"},
           "wrong-id": {"wrong_id": True, "ok": True, "type": ps.HELLO}}.get(kind) \
        or MALFORMED[kind]
    with ps.fake_agent(tmp_path / "a", {"HELLO": [bad]}):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ALL_STAGES, answers=["why"])
    assert_unavailable(r)


def test_unknown_state_is_not_success(tmp_path):
    script = {"GRANT_ENSURE": [{"state": "GRANTED", "request_id": "r-1"}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["auth", "account"],
                answers=["why"])
    assert_unavailable(r, ["auth", "account"])


def test_wait_answer_about_another_request(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-1"}],
              "GRANT_WAIT": [{"state": "APPROVED", "request_id": "r-other"}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["auth"], answers=["why"])
    assert r.results["auth"] == PAM_AUTHINFO_UNAVAIL, r


# ---- the server down behind the agent -------------------------------------------------------


def test_server_unreachable_error(tmp_path):
    down = {"error": ps.ERR_SERVER_UNREACHABLE, "message": "jitsudod did not answer"}
    script = {"GRANT_ENSURE": [down], "SESSION_OPEN": [down], "GRANT_WAIT": [down]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ALL_STAGES, answers=["why"])
    assert_unavailable(r)


# ---- the stages doing their job -------------------------------------------------------------


def test_auth_with_an_active_grant_succeeds_without_prompt(tmp_path):
    script = {"GRANT_ENSURE": [{"state": "ACTIVE", "request_id": "r-1"}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        r = run(stack(tmp_path, agent.path), ["auth"])
        reqs = agent.requests("GRANT_ENSURE")
    assert r.results["auth"] == PAM_SUCCESS, r
    assert not r.messages("prompt-echo-on")
    assert len(reqs) == 1 and reqs[0]["fields"]["lookup_only"] == 1
    assert reqs[0]["fields"] == {"user": "root", "provider": "aws", "role": "prod-infra-admin",
                                 "scope": "123456789012", "lookup_only": 1}


def test_auth_prompts_submits_waits_and_is_approved(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-42"}],
              "GRANT_WAIT": [{"state": "PENDING", "request_id": "r-42", "early": True},
                             {"state": "APPROVED", "request_id": "r-42"}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        conf = stack(tmp_path, agent.path, auth=("duration=30m", "wait=5s"))
        r = run(conf, ["auth"], answers=["  INC-7: restart the ECS service  "])
        ensure = agent.requests("GRANT_ENSURE")
        waits = agent.requests("GRANT_WAIT")
    assert r.results["auth"] == PAM_SUCCESS, r
    assert r.messages("prompt-echo-on") == [
        "jitsudo: reason for prod-infra-admin on aws 123456789012: "]
    assert any("r-42" in m and "waiting for approval" in m for m in r.messages("info")), r
    assert ensure[1]["fields"]["reason"] == "INC-7: restart the ECS service"
    assert ensure[1]["fields"]["duration"] == 1800
    assert "lookup_only" not in ensure[1]["fields"] and "break_glass" not in ensure[1]["fields"]
    assert len(waits) == 2 and waits[0]["fields"]["request_id"] == "r-42"
    assert 0 < waits[0]["fields"]["timeout_ms"] <= 5000


def test_auth_dialog_is_shown_under_pam_silent(tmp_path):
    """sudo passes PAM_SILENT to pam_authenticate: the request id and the outcome of a request
    the person just typed a reason for are still shown; a held grant passes quietly."""
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-s"}],
              "GRANT_WAIT": [{"state": "REJECTED", "request_id": "r-s", "message": "freeze"}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["auth"], answers=["why"],
                silent=True)
    assert r.results["auth"] == PAM_PERM_DENIED, r
    assert any("r-s" in m for m in r.messages("info")), r
    assert "jitsudo: request r-s was denied: freeze" in r.messages("error")
    with ps.fake_agent(tmp_path / "b", {"GRANT_ENSURE": [{"state": "ACTIVE",
                                                          "request_id": "r-h"}]}):
        r = run(stack(tmp_path / "b2", tmp_path / "b" / "agent.sock"), ["auth"], silent=True)
    assert r.results["auth"] == PAM_SUCCESS and r.conv == [], r


def test_session_ruser_takes_the_invoking_user(tmp_path):
    script = {"SESSION_OPEN": [{"env": ["AWS_X=1"]}], "SESSION_CLOSE": [{"ok": True}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        conf = stack(tmp_path, agent.path, session=("ruser",))
        r = ps.run_driver(conf, SERVICE, "root", ["open", "close"], ruser="alice")
        assert r.results["open"] == PAM_SUCCESS, r
        assert agent.requests("SESSION_OPEN")[0]["fields"]["user"] == "alice"
        assert agent.requests("SESSION_CLOSE")[0]["fields"]["user"] == "alice"
        # No PAM_RUSER: refused, never the target user's grants instead.
        r = ps.run_driver(conf, SERVICE, "root", ["open"])
        assert r.results["open"] == ps.PAM_USER_UNKNOWN, r
        assert len(agent.requests("SESSION_OPEN")) == 1


def test_auth_denied_shows_the_reason(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-5"}],
              "GRANT_WAIT": [{"state": "REJECTED", "request_id": "r-5",
                              "message": "not during the freeze"}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        r = run(stack(tmp_path, agent.path), ["auth", "auth"], answers=["why"])
        submitted = [q for q in agent.requests("GRANT_ENSURE") if "reason" in q["fields"]]
    assert r.results["auth"] == PAM_PERM_DENIED, r
    assert "jitsudo: request r-5 was denied: not during the freeze" in r.messages("error")
    # The second try in the same handle (sudo's passwd_tries) answers the same, asks nothing.
    assert len(r.messages("prompt-echo-on")) == 1
    assert len(submitted) == 1


def test_auth_refused_by_policy_at_creation(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"error": ps.ERR_DENIED, "message": "not eligible: only sre"}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["auth"], answers=["why"])
    assert r.results["auth"] == PAM_PERM_DENIED, r
    assert any("not eligible: only sre" in m for m in r.messages("error")), r


def test_auth_cap_gives_auth_err_with_the_request_id(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-77"}],
              "GRANT_WAIT": [{"state": "PENDING", "request_id": "r-77"}]}
    with ps.fake_agent(tmp_path / "a", script):
        conf = stack(tmp_path, tmp_path / "a" / "agent.sock", auth=("wait=1s",))
        r = run(conf, ["auth"], answers=["why"])
    assert r.results["auth"] == PAM_AUTH_ERR, r
    assert any("r-77" in m and "still waiting" in m for m in r.messages("error")), r


def test_auth_pending_request_found_is_waited_for_without_prompt(tmp_path):
    script = {"GRANT_ENSURE": [{"state": "PENDING", "request_id": "r-3"}],
              "GRANT_WAIT": [{"state": "ACTIVE", "request_id": "r-3"}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["auth"])
    assert r.results["auth"] == PAM_SUCCESS, r
    assert not r.messages("prompt-echo-on")


def test_auth_empty_reason_or_conversation_failure(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        conf = stack(tmp_path, agent.path)
        r = run(conf, ["auth"], answers=["   "])
        assert r.results["auth"] == PAM_AUTH_ERR, r
        r = run(conf, ["auth"], answers=["x" * 1025])
        assert r.results["auth"] == PAM_AUTH_ERR, r
        r = run(conf, ["auth"], answers=["bad\x01control"])
        assert r.results["auth"] == PAM_AUTH_ERR, r
        r = run(conf, ["auth"], conv_fail=True)
        assert r.results["auth"] == PAM_CONV_ERR, r
        assert not [q for q in agent.requests("GRANT_ENSURE") if "reason" in q["fields"]]


def test_break_glass_only_where_allowed(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "ACTIVE", "request_id": "r-bg"}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        r = run(stack(tmp_path, agent.path), ["auth"], answers=["! prod is down"])
        assert r.results["auth"] == PAM_AUTH_ERR, r
        assert "jitsudo: break-glass is not allowed here." in r.messages("error")
        assert not [q for q in agent.requests("GRANT_ENSURE") if "reason" in q["fields"]]
    with ps.fake_agent(tmp_path / "b", script) as agent:
        conf = stack(tmp_path, agent.path, auth=("break_glass",))
        r = run(conf, ["auth"], answers=["! prod is down"])
        assert r.results["auth"] == PAM_SUCCESS, r
        sent = [q for q in agent.requests("GRANT_ENSURE") if "reason" in q["fields"]]
    assert sent[0]["fields"]["reason"] == "prod is down"
    assert sent[0]["fields"]["break_glass"] == 1


def test_account_gate(tmp_path):
    cases = [
        ([{"state": "ACTIVE", "request_id": "r-1"}], PAM_SUCCESS, None),
        ([{"state": "APPROVED", "request_id": "r-1"}], PAM_SUCCESS, None),
        ([{"error": ps.ERR_NOT_FOUND}], PAM_PERM_DENIED, "no active grant"),
        ([{"state": "PENDING", "request_id": "r-8"}], PAM_PERM_DENIED, "r-8"),
        ([{"state": "EXPIRED", "request_id": "r-1"}], PAM_PERM_DENIED, "no active grant"),
    ]
    for i, (replies, want, text) in enumerate(cases):
        with ps.fake_agent(tmp_path / f"a{i}", {"GRANT_ENSURE": replies}) as agent:
            r = run(stack(tmp_path / f"c{i}", agent.path), ["account"])
            sent = agent.requests("GRANT_ENSURE")
        assert r.results["account"] == want, (replies, r)
        assert all(q["fields"].get("lookup_only") == 1 for q in sent), sent
        if text:
            msg = " ".join(r.messages("error"))
            assert text in msg and "jitsudo request --provider aws" in msg, r


def test_account_gate_auto(tmp_path):
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "ACTIVE", "request_id": "r-auto"}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        r = run(stack(tmp_path, agent.path, account=("gate=auto",)), ["account"])
        sent = agent.requests("GRANT_ENSURE")
    assert r.results["account"] == PAM_SUCCESS, r
    assert "lookup_only" not in sent[1]["fields"] and sent[1]["fields"]["reason"]
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-p"}]}
    with ps.fake_agent(tmp_path / "b", script) as agent:
        r = run(stack(tmp_path / "b2", agent.path, account=("gate=auto",)), ["account"])
    assert r.results["account"] == PAM_PERM_DENIED, r
    assert any("r-p" in m for m in r.messages("error")), r
    # The lookup finds the user's request still pending: refused with its id, and no second
    # request is asked for.
    script = {"GRANT_ENSURE": [{"state": "PENDING", "request_id": "r-held"}]}
    with ps.fake_agent(tmp_path / "c", script) as agent:
        r = run(stack(tmp_path / "c2", agent.path, account=("gate=auto",)), ["account"])
        sent = agent.requests("GRANT_ENSURE")
    assert r.results["account"] == PAM_PERM_DENIED, r
    assert any("r-held" in m and "waiting" in m for m in r.messages("error")), r
    assert len(sent) == 1 and sent[0]["fields"].get("lookup_only") == 1, sent


def test_session_injects_allowed_variables_only(tmp_path):
    env = ["AWS_ACCESS_KEY_ID=ASIAEXAMPLEKEY00001", "AWS_SECRET_ACCESS_KEY=s3cr3t/value+x",
           "KUBECONFIG=/run/jitsudo/0/s/kubeconfig", "LD_PRELOAD=/tmp/evil.so",
           "PATH=/tmp/evil", "JITSUDO_REQUEST_ID=r-1"]
    script = {"SESSION_OPEN": [{"env": env, "dir": "/run/jitsudo/0/s"}],
              "SESSION_CLOSE": [{"ok": True}]}
    with ps.fake_agent(tmp_path / "a", script) as agent:
        conf = stack(tmp_path, agent.path, session=("provider=aws", "role=prod-infra-admin"))
        r = run(conf, ["open", "env", "close"])
        opened = agent.requests("SESSION_OPEN")
        closed = agent.requests("SESSION_CLOSE")
    assert r.results["open"] == PAM_SUCCESS and r.results["close"] == PAM_SUCCESS, r
    assert r.env["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLEKEY00001"
    assert r.env["AWS_SECRET_ACCESS_KEY"] == "s3cr3t/value+x"
    assert r.env["KUBECONFIG"] == "/run/jitsudo/0/s/kubeconfig"
    assert r.env["JITSUDO_REQUEST_ID"] == "r-1"
    assert "LD_PRELOAD" not in r.env and "PATH" not in r.env
    # The filter is the session line's provider/role; the close names the same session.
    assert opened[0]["fields"]["provider"] == "aws"
    assert opened[0]["fields"]["role"] == "prod-infra-admin"
    assert "scope" not in opened[0]["fields"]
    sid = opened[0]["fields"]["session_id"]
    assert len(sid) == 32 and closed[0]["fields"]["session_id"] == sid
    # Secrets never reach the user's screen.
    assert not any("s3cr3t" in m for m in r.messages())


def test_session_bounded_and_silent(tmp_path):
    env = [f"AWS_V{i}=v{i}" for i in range(10)]
    script = {"SESSION_OPEN": [{"env": env}]}
    with ps.fake_agent(tmp_path / "a", script):
        conf = stack(tmp_path, tmp_path / "a" / "agent.sock", session=("max_env=4",))
        r = run(conf, ["open", "env"], silent=True)
    assert r.results["open"] == PAM_SUCCESS, r
    assert sorted(r.env) == ["AWS_V0", "AWS_V1", "AWS_V2", "AWS_V3"]
    assert r.conv == []  # PAM_SILENT: not a word


def test_session_without_grants_injects_nothing(tmp_path):
    for i, reply in enumerate([{"env": []}, {"error": ps.ERR_NOT_FOUND}]):
        with ps.fake_agent(tmp_path / f"a{i}", {"SESSION_OPEN": [reply]}) as agent:
            r = run(stack(tmp_path / f"c{i}", agent.path), ["open", "env"])
        assert r.results["open"] == PAM_SUCCESS, r
        assert r.env == {}


def test_session_close_is_best_effort(tmp_path):
    script = {"SESSION_OPEN": [{"env": ["AWS_X=1"]}], "SESSION_CLOSE": [{"hang": True}]}
    with ps.fake_agent(tmp_path / "a", script):
        r = run(stack(tmp_path, tmp_path / "a" / "agent.sock"), ["open", "close"])
    assert r.results["open"] == PAM_SUCCESS
    assert r.results["close"] == PAM_AUTHINFO_UNAVAIL
    assert r.times["close"] <= TIMEOUT_S + 1.5


def test_bad_arguments_are_a_service_error(tmp_path):
    conf = ps.write_service(tmp_path / "pam.d", SERVICE, [
        ps.module_line("auth", tmp_path / "x.sock", "provider=aws", "role=r", "frobnicate"),
        ps.module_line("account", tmp_path / "x.sock", "provider=aws"),  # no role
        ps.module_line("session", tmp_path / "x.sock", "max_env=0"),
    ])
    r = run(conf, ALL_STAGES)
    for stage in ALL_STAGES:
        assert r.results[stage] == PAM_SERVICE_ERR, (stage, r)


# ---- syslog -----------------------------------------------------------------------------


def test_no_secret_reaches_syslog(tmp_path):
    """With debug on, every stage logs; none of the canary secrets (credential values, a value
    of a refused variable) appears in what reached /dev/log."""
    canary = "CANARY7f3a9"
    script = {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                               {"state": "PENDING", "request_id": "r-log"},
                               {"state": "ACTIVE", "request_id": "r-log"}],
              "GRANT_WAIT": [{"state": "APPROVED", "request_id": "r-log"}],
              "SESSION_OPEN": [{"env": [f"AWS_SECRET_ACCESS_KEY={canary}-secret",
                                        f"AWS_SESSION_TOKEN={canary}-token",
                                        f"LD_PRELOAD=/tmp/{canary}.so"], "dir": "/run/x"}],
              "SESSION_CLOSE": [{"ok": True}]}
    with ps.fake_agent(tmp_path / "a", script):
        conf = stack(tmp_path, tmp_path / "a" / "agent.sock", "debug")
        r, lines = ps.run_driver_capturing_syslog(
            tmp_path, conf, SERVICE, "root", ["auth", "account", "open", "env", "close"],
            answers=["a reason"])
    assert r.results == {"auth": PAM_SUCCESS, "account": PAM_SUCCESS, "open": PAM_SUCCESS,
                         "close": PAM_SUCCESS}, r
    assert r.env[("AWS_SECRET_ACCESS_KEY")] == f"{canary}-secret"
    text = "\n".join(lines)
    # The module did log (request ids, names of variables set or refused) ...
    assert "r-log" in text and "AWS_SESSION_TOKEN" in text and "LD_PRELOAD" in text, text
    assert len([x for x in lines if "pam_jitsudo(jittest:" in x]) >= 6, text
    # ... and no value.
    assert canary not in text, text


# ---- under valgrind -------------------------------------------------------------------------

VALGRIND_CASES = {
    "absent": None,
    "silent": {"GRANT_ENSURE": [{"hang": True}], "SESSION_OPEN": [{"hang": True}]},
    "malformed": {"GRANT_ENSURE": [MALFORMED["garbage"]],
                  "SESSION_OPEN": [MALFORMED["trailing-bytes"]]},
    "server-down": {"GRANT_ENSURE": [{"error": ps.ERR_SERVER_UNREACHABLE}],
                    "SESSION_OPEN": [{"error": ps.ERR_SERVER_UNREACHABLE}]},
    "working": {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                                 {"state": "PENDING", "request_id": "r-v"},
                                 {"state": "ACTIVE", "request_id": "r-v"}],
                "GRANT_WAIT": [{"state": "APPROVED", "request_id": "r-v"}],
                "SESSION_OPEN": [{"env": ["AWS_ACCESS_KEY_ID=AK", "LD_PRELOAD=x",
                                          "KUBECONFIG=/k"], "dir": "/d"}],
                "SESSION_CLOSE": [{"ok": True}]},
    "denied": {"GRANT_ENSURE": [{"error": ps.ERR_NOT_FOUND},
                                {"state": "PENDING", "request_id": "r-d"}],
               "GRANT_WAIT": [{"state": "REJECTED", "request_id": "r-d", "message": "no"}]},
}


@pytest.mark.skipif(not ps.shutil.which("valgrind"), reason="valgrind is not installed")
@pytest.mark.parametrize("case", sorted(VALGRIND_CASES))
def test_under_valgrind(tmp_path, case):
    script = VALGRIND_CASES[case]
    stages = ["auth", "auth", "account", "open", "env", "close"]
    if script is None:
        conf = stack(tmp_path, tmp_path / "missing.sock")
        r = run(conf, stages, answers=["why", "why"], valgrind=True, timeout=120)
    else:
        with ps.fake_agent(tmp_path / "a", script):
            conf = stack(tmp_path, tmp_path / "a" / "agent.sock")
            r = run(conf, stages, answers=["why", "why"], valgrind=True, timeout=120)
    assert r.returncode == 0, f"valgrind reported errors or leaks:\n{r.stderr[-6000:]}"
    assert r.stderr.strip() == "", r.stderr[-6000:]
    if case == "working":
        assert r.results["auth"] == PAM_SUCCESS and r.results["open"] == PAM_SUCCESS, r
        assert r.env == {"AWS_ACCESS_KEY_ID": "AK", "KUBECONFIG": "/k"}
    elif case == "denied":
        assert r.results["auth"] == PAM_PERM_DENIED, r
    else:
        for stage in ("auth", "account", "open"):
            assert r.results[stage] == PAM_AUTHINFO_UNAVAIL, (stage, r)
        # valgrind slows everything down, yet each stage still ends near its deadline.
        assert max(r.times.values()) <= TIMEOUT_S + 3, r.times


# ---- the real agent with jitsudod down behind it --------------------------------------------


@pytest.fixture(params=["refused", "silent"])
def agent_without_server(tmp_path, request):
    """The real agent, its jitsudod down: nothing listening (connections refused), or a
    listener that never answers (the agent's own server timeout ends each call)."""
    import agent_support

    if not agent_support.AGENT_BIN.exists():
        pytest.fail(f"{agent_support.AGENT_BIN} is not built (make)", pytrace=False)
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hole.bind(("127.0.0.1", 0))
    port = hole.getsockname()[1]
    if request.param == "silent":
        hole.listen(64)  # accepted by the kernel, never read
    else:
        hole.close()
    agent = agent_support.Agent(tmp_path / "agent", server_url=f"http://127.0.0.1:{port}",
                                settings={"server.timeout": "1s", "deadlines.request": "2s"})
    agent.write_config()
    agent.start()
    try:
        yield agent
    finally:
        code = agent.stop()
        hole.close()
        assert code == 0, f"jitsudo-agent exited {code}:\n{agent.log()}"


@pytest.mark.parametrize("valgrind", [False, True], ids=["plain", "valgrind"])
def test_server_down_behind_the_real_agent(tmp_path, agent_without_server, valgrind):
    conf = ps.write_service(tmp_path / "pam.d", SERVICE, [
        ps.module_line(stage, agent_without_server.pam_sock, *args, "timeout=8s")
        for stage, args in (("auth", GRANT), ("account", GRANT), ("session", ()))])
    r = ps.run_driver(conf, SERVICE, "root", ["auth", "account", "open", "env", "close"],
                      answers=["why"], valgrind=valgrind, timeout=120)
    assert r.returncode == 0, f"valgrind reported errors or leaks:\n{r.stderr[-6000:]}"
    for stage in ("auth", "account", "open"):
        assert r.results[stage] == PAM_AUTHINFO_UNAVAIL, (stage, r)
        # The agent answered "server unreachable" itself, well before our own deadline.
        assert r.times[stage] < 6, (stage, r.times)
    assert r.env == {}
    assert not r.messages("prompt-echo-on")  # no reason asked for a request that cannot go


# ---- a pending request is waited for, never filed twice (real agent and jitsudod) -------------

PENDING_USER = "jitpend"


@pytest.fixture(scope="module")
def pending_world():
    with ps.world() as w, ps.unix_user(PENDING_USER, groups=[ps.ELIGIBLE_GROUP]):
        yield w


def requests_of(w, user):
    body = harness.expect(w.person(user).list(mine="true", page_size=100), 200)
    return body["requests"]


def test_auth_waits_for_the_pending_request_instead_of_asking_again(tmp_path, pending_world):
    w = pending_world
    conf = ps.write_service(tmp_path / "pam.d", SERVICE, [
        ps.module_line("auth", w.socket, *GRANT, "timeout=5s", "wait=1s")])
    # First try: the reason is asked, the request filed, still pending at the cap.
    r = ps.run_driver(conf, SERVICE, PENDING_USER, ["auth"], answers=["INC-1 first try"])
    assert r.results["auth"] == PAM_AUTH_ERR, r
    [req] = requests_of(w, PENDING_USER)
    assert req["state"] == "REQUEST_STATE_PENDING"
    assert any(req["id"] in m for m in r.messages("error")), r
    # Second try (a new PAM handle, as a new sudo run): the lookup finds that request
    # PENDING; the module waits for it without asking for a reason, and the approval that
    # comes meanwhile lets it through.
    approver = threading.Timer(0.5, lambda: w.bob.approve(req["id"], "ok"))
    approver.start()
    try:
        conf2 = ps.write_service(tmp_path / "pam2.d", SERVICE, [
            ps.module_line("auth", w.socket, *GRANT, "timeout=5s", "wait=20s")])
        t0 = time.monotonic()
        r = ps.run_driver(conf2, SERVICE, PENDING_USER, ["auth"])
    finally:
        approver.join()
    assert r.results["auth"] == PAM_SUCCESS, (r, w.logs())
    assert not r.messages("prompt-echo-on"), r
    assert any(req["id"] in m for m in r.messages()), r
    assert time.monotonic() - t0 < 15
    assert [x["id"] for x in requests_of(w, PENDING_USER)] == [req["id"]]
    w.person(PENDING_USER).call("POST", f"requests/{req['id']}/revoke",
                                json_body={"reason": "test done"})


def test_gate_auto_reuses_the_pending_request(tmp_path, pending_world):
    w = pending_world
    # role=db-admin: no policy approves it at once, so it waits for a human.
    conf = ps.write_service(tmp_path / "pam.d", SERVICE, [
        ps.module_line("account", w.socket, "provider=aws", "role=db-admin",
                       "scope=123456789012", "timeout=5s", "gate=auto")])
    ids = set()
    for _ in range(3):
        r = ps.run_driver(conf, SERVICE, PENDING_USER, ["account"])
        assert r.results["account"] == PAM_PERM_DENIED, (r, w.logs())
        msg = " ".join(r.messages("error"))
        assert "waiting for approval" in msg, r
        ids.add(msg.split("request ", 1)[1].split()[0])
    mine = [x for x in requests_of(w, PENDING_USER) if x["role"] == "db-admin"]
    assert len(mine) == 1 and {mine[0]["id"]} == ids, (mine, ids)
    assert mine[0]["state"] == "REQUEST_STATE_PENDING"


# ---- the shipped examples ------------------------------------------------------------------


def example_lines():
    """Every pam_jitsudo line of pam_jitsudo/examples/* and of docs/pam.md."""
    sources = sorted((ps.REPO / "pam_jitsudo" / "examples").iterdir())
    sources.append(ps.REPO / "docs" / "pam.md")
    out = []
    for path in sources:
        for line in path.read_text().splitlines():
            words = line.split()
            if (len(words) >= 3 and not line.lstrip().startswith("#")
                    and words[0] in ("auth", "account", "session")
                    and "pam_jitsudo.so" in line and "..." not in line):
                out.append((path.name, line))
    return out


@pytest.mark.parametrize("source,line", example_lines())
def test_example_lines_are_accepted(tmp_path, source, line):
    """The arguments of each example line parse (the agent is absent, so each stage ends
    PAM_AUTHINFO_UNAVAIL, not PAM_SERVICE_ERR)."""
    words = line.split()
    stage = words[0]
    at = next(i for i, w in enumerate(words) if w.endswith("pam_jitsudo.so"))
    args = words[at + 1:] + [f"socket={tmp_path / 'absent.sock'}"]
    text = " ".join([stage, "required", str(ps.PAM_MODULE), *args])
    conf = ps.write_service(tmp_path / "pam.d", SERVICE, [text])
    step = {"auth": "auth", "account": "account", "session": "open"}[stage]
    r = ps.run_driver(conf, SERVICE, "root", [step], answers=["why"], ruser="root")
    assert r.results[step] == PAM_AUTHINFO_UNAVAIL, (source, line, r)
