# Who may do what, as one table: the requester, an approver (by the approval policy), an
# unrelated user and an admin, against every action. Each cell runs on fresh requests.
import pytest

from harness import approved_request, expect

SCRATCH_REGO = ('package jitsudo.eligibility\n\nimport rego.v1\n\n'
                'allow if input.user.email == "nobody@invalid.example"\n')


def fresh(people):
    return people["alice"].create_ok(reason="permission matrix")


def do_get(people, actor):
    r = actor.get(fresh(people)["id"])
    return r.status_code, None


def do_list(people, actor):
    rid = fresh(people)["id"]
    r = actor.list(page_size=1000)
    return r.status_code, r.status_code == 200 and rid in [x["id"] for x in r.json()["requests"]]


def do_approve(people, actor):
    r = actor.approve(fresh(people)["id"])
    return r.status_code, r.json().get("request", {}).get("state")


def do_deny(people, actor):
    r = actor.deny(fresh(people)["id"], "matrix")
    return r.status_code, r.json().get("request", {}).get("state")


def do_revoke(people, actor):
    r = actor.revoke(fresh(people)["id"], "matrix")
    return r.status_code, r.json().get("request", {}).get("state")


def do_revoke_granted(people, actor):
    req = approved_request(people["alice"], people["bob"])
    r = actor.revoke(req["id"], "matrix")
    return r.status_code, r.json().get("request", {}).get("state")


def do_credentials(people, actor):
    req = approved_request(people["alice"], people["bob"])
    r = actor.credentials(req["id"])
    return r.status_code, "grant" in r.json()


def do_policy_read(people, actor):
    r = actor.policies()
    if r.status_code != 200:
        return r.status_code, None
    first = r.json()["policies"][0]["id"]
    r2 = actor.call("GET", f"policies/{first}")
    return r2.status_code, r2.json().get("policy", {}).get("id") == first


def do_policy_write(people, actor):
    name = f"matrix-{actor.email.split('@')[0]}"
    r = actor.apply_policy(name, "POLICY_TYPE_ELIGIBILITY", SCRATCH_REGO)
    stored = [p for p in expect(people["admin"].policies(), 200)["policies"]
              if p["name"] == name]
    for p in stored:
        expect(people["admin"].delete_policy(p["id"]), 200)
    return r.status_code, bool(stored)


def do_policy_delete(people, actor):
    admin = people["admin"]
    name = f"matrix-del-{actor.email.split('@')[0]}"
    pid = expect(admin.apply_policy(name, "POLICY_TYPE_ELIGIBILITY", SCRATCH_REGO),
                 200)["policy"]["id"]
    r = actor.delete_policy(pid)
    left = admin.call("GET", f"policies/{pid}").status_code
    if left == 200:
        expect(admin.delete_policy(pid), 200)
    return r.status_code, left == 404


def do_reload(people, actor):
    r = actor.reload()
    return r.status_code, r.json().get("policies_loaded") is not None


def do_eval(people, actor):
    r = actor.eval({"user": {"email": "x@example.com", "groups": ["sre"]},
                    "request": {"provider": "aws", "role": "r"}})
    return r.status_code, r.json().get("allowed")


def do_audit(people, actor):
    rid = fresh(people)["id"]
    r = actor.audit(request_id=rid)
    return r.status_code, r.status_code == 200 and len(r.json()["events"]) > 0


ACTIONS = {
    "get": do_get,
    "list": do_list,
    "approve": do_approve,
    "deny": do_deny,
    "revoke": do_revoke,
    "revoke_granted": do_revoke_granted,
    "credentials": do_credentials,
    "policy_read": do_policy_read,
    "policy_write": do_policy_write,
    "policy_delete": do_policy_delete,
    "reload": do_reload,
    "eval": do_eval,
    "audit": do_audit,
}

P, A, R = "REQUEST_STATE_PENDING", "REQUEST_STATE_APPROVED", "REQUEST_STATE_REJECTED"
V = "REQUEST_STATE_REVOKED"

# (action, actor) -> (status, what the second value must be; None = not checked)
MATRIX = {
    ("get", "requester"): (200, None),
    ("get", "approver"): (200, None),
    ("get", "other"): (404, None),
    ("get", "admin"): (200, None),
    ("list", "requester"): (200, True),
    ("list", "approver"): (200, True),
    ("list", "other"): (200, False),
    ("list", "admin"): (200, True),
    ("approve", "requester"): (403, None),
    ("approve", "approver"): (200, A),
    ("approve", "other"): (404, None),
    ("approve", "admin"): (403, None),
    ("deny", "requester"): (403, None),
    ("deny", "approver"): (200, R),
    ("deny", "other"): (404, None),
    ("deny", "admin"): (403, None),
    ("revoke", "requester"): (200, V),
    ("revoke", "approver"): (200, V),
    ("revoke", "other"): (404, None),
    ("revoke", "admin"): (200, V),
    ("revoke_granted", "requester"): (200, V),
    ("revoke_granted", "approver"): (200, V),
    ("revoke_granted", "other"): (404, None),
    ("revoke_granted", "admin"): (200, V),
    ("credentials", "requester"): (200, True),
    ("credentials", "approver"): (403, False),
    ("credentials", "other"): (404, False),
    ("credentials", "admin"): (403, False),
    ("policy_read", "requester"): (200, True),
    ("policy_read", "approver"): (200, True),
    ("policy_read", "other"): (200, True),
    ("policy_read", "admin"): (200, True),
    ("policy_write", "requester"): (403, False),
    ("policy_write", "approver"): (403, False),
    ("policy_write", "other"): (403, False),
    ("policy_write", "admin"): (200, True),
    ("policy_delete", "requester"): (403, False),
    ("policy_delete", "approver"): (403, False),
    ("policy_delete", "other"): (403, False),
    ("policy_delete", "admin"): (200, True),
    ("reload", "requester"): (403, False),
    ("reload", "approver"): (403, False),
    ("reload", "other"): (403, False),
    ("reload", "admin"): (200, True),
    ("eval", "requester"): (200, True),
    ("eval", "approver"): (200, True),
    ("eval", "other"): (200, True),
    ("eval", "admin"): (200, True),
    ("audit", "requester"): (200, True),
    ("audit", "approver"): (200, True),
    ("audit", "other"): (200, False),
    ("audit", "admin"): (200, True),
}

ACTORS = {"requester": "alice", "approver": "bob", "other": "eve", "admin": "admin"}


def test_matrix_is_complete():
    assert set(MATRIX) == {(a, b) for a in ACTIONS for b in ACTORS}


@pytest.mark.parametrize("action,actor", sorted(MATRIX))
def test_permission(people, action, actor):
    status, extra = MATRIX[(action, actor)]
    got_status, got_extra = ACTIONS[action](people, people[ACTORS[actor]])
    assert got_status == status, f"{actor} {action}: status {got_status}, want {status}"
    if extra is not None:
        assert got_extra == extra, f"{actor} {action}: got {got_extra!r}, want {extra!r}"


def test_refusals_are_audited(people):
    eve, bob, admin, alice = people["eve"], people["bob"], people["admin"], people["alice"]
    expect(eve.apply_policy("sneaky", "POLICY_TYPE_ELIGIBILITY", SCRATCH_REGO), 403,
           "permission_denied")
    expect(eve.reload(), 403, "permission_denied")
    req = approved_request(alice, bob)
    expect(bob.credentials(req["id"]), 403, "permission_denied")
    mine = {e["action"]: e for e in admin.audit_all(actor_identity="eve@example.com")}
    assert mine["policy.apply_refused"]["outcome"] == "denied"
    assert mine["policy.reload_refused"]["outcome"] == "denied"
    bobs = [e for e in admin.audit_all(request_id=req["id"])
            if e["action"] == "grant.fetch_refused"]
    assert bobs and bobs[0]["actor_identity"] == "bob@example.com"
    assert bobs[0]["outcome"] == "denied"
