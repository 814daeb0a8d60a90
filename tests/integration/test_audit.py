# The audit log through the API (event shape, hash chain links, filters, paging, who reads
# what) and `jitsudod audit verify` on an intact log and after rows are edited or removed
# behind the server's back with the sqlite3 command line.
import json

import pytest

from harness import ADMIN, ALICE, BOB, approved_request, details, expect, parse_time, sqlite


@pytest.fixture(scope="module")
def story(people):
    """A request of alice approved by bob and fetched twice: six events, in this order."""
    alice, bob = people["alice"], people["bob"]
    req = approved_request(alice, bob, provider="kubernetes", resource_scope="audit-ns",
                           role="edit")
    expect(alice.credentials(req["id"]), 200)
    expect(alice.credentials(req["id"]), 200)
    return req


STORY = ["request.created", "request.approved", "grant.issued", "request.activated",
         "grant.fetched", "grant.fetched"]


def test_event_shape(admin, story):
    events = admin.audit_all(request_id=story["id"])
    assert [e["action"] for e in events] == STORY
    for e in events:
        assert {"id", "timestamp", "actor_identity", "action", "request_id", "provider",
                "resource_scope", "outcome", "details_json", "prev_hash", "hash"} <= set(e), e
        assert e["request_id"] == story["id"]
        assert e["provider"] == "kubernetes" and e["resource_scope"] == "audit-ns"
        assert e["outcome"] == "success"
        assert isinstance(json.loads(e["details_json"]), dict)
        assert len(e["hash"]) == 64 and int(e["hash"], 16) >= 0
        parse_time(e["timestamp"])
    assert [e["actor_identity"] for e in events] == [
        "alice@example.com", "bob@example.com", "system", "alice@example.com",
        "alice@example.com", "alice@example.com"]
    created = details(events[0])
    assert created.get("reason") == story["reason"]
    assert details(events[1]).get("comment") == "ok"
    issued = details(events[2])
    assert issued.get("issued_at") and issued.get("expires_at")


def test_chain_links(admin, story):
    events = admin.audit_all()
    assert len(events) >= len(STORY)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for prev, cur in zip(events, events[1:]):
        assert cur["prev_hash"] == prev["hash"], (prev, cur)
    assert len({e["hash"] for e in events}) == len(events)
    times = [parse_time(e["timestamp"]) for e in events]
    assert times == sorted(times), "oldest first"


def test_default_policies_recorded(admin):
    first = admin.audit_all(actor_identity="system")
    applied = [details(e).get("name") for e in first if e["action"] == "policy.applied"]
    assert {"default-eligibility", "default-approval"} <= set(applied), first


def page_through(client, page_size, **params):
    seen, token, pages = [], "", 0
    while True:
        p = dict(params, page_size=page_size)
        if token:
            p["page_token"] = token
        body = expect(client.audit(**p), 200)
        assert len(body["events"]) <= page_size
        seen += body["events"]
        token = body["next_page_token"]
        pages += 1
        assert pages <= 200, "page tokens never end"
        if not token:
            return seen, pages


def test_pagination_by_request(admin, story):
    seen, pages = page_through(admin, 2, request_id=story["id"])
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)), f"duplicates: {ids}"
    assert [e["action"] for e in seen] == STORY
    assert ids == sorted(ids)
    assert pages in (3, 4)


def test_pagination_whole_log(admin, story):
    everything = admin.audit_all()
    seen, _ = page_through(admin, 3)
    assert [e["id"] for e in seen] == [e["id"] for e in everything]


def test_pagination_for_non_admin(server, admin):
    pat = server.client(("pat@example.com", ("dev",)))
    for i in range(5):
        pat.create_ok(reason=f"pat {i}", provider="gcp", resource_scope="pat-project")
    seen, pages = page_through(pat, 2)
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert len(seen) == 5 and pages >= 3
    assert all(e["actor_identity"] == "pat@example.com" for e in seen)
    assert [e["id"] for e in admin.audit_all(actor_identity="pat@example.com")] == ids


def test_page_size_default_and_max(server, admin):
    bulk = server.client(("bulk-audit@example.com", ("dev",)))
    for i in range(103):
        expect(bulk.create(reason=f"bulk {i}"), 200)
    body = expect(admin.audit(actor_identity="bulk-audit@example.com"), 200)
    assert len(body["events"]) == 100 and body["next_page_token"]
    rest = expect(admin.audit(actor_identity="bulk-audit@example.com",
                              page_token=body["next_page_token"]), 200)
    assert len(rest["events"]) == 3 and rest["next_page_token"] == ""
    big = expect(admin.audit(actor_identity="bulk-audit@example.com", page_size=1000), 200)
    assert len(big["events"]) == 103 and big["next_page_token"] == ""
    # the requester reads the same through visibility
    mine = expect(bulk.audit(page_size=1000), 200)
    assert len(mine["events"]) == 103


def test_filter_actor(admin, story):
    events = admin.audit_all(actor_identity="bob@example.com")
    assert events and all(e["actor_identity"] == "bob@example.com" for e in events)
    assert story["id"] in {e["request_id"] for e in events}


def test_filter_provider(admin, people, story):
    people["alice"].create_ok(provider="azure",
                              resource_scope="0b1f6471-1bf0-4dda-aec3-cb9272f09590")
    events = admin.audit_all(provider="azure")
    assert events and all(e["provider"] == "azure" for e in events)
    k8s = admin.audit_all(provider="kubernetes")
    assert story["id"] in {e["request_id"] for e in k8s}
    assert all(e["provider"] == "kubernetes" for e in k8s)


def test_filter_request_id(admin, story):
    events = admin.audit_all(request_id=story["id"])
    assert events and all(e["request_id"] == story["id"] for e in events)
    assert admin.audit_all(request_id="req_01J8KZ4F2EMNQZ3V7XKQYBD4WX") == []


def test_filter_combined(admin, story):
    events = admin.audit_all(request_id=story["id"], actor_identity="alice@example.com")
    assert [e["action"] for e in events] == ["request.created", "request.activated",
                                             "grant.fetched", "grant.fetched"]


def test_filter_since_until(admin, story):
    events = admin.audit_all(request_id=story["id"])
    pivot = events[2]
    since = admin.audit_all(request_id=story["id"], since=pivot["timestamp"])
    until = admin.audit_all(request_id=story["id"], until=pivot["timestamp"])
    pt = parse_time(pivot["timestamp"])
    assert pivot["id"] in [e["id"] for e in since], "since is inclusive"
    assert pivot["id"] in [e["id"] for e in until], "until is inclusive"
    assert all(parse_time(e["timestamp"]) >= pt for e in since)
    assert all(parse_time(e["timestamp"]) <= pt for e in until)
    assert events[0]["id"] not in [e["id"] for e in since] or \
        parse_time(events[0]["timestamp"]) == pt
    # a window in the future and one in the distant past are empty
    assert admin.audit_all(since="2200-01-01T00:00:00Z") == []
    assert admin.audit_all(until="2000-01-01T00:00:00Z") == []
    # a window around everything holds everything
    assert len(admin.audit_all(request_id=story["id"], since="2000-01-01T00:00:00Z",
                               until="2200-01-01T00:00:00Z")) == len(events)


@pytest.mark.parametrize("params,field", [
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-13-01T00:00:00Z"}, "since"),
    ({"since": "2026-03-20"}, "since"),
    ({"until": "garbage"}, "until"),
    ({"since": "2026-03-21T00:00:00Z", "until": "2026-03-20T00:00:00Z"}, "since"),
    ({"page_size": "1001"}, "page_size"),
    ({"page_size": "x"}, "page_size"),
    ({"page_token": "!!"}, "page_token"),
    ({"page_token": "cjpyZXFfMDFKOEtaNEYyRU1OUVozVjdYS1FZQkQ0V1g"}, "page_token"),  # r:req_…
    ({"page_token": "YTp4"}, "page_token"),  # "a:x"
    ({"state": "PENDING"}, "state"),
])
def test_bad_query(admin, params, field):
    expect(admin.audit(**params), 400, "invalid_argument", contains=field)


def test_visibility(people, story):
    alice, bob, eve, admin = (people[n] for n in ("alice", "bob", "eve", "admin"))
    # the requester reads every event of her request, including bob's and the system's
    assert [e["action"] for e in alice.audit_all(request_id=story["id"])] == STORY
    # an approver of it too
    assert [e["action"] for e in bob.audit_all(request_id=story["id"])] == STORY
    # an unrelated user reads nothing of it
    assert eve.audit_all(request_id=story["id"]) == []
    assert eve.audit_all(actor_identity="alice@example.com") == []
    # and in an unfiltered read only her own actions or requests
    eve.create_ok(reason="eve's own", provider="gcp", resource_scope="eve-project")
    mine = eve.audit_all()
    assert mine, "eve sees her own request.created"
    for e in mine:
        assert e["actor_identity"] == "eve@example.com" or e["request_id"] in {
            r["id"] for r in expect(eve.list(page_size=1000), 200)["requests"]}, e
    assert story["id"] not in {e["request_id"] for e in mine}
    # policy events (no request) are admin-only unless one's own
    assert not [e for e in mine if e["action"] == "policy.applied"]
    assert [e for e in admin.audit_all() if e["action"] == "policy.applied"]


# ---- audit verify ----------------------------------------------------------------------


def test_verify_and_tamper(make_server):
    s = make_server()
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    req = approved_request(alice, bob)
    expect(alice.credentials(req["id"]), 200)
    expect(alice.revoke(req["id"], "done"), 200)
    events = admin.audit_all()
    assert len(events) >= 6
    p = s.audit_verify()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith(f"audit log intact: {len(events)} events ("), p.stdout

    s.stop()  # nobody else writes while the rows are edited
    original = sqlite_value(s, "select actor_identity from audit_events where id=3")
    assert original
    sqlite_exec(s, "update audit_events set actor_identity='x' where id=3")
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("audit log TAMPERED: event 3:"), p.stdout

    # put it back: intact again (the hash is recomputed, not remembered)
    sqlite_exec(s, f"update audit_events set actor_identity='{original}' where id=3")
    p = s.audit_verify()
    assert p.returncode == 0 and "intact" in p.stdout, p.stdout + p.stderr

    # a removed event: the one after the gap is named
    sqlite_exec(s, "delete from audit_events where id=5")
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("audit log TAMPERED: event 6:"), p.stdout


def test_verify_detects_removed_tail(make_server):
    s = make_server()
    s.client(ALICE).create_ok()
    last = max(e["id"] for e in s.client(ADMIN).audit_all())
    s.stop()
    assert s.audit_verify().returncode == 0
    sqlite_exec(s, f"delete from audit_events where id={last}")
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("audit log TAMPERED:"), p.stdout


def test_verify_detects_edited_details(make_server):
    s = make_server()
    alice = s.client(ALICE)
    alice.create_ok(reason="original reason")
    last = max(e["id"] for e in s.client(ADMIN).audit_all())
    s.stop()
    column = details_column(s)
    sqlite_exec(s, f"update audit_events set {column}=replace({column}, 'original', 'forged') "
                   f"where id={last}")
    assert "forged" in sqlite_value(s, f"select {column} from audit_events where id={last}")
    p = s.audit_verify()
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith(f"audit log TAMPERED: event {last}:"), p.stdout


def sqlite_exec(s, sql):
    return sqlite(s.db_path, sql)


def sqlite_value(s, sql):
    return sqlite_exec(s, sql).strip()


def details_column(s):
    cols = sqlite_exec(s, "select name from pragma_table_info('audit_events')").split()
    for c in ("details_json", "details"):
        if c in cols:
            return c
    raise AssertionError(f"no details column in audit_events: {cols}")


def test_refused_attempts_on_hidden_requests_are_audited(alice, mallory, admin):
    """Acting on a request one may not see answers 404, and the attempt is still recorded."""
    rid = alice.create_ok()["id"]
    expect(mallory.approve(rid), 404, "not_found")
    expect(mallory.deny(rid), 404, "not_found")
    expect(mallory.revoke(rid), 404, "not_found")
    expect(mallory.credentials(rid), 404, "not_found")
    actions = [(e["action"], e["outcome"]) for e in admin.audit_all(request_id=rid)
               if e["actor_identity"] == "mallory@example.com"]
    assert actions == [("request.approve_refused", "denied"), ("request.deny_refused", "denied"),
                       ("request.revoke_refused", "denied"), ("grant.fetch_refused", "denied")]
    # A mere look is not an attempt to act.
    expect(mallory.get(rid), 404, "not_found")
    assert len([e for e in admin.audit_all(request_id=rid)
                if e["actor_identity"] == "mallory@example.com"]) == 4
