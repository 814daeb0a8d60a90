# A slow cloud API holds only the calls that wait for it. The mock provider sleeps 5 s in every
# grant and revocation (providers.mock.delay_ms); approvals run on provider threads of their
# own, so while four of them wait for it, creates, single reads, lists and denials are
# answered as quickly as ever. And a denial that lands while a grant is in flight wins: the
# approval answers 409 and the grant is undone, not recorded. An approval that cannot even
# get a provider thread within 10 s is refused with 503 and changes nothing.
import threading
import time

import pytest
import requests

from harness import ADMIN, ALICE, API, BOB, DEFAULT_SPEC, expect

DELAY_MS = 5000
# what an approval takes at least: the grant's sleep, less the clock's slack
MIN_APPROVAL_S = 4.4
QUICK_S = 0.3


@pytest.fixture
def slow_cloud(make_server):
    return make_server({"providers.mock.delay_ms": DELAY_MS})


def call(server, who, method, path, **kw):
    """One API call on a connection of its own: a requests.Session is not for several
    threads. Tokens are minted before the threads start (server.token caches them)."""
    with requests.Session() as session:
        session.trust_env = False
        return session.request(method, f"{server.url}{API}/{path}",
                               headers={"Authorization": f"Bearer {server.token(who)}"},
                               timeout=60, **kw)


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


def approve_in_thread(server, who, rid):
    """Starts an approval of `rid`. Returns the thread and a dict that gets "response" and
    "seconds"."""
    out = {}

    def run():
        out["response"], out["seconds"] = timed(
            lambda: call(server, who, "POST", f"requests/{rid}/approve", json={"comment": "ok"}))

    t = threading.Thread(target=run)
    t.start()
    return t, out


def p95(seconds):
    s = sorted(seconds)
    return s[max(0, int(len(s) * 0.95 + 0.5) - 1)]


def test_slow_approvals_do_not_stall_other_requests(slow_cloud):
    s = slow_cloud
    alice, bob = s.client(ALICE), s.client(BOB)
    pending = [alice.create_ok()["id"] for _ in range(5)]
    to_deny = pending.pop()
    s.token(ALICE), s.token(BOB)
    approvals = [approve_in_thread(s, BOB, rid) for rid in pending]
    time.sleep(0.5)  # every approval is waiting for the provider now

    # 20 rounds of create, read and list, one started every 100 ms whether or not the ones
    # before were answered (a stall shows in every round it holds, not in the first only)
    latencies = {"create": [], "get": [], "list": []}
    statuses = []

    def one_round():
        r, dt = timed(lambda: call(s, ALICE, "POST", "requests", json=DEFAULT_SPEC))
        statuses.append(r.status_code)
        latencies["create"].append(dt)
        rid = r.json()["request"]["id"]
        r, dt = timed(lambda: call(s, ALICE, "GET", f"requests/{rid}"))
        statuses.append(r.status_code)
        latencies["get"].append(dt)
        r, dt = timed(lambda: call(s, ALICE, "GET", "requests", params={"page_size": 10}))
        statuses.append(r.status_code)
        latencies["list"].append(dt)

    rounds, deny_s = [], None
    t_start = time.monotonic()
    for i in range(20):
        time.sleep(max(0, t_start + i * 0.1 - time.monotonic()))
        rounds.append(threading.Thread(target=one_round))
        rounds[-1].start()
        if i == 10:
            r, deny_s = timed(lambda: bob.deny(to_deny, "not now"))
            assert expect(r, 200)["request"]["state"] == "REQUEST_STATE_REJECTED"
    for t in rounds:
        t.join(60)
    # all of the above was answered while the approvals still waited for the provider
    still_waiting = sum(t.is_alive() for t, _ in approvals)

    for t, _ in approvals:
        t.join(60)
    summary = {k: round(p95(v), 3) for k, v in latencies.items()}
    summary["deny"] = round(deny_s, 3)
    summary["approvals"] = [round(out.get("seconds", -1), 2) for _, out in approvals]
    print("p95 latencies (s):", summary)
    assert statuses == [200] * 60, statuses
    for kind, seconds in latencies.items():
        assert p95(seconds) < QUICK_S, (kind, summary)
    assert deny_s < QUICK_S, summary
    assert still_waiting == len(approvals), summary
    for (_, out), rid in zip(approvals, pending):
        body = expect(out["response"], 200)
        assert body["request"]["state"] == "REQUEST_STATE_APPROVED", body
        assert out["seconds"] >= MIN_APPROVAL_S, summary
        assert alice.state(rid) == "REQUEST_STATE_APPROVED"


def test_denial_during_a_grant_wins(slow_cloud):
    s = slow_cloud
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    rid = alice.create_ok()["id"]
    s.token(BOB)
    t, out = approve_in_thread(s, BOB, rid)
    time.sleep(1.0)  # the grant is at the provider
    r, deny_s = timed(lambda: bob.deny(rid, "changed my mind"))
    assert expect(r, 200)["request"]["state"] == "REQUEST_STATE_REJECTED"
    assert deny_s < QUICK_S, deny_s
    assert t.is_alive(), "the approval ended before the denial"
    # the grant returns after 5 s; its revocation at the provider takes another 5 s
    t.join(60)
    assert not t.is_alive()
    print(f"deny {deny_s:.3f} s, refused approval {out['seconds']:.2f} s")
    expect(out["response"], 409, "failed_precondition",
           "changed while it was being approved")
    assert out["seconds"] >= MIN_APPROVAL_S, out["seconds"]

    assert alice.state(rid) == "REQUEST_STATE_REJECTED"
    expect(alice.credentials(rid), 409, "failed_precondition")
    actions = [e["action"] for e in admin.audit_all(request_id=rid)]
    assert "request.rejected" in actions, actions
    assert "grant.issued" not in actions and "request.approved" not in actions, actions
    p = s.audit_verify()
    assert p.returncode == 0, p.stdout + p.stderr


# An approval queued behind provider threads that are all waiting for a slow cloud waits a
# bounded time (10 s in the queue) and is then refused with 503, having changed nothing.
QUEUE_WAIT_S = 10
VERY_SLOW_MS = 12000
PROVIDER_THREADS = 4


def test_an_approval_queued_too_long_is_refused_unrun(make_server):
    s = make_server({"providers.mock.delay_ms": VERY_SLOW_MS})
    alice, admin = s.client(ALICE), s.client(ADMIN)
    rids = [alice.create_ok()["id"] for _ in range(PROVIDER_THREADS + 1)]
    s.token(BOB)
    busy = [approve_in_thread(s, BOB, rid) for rid in rids[:PROVIDER_THREADS]]
    time.sleep(0.5)  # every provider thread is waiting for the cloud
    t, out = approve_in_thread(s, BOB, rids[-1])
    t.join(60)
    for other, _ in busy:
        other.join(60)
    print(f"queued approval answered after {out['seconds']:.2f} s")
    expect(out["response"], 503, "unavailable", "waiting for a provider")
    # it waited for a thread, past its bound, and was never run
    assert QUEUE_WAIT_S <= out["seconds"] < VERY_SLOW_MS / 1000 + 2, out["seconds"]
    assert alice.state(rids[-1]) == "REQUEST_STATE_PENDING"
    actions = [e["action"] for e in admin.audit_all(request_id=rids[-1])]
    assert "request.approved" not in actions and "grant.issued" not in actions, actions
    for (_, o), rid in zip(busy, rids):
        assert expect(o["response"], 200)["request"]["state"] == "REQUEST_STATE_APPROVED"
