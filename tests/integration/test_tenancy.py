# Tenancy in the data: the seed-000 API works in the default tenant only. Rows of a second
# tenant, written straight into the database while the server is down (requests in every
# state, approvals, sealed credentials, policies, audit events sealed into the one chain with
# their tenant), are never returned, counted or changed through the API or by the sweeper;
# the audit chain covering both tenants verifies, and an event moved between tenants does not.
import contextlib
import hashlib
import hmac
import json
import sqlite3
import time

import pytest

import harness
from harness import ADMIN, ALICE, BOB, CAROL, active_request, approved_request, expect, wait_for

OTHER = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"  # the second tenant (a uuid, as X-Tenant-ID)
DEFAULT = "default"
STATES = {1: "PENDING", 2: "APPROVED", 3: "REJECTED", 4: "ACTIVE", 5: "EXPIRED", 6: "REVOKED"}
# Every table that holds tenant data, with the column that orders a dump of it.
TABLES = {"requests": "id", "approvals": "id", "credentials": "request_id", "policies": "id",
          "audit_events": "id"}


def other_id(prefix, n):
    """Ids that sort after every id the server makes now (newest first lists would show
    them on the first page)."""
    return f"{prefix}7ZZZZZZZZZZZZZZZZZZZZZZZ{n:02d}"


def rfc3339_ns(ns):
    seconds, frac = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def canonical(row):
    """The canonical text of an event (docs/storage.md): the tenant is part of it unless it
    is the default tenant."""
    obj = {
        "timestamp": rfc3339_ns(row["timestamp"]),
        "actor_identity": row["actor_identity"] or "",
        "action": row["action"] or "",
        "request_id": row["request_id"] or "",
        "provider": row["provider"] or "",
        "resource_scope": row["resource_scope"] or "",
        "outcome": row["outcome"] or "",
        "details": json.loads(row["details"]),
    }
    if row["tenant_id"] != DEFAULT:
        obj["tenant_id"] = row["tenant_id"]
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@contextlib.contextmanager
def connect(s):
    """A connection of the test's own (autocommit), closed at the end of the block."""
    db = sqlite3.connect(str(s.db_path), timeout=10, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    try:
        yield db
    finally:
        db.close()


def dump(s, tenant):
    """Every row of the tenant, table by table, as plain tuples."""
    with connect(s) as db:
        return {t: [tuple(r) for r in db.execute(
            f"SELECT * FROM {t} WHERE tenant_id = ? ORDER BY {order}", (tenant,))]
            for t, order in TABLES.items()}


def add_other_tenant(s, policy_names):
    """Writes the second tenant's rows (the server must be stopped). Returns what was made."""
    now = time.time_ns()
    past = now - 3600 * 1_000_000_000
    key = (s.dir / "audit.key").read_bytes()
    made = {"requests": {}, "policies": [], "events": []}
    with connect(s) as db:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO tenants (id, name, created_at) VALUES (?, 'other', ?)",
                   (OTHER, now))
        for state, name in STATES.items():
            rid = other_id("req_", state)
            made["requests"][name] = rid
            granted = state in (2, 4)
            # Every deadline is past: a sweeper that saw these rows would change them.
            db.execute(
                "INSERT INTO requests (tenant_id, id, state, requester_identity, provider,"
                " role, resource_scope, duration_seconds, reason, break_glass, metadata,"
                " created_at, updated_at, pending_expires_at, issued_at, expires_at,"
                " approver_tier, required_approvals, decided_by, decision_reason,"
                " revocation_pending, revoke_attempts, revoke_next_attempt_at, host)"
                " VALUES (?, ?, ?, ?, 'aws', 'prod-infra-admin', '123456789012', 3600,"
                " 'other tenant', 0, '{}', ?, ?, ?, ?, ?, 'human', 1, ?, ?, ?, 0, ?, NULL)",
                (OTHER, rid, state, ALICE[0], past, past, past, past if granted else 0,
                 past if granted else 0, BOB[0] if state in (3, 6) else None,
                 "no" if state in (3, 6) else None, 1 if state == 6 else 0,
                 past if state == 6 else 0))
            if state in (2, 4, 6):
                db.execute("INSERT INTO approvals (tenant_id, request_id, approver_identity,"
                           " comment, approved_at) VALUES (?, ?, ?, 'ok', ?)",
                           (OTHER, rid, BOB[0], past))
            if granted:
                db.execute("INSERT INTO credentials (tenant_id, request_id, sealed)"
                           " VALUES (?, ?, ?)", (OTHER, rid, b"\x01sealed-elsewhere" * 4))
        # The same name as a default-tenant policy, and one only the other tenant has.
        for n, name in enumerate(list(policy_names) + ["tenant-b-only"]):
            pid = other_id("pol_", n)
            made["policies"].append((pid, name))
            db.execute("INSERT INTO policies (tenant_id, id, name, type, rego, description,"
                       " enabled, created_at, updated_at, updated_by) VALUES (?, ?, ?, 1, ?,"
                       " 'other tenant', 1, ?, ?, ?)",
                       (OTHER, pid, name, "package jitsudo.eligibility\n", past, past,
                        ALICE[0]))
        # Events of the other tenant, appended to the one chain with the chain's key.
        last = db.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1").fetchone()
        next_id, prev = last["id"] + 1, last["hash"]
        for n, (actor, action, rid) in enumerate([
                (ALICE[0], "request.created", made["requests"]["PENDING"]),
                (BOB[0], "request.approved", made["requests"]["APPROVED"]),
                (ADMIN[0], "policy.applied", None)]):
            row = {"id": next_id + n, "tenant_id": OTHER, "timestamp": past + n,
                   "actor_identity": actor, "action": action, "request_id": rid,
                   "provider": "aws" if rid else None,
                   "resource_scope": "123456789012" if rid else None, "outcome": "success",
                   "details": json.dumps({"tenant": "other"})}
            row["prev_hash"] = prev
            row["hash"] = hmac.new(key, prev.encode() + canonical(row), hashlib.sha256).hexdigest()
            prev = row["hash"]
            db.execute("INSERT INTO audit_events (id, tenant_id, timestamp, actor_identity,"
                       " action, request_id, provider, resource_scope, outcome, details,"
                       " prev_hash, hash) VALUES (:id, :tenant_id, :timestamp, :actor_identity,"
                       " :action, :request_id, :provider, :resource_scope, :outcome, :details,"
                       " :prev_hash, :hash)", row)
            made["events"].append(row["id"])
        db.execute("COMMIT")
    return made


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with default-tenant activity and a second tenant's rows."""
    if not harness.BIN.exists():
        pytest.fail(f"{harness.BIN} is not built", pytrace=False)
    s = harness.Server(tmp_path_factory.mktemp("tenancy"))
    s.start()
    try:
        alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
        mine = {
            "pending": alice.create_ok(reason="default pending")["id"],
            "lapsing": alice.create_ok(reason="lapses at the next start")["id"],
            "approved": approved_request(alice, bob)["id"],
            "active": active_request(alice, bob)["id"],
        }
        names = [p["name"] for p in expect(admin.policies(), 200)["policies"]]
        assert names, "the default policies are loaded"
        s.stop()
        # A default-tenant request whose pending deadline passed while the server was down:
        # the sweeper's work at start, which shows that it ran.
        with connect(s) as db:
            db.execute("UPDATE requests SET pending_expires_at = ? WHERE id = ?",
                       (time.time_ns() - 5_000_000_000, mine["lapsing"]))
        made = add_other_tenant(s, names)
        before = dump(s, OTHER)
        s.start()
        wait_for(lambda: alice.state(mine["lapsing"]) == "REQUEST_STATE_EXPIRED", 5,
                 what="the sweeper to expire the default tenant's lapsed request")
        yield {"server": s, "mine": mine, "made": made, "before": before, "names": names}
    finally:
        s.stop()


def other_request_ids(world):
    return set(world["made"]["requests"].values())


def listed(client, **params):
    ids, token = [], ""
    while True:
        p = dict(params, page_size=1000)
        if token:
            p["page_token"] = token
        body = expect(client.list(**p), 200)
        ids += [r["id"] for r in body["requests"]]
        token = body.get("next_page_token")
        if not token:
            return ids


def test_migration_put_everything_in_the_default_tenant(world):
    s = world["server"]
    with connect(s) as db:
        tenants = {r["id"]: r["name"] for r in db.execute("SELECT id, name FROM tenants")}
        assert tenants == {DEFAULT: "Default", OTHER: "other"}
        for table in TABLES:
            cols = {r["name"]: r for r in db.execute(f"PRAGMA table_info({table})")}
            assert cols["tenant_id"]["notnull"] == 1, table
            refs = {r["table"] for r in db.execute(f"PRAGMA foreign_key_list({table})")}
            assert "tenants" in refs, table
            # Every row the server wrote is the default tenant's.
            tenants_seen = {r[0] for r in db.execute(f"SELECT DISTINCT tenant_id FROM {table}")}
            assert tenants_seen <= {DEFAULT, OTHER}
            assert DEFAULT in tenants_seen or table == "credentials", table


def test_lists_never_show_the_other_tenant(world):
    s, others = world["server"], other_request_ids(world)
    alice, admin, bob = s.client(ALICE), s.client(ADMIN), s.client(BOB)
    with connect(s) as db:
        default_count = db.execute(
            "SELECT count(*) FROM requests WHERE tenant_id = 'default'").fetchone()[0]
    everything = listed(admin)
    assert len(everything) == default_count and not others & set(everything)
    assert not others & set(listed(alice, mine="true"))
    assert not others & set(listed(alice))
    assert not others & set(listed(bob, pending="true"))
    for name in STATES.values():
        got = listed(admin, state=f"REQUEST_STATE_{name}")
        assert world["made"]["requests"][name] not in got, name


def test_get_of_another_tenants_request_is_not_found(world):
    s = world["server"]
    for who in (ALICE, BOB, CAROL, ADMIN):
        client = s.client(who)
        for rid in other_request_ids(world):
            expect(client.get(rid), 404, "not_found")


def test_verbs_on_another_tenants_requests_are_not_found(world):
    s, made = world["server"], world["made"]["requests"]
    alice, bob, admin = s.client(ALICE), s.client(BOB), s.client(ADMIN)
    for rid in made.values():
        expect(bob.approve(rid, "cross-tenant"), 404, "not_found")
        expect(bob.deny(rid, "cross-tenant"), 404, "not_found")
        expect(admin.revoke(rid, "cross-tenant"), 404, "not_found")
        expect(alice.revoke(rid, "cross-tenant"), 404, "not_found")
        expect(alice.credentials(rid), 404, "not_found")


def test_policies_of_another_tenant_are_invisible_and_untouched(world):
    s = world["server"]
    alice, admin = s.client(ALICE), s.client(ADMIN)
    other_ids = {pid for pid, _ in world["made"]["policies"]}
    listed_policies = expect(admin.policies(), 200)["policies"]
    assert not other_ids & {p["id"] for p in listed_policies}
    assert sorted(p["name"] for p in listed_policies) == sorted(world["names"])
    for pid in other_ids:
        expect(alice.call("GET", f"policies/{pid}"), 404, "not_found")
        expect(admin.call("GET", f"policies/{pid}"), 404, "not_found")
        expect(admin.delete_policy(pid), 404, "not_found")
    # A name the other tenant uses is free in the default tenant: a new policy of its own.
    rego = "package jitsudo.eligibility\n\nimport rego.v1\n\nallow if false\n"
    out = expect(admin.apply_policy("tenant-b-only", "POLICY_TYPE_ELIGIBILITY", rego), 200)
    created = out["policy"]
    assert created["id"] not in other_ids
    # A name both tenants have is updated in the default tenant only.
    shared = world["names"][0]
    mine = next(p for p in listed_policies if p["name"] == shared)
    again = expect(admin.apply_policy(shared, mine["type"], mine["rego"],
                                      description="default tenant's"), 200)["policy"]
    assert again["id"] == mine["id"]
    names = [p["name"] for p in expect(admin.policies(), 200)["policies"]]
    assert names.count("tenant-b-only") == 1 and names.count(shared) == 1
    expect(admin.delete_policy(created["id"]), 200)


def test_audit_never_shows_the_other_tenant(world):
    s = world["server"]
    admin, alice, bob = s.client(ADMIN), s.client(ALICE), s.client(BOB)
    other_events = set(world["made"]["events"])
    for client in (admin, alice, bob):
        events = client.audit_all()
        assert events and not other_events & {int(e["id"]) for e in events}
        assert not other_request_ids(world) & {e.get("request_id") for e in events}
    for rid in other_request_ids(world):
        assert admin.audit_all(request_id=rid) == []
    mine = admin.audit_all(actor_identity=ALICE[0])
    assert mine and not other_events & {int(e["id"]) for e in mine}


def test_the_other_tenants_rows_never_changed(world):
    """Runs after the verbs above (module order) and after the sweeper's round at start,
    for which every deadline of the other tenant was due."""
    s = world["server"]
    time.sleep(1.5)  # a revocation due is retried within a second; none may have been tried
    assert dump(s, OTHER) == world["before"]
    # The sweeper never even found them due (it would fail to load them, and say so).
    assert "sweeper:" not in s.log(), s.log()[-2000:]


def test_one_chain_over_both_tenants_verifies(world):
    s = world["server"]
    p = s.audit_verify()
    assert p.returncode == 0, p.stdout + p.stderr


def test_an_event_moved_between_tenants_is_caught(world):
    s = world["server"]
    moved = world["made"]["events"][0]
    s.stop()
    with connect(s) as db:
        db.execute("UPDATE audit_events SET tenant_id = 'default' WHERE id = ?", (moved,))
    p = s.audit_verify()
    assert p.returncode != 0, p.stdout
    assert f"event {moved}" in p.stdout + p.stderr, p.stdout + p.stderr
    with connect(s) as db:
        db.execute("UPDATE audit_events SET tenant_id = ? WHERE id = ?", (OTHER, moved))
    # and a default event moved to the other tenant
    with connect(s) as db:
        first = db.execute("SELECT min(id) FROM audit_events").fetchone()[0]
        db.execute("UPDATE audit_events SET tenant_id = ? WHERE id = ?", (OTHER, first))
    p = s.audit_verify()
    assert p.returncode != 0 and f"event {first}" in p.stdout + p.stderr, p.stdout + p.stderr
    with connect(s) as db:
        db.execute("UPDATE audit_events SET tenant_id = 'default' WHERE id = ?", (first,))
    assert s.audit_verify().returncode == 0
