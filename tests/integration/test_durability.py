# Acknowledged means on disk, and visible: jitsudod answers a change only after the disk sync
# that covers it (a sync that fails answers 503, never success), and once answered the change
# is seen by every other connection, also when many changes share one batch.
import concurrent.futures

import harness
from harness import expect


def _failing_sync_server(make_server, tmp_path):
    flag = tmp_path / "fail-sync"
    s = make_server(start=False)
    s.env = harness.failsync_env(JITSUDO_TEST_FAIL_SYNC=str(flag))
    s.start()
    return s, flag


def test_a_change_whose_sync_fails_is_not_acknowledged(make_server, tmp_path):
    s, flag = _failing_sync_server(make_server, tmp_path)
    alice, bob = s.client(harness.ALICE), s.client(harness.BOB)
    before = alice.create_ok()

    flag.touch()
    r = alice.create(reason="while the disk fails")
    expect(r, 503, "unavailable", contains="disk")
    r = bob.approve(before["id"])
    expect(r, 503, "unavailable", contains="disk")

    flag.unlink()
    after = alice.create_ok(reason="disk is back")
    assert after["state"] == "REQUEST_STATE_PENDING"
    approved = expect(bob.approve(after["id"]), 200)["request"]
    assert approved["state"] == "REQUEST_STATE_APPROVED"
    assert s.call("GET", "/readyz").status_code == 200


def test_answered_changes_are_visible_to_every_connection(make_server):
    s = make_server({"server.http_threads": 2})
    alice, bob = s.client(harness.ALICE), s.client(harness.BOB)

    def create_then_read(i):
        created = alice.create_ok(reason=f"batch {i}")
        # A GET is served by an event loop with its own connection, not by the writer.
        return created["id"], alice.state(created["id"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(create_then_read, range(240)))
    ids = [rid for rid, _ in results]
    assert len(set(ids)) == 240
    assert {state for _, state in results} == {"REQUEST_STATE_PENDING"}

    def approve_then_fetch(rid):
        expect(bob.approve(rid), 200)
        return expect(alice.credentials(rid), 200)

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        grants = list(pool.map(approve_then_fetch, ids[:60]))
    assert all(g for g in grants)
    code = s.stop()
    assert code == 0
    verify = s.audit_verify()
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert harness.sqlite(s.db_path, "select count(*) from requests").strip() == "240"
