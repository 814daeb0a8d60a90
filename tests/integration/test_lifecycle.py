# The server across time and restarts, each test on a server of its own: expiry caught up
# after kill -9, pending requests lapsing, provider revocations retried with backoff, state
# and default policies across restarts, and a config the server refuses.
import time

from harness import (ADMIN, ALICE, BOB, active_request, details, expect, parse_time, sqlite,
                     wait_for)

PENDING = "REQUEST_STATE_PENDING"
ACTIVE = "REQUEST_STATE_ACTIVE"
EXPIRED = "REQUEST_STATE_EXPIRED"
REVOKED = "REQUEST_STATE_REVOKED"


def actions(admin, rid):
    return [e["action"] for e in admin.audit_all(request_id=rid)]


def test_kill9_then_restart_expires_at_once(make_server):
    s = make_server()
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    short = alice.create_ok(duration_seconds=2, reason="short")
    long_ = active_request(alice, bob, reason="long")
    long_grant = expect(alice.credentials(long_["id"]), 200)["grant"]
    waiting = alice.create_ok(reason="still pending")
    expect(bob.approve(short["id"]), 200)
    approved_at = time.time()
    expect(alice.credentials(short["id"]), 200)
    assert alice.state(short["id"]) == ACTIVE

    s.kill9()
    # past the short grant's expiry while the server is down
    time.sleep(max(0.0, approved_at + 2 + 0.5 - time.time()))
    ready = s.start()
    wait_for(lambda: alice.state(short["id"]) == EXPIRED,
             timeout=max(0.05, ready + 1.0 - time.monotonic()),
             what="EXPIRED within 1 s of the restart")
    expect(alice.credentials(short["id"]), 409, "failed_precondition")
    wait_for(lambda: "grant.revoked" in actions(admin, short["id"]), 3,
             what="the provider revocation after the restart")
    assert "grant.expired" in actions(admin, short["id"])

    # everything else survived as it was
    assert alice.state(waiting["id"]) == PENDING
    assert alice.state(long_["id"]) == ACTIVE
    again = expect(alice.credentials(long_["id"]), 200)["grant"]
    assert again["credentials"] == long_grant["credentials"], "sealed credentials survive"
    p = s.audit_verify()
    assert p.returncode == 0, p.stdout + p.stderr


def test_pending_timeout(make_server):
    s = make_server({"workflow.pending_timeout": "2s"})
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    req = alice.create_ok()
    created = parse_time(req["created_at"])
    lapse = parse_time(req["pending_expires_at"])
    assert abs(lapse - created - 2) <= 1, req
    assert alice.state(req["id"]) == PENDING
    wait_for(lambda: alice.state(req["id"]) == EXPIRED,
             timeout=max(0.05, lapse + 1 + 1.0 - time.time()),
             what="the pending request to lapse")
    out = expect(alice.get(req["id"]), 200)["request"]
    assert out["decided_by"] == "system"
    expect(bob.approve(req["id"]), 409, "failed_precondition")
    expect(bob.deny(req["id"], "late"), 409, "failed_precondition")
    expect(alice.revoke(req["id"], "late"), 409, "failed_precondition")
    acts = actions(admin, req["id"])
    assert acts == ["request.created", "request.expired"], acts
    assert "grant.revoked" not in acts


def test_pending_lapse_caught_up_after_restart(make_server):
    # the same lapse without waiting a minute (workflow.pending_timeout is at least 1m in
    # the config): the deadline is moved into the past while the server is down
    s = make_server()
    alice, admin = s.client(ALICE), s.client(ADMIN)
    req = alice.create_ok()
    other = alice.create_ok(reason="not due")
    s.stop()
    past = int((time.time() - 5) * 1e9)
    sqlite(s.db_path, f"update requests set pending_expires_at={past} where id='{req['id']}'")
    ready = s.start()
    wait_for(lambda: alice.state(req["id"]) == EXPIRED,
             timeout=max(0.05, ready + 1.0 - time.monotonic()),
             what="the overdue pending request to lapse at start")
    assert expect(alice.get(req["id"]), 200)["request"]["decided_by"] == "system"
    assert actions(admin, req["id"]) == ["request.created", "request.expired"]
    assert alice.state(other["id"]) == PENDING


def test_revocation_retried_until_it_succeeds(make_server):
    s = make_server({"providers.mock.fail_revocations": 2,
                     "workflow.revoke_retry_initial": "200ms",
                     "workflow.revoke_retry_max": "1s"})
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    req = active_request(alice, bob)
    out = expect(alice.revoke(req["id"], "done"), 200)["request"]
    assert out["state"] == REVOKED
    assert out["revocation_pending"] is True, "the first revocation fails"
    # the credentials endpoint stops at once, whatever the provider says
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    wait_for(lambda: not expect(alice.get(req["id"]), 200)["request"].get(
        "revocation_pending"), 5, interval=0.1, what="revocation_pending to clear")
    events = [e for e in admin.audit_all(request_id=req["id"])
              if e["action"].startswith("grant.revoke")]
    assert [e["action"] for e in events] == ["grant.revoke_failed", "grant.revoke_failed",
                                             "grant.revoked"], events
    assert [details(e).get("attempt") for e in events[:2]] == [1, 2]
    assert all(e["outcome"] == "failure" for e in events[:2])
    assert events[2]["outcome"] == "success"
    # backoff: the second failure comes at least revoke_retry_initial after the first
    t = [parse_time(e["timestamp"]) for e in events]
    assert t[1] - t[0] >= 0.15 and t[2] - t[1] >= 0.3, t
    assert alice.state(req["id"]) == REVOKED
    expect(alice.revoke(req["id"]), 409, "failed_precondition")


def test_revocation_retry_survives_restart(make_server):
    s = make_server({"providers.mock.fail_revocations": 1,
                     "workflow.revoke_retry_initial": "1s",
                     "workflow.revoke_retry_max": "1s"})
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    req = active_request(alice, bob)
    out = expect(alice.revoke(req["id"], "done"), 200)["request"]
    assert out["revocation_pending"] is True
    s.stop()
    s.start()
    # the retry is due 1 s after the failure; the new process must still do it (its mock
    # fails its own first revocation too, so this takes two retries)
    wait_for(lambda: not expect(alice.get(req["id"]), 200)["request"].get(
        "revocation_pending"), 5, interval=0.1, what="the retry after the restart")
    assert actions(admin, req["id"])[-1] == "grant.revoked"


def test_state_and_policies_survive_restart(make_server):
    s = make_server()
    alice, admin = s.client(ALICE), s.client(ADMIN)
    req = alice.create_ok()
    policies = {p["name"]: p for p in expect(admin.policies(), 200)["policies"]}
    expect(admin.delete_policy(policies["default-approval"]["id"]), 200)
    code = s.stop()
    assert code == 0, f"SIGTERM exit code {code}"
    s.start()
    # the default policies are loaded on the first start only
    names = [p["name"] for p in expect(admin.policies(), 200)["policies"]]
    assert names == ["default-eligibility"], names
    assert expect(alice.get(req["id"]), 200)["request"] == req
    # with no approval policy left, nobody may approve: an admin is refused, and bob is no
    # longer an approver of it, so he does not even see it
    expect(admin.approve(req["id"]), 403, "permission_denied")
    expect(s.client(BOB).approve(req["id"]), 404, "not_found")
    assert "1 policies loaded" in s.log().split("---- start 2")[1]


def test_refuses_a_bad_config(make_server):
    s = make_server({"workflow.max_duration": "12"}, start=False)
    try:
        s.start(timeout=3)
    except AssertionError as e:
        assert "max_duration" in str(e), e
    else:
        raise AssertionError("jitsudod started with workflow.max_duration: 12")
    s2 = make_server({"server.htp_addr": "127.0.0.1:1"}, start=False)
    try:
        s2.start(timeout=3)
    except AssertionError as e:
        assert "htp_addr" in str(e), e
    else:
        raise AssertionError("jitsudod started with an unknown key")
