# The state machine through the API: every legal transition, the illegal ones (409),
# self-approval, two approvers, the auto tier, break-glass, a failing provider, credentials
# and expiry of a short grant by the sweeper.
import time

import pytest

from harness import (active_request, approved_request, details, expect, parse_time,
                     wait_for)

PENDING = "REQUEST_STATE_PENDING"
APPROVED = "REQUEST_STATE_APPROVED"
ACTIVE = "REQUEST_STATE_ACTIVE"
REJECTED = "REQUEST_STATE_REJECTED"
REVOKED = "REQUEST_STATE_REVOKED"
EXPIRED = "REQUEST_STATE_EXPIRED"


def actions(admin, rid):
    return [e["action"] for e in admin.audit_all(request_id=rid)]


# ---- legal transitions -----------------------------------------------------------------


def test_pending_to_approved(alice, bob, admin):
    req = alice.create_ok()
    before = time.time()
    out = expect(bob.approve(req["id"], "Approved for INC-4421"), 200)["request"]
    after = time.time()
    assert out["state"] == APPROVED
    issued, expires = parse_time(out["issued_at"]), parse_time(out["expires_at"])
    assert before - 1 <= issued <= after + 1
    assert abs((expires - issued) - 3600) <= 1
    assert len(out["approvals"]) == 1
    a = out["approvals"][0]
    assert a["approver_identity"] == "bob@example.com"
    assert a["comment"] == "Approved for INC-4421"
    assert parse_time(a["approved_at"])
    assert expect(alice.get(req["id"]), 200)["request"]["state"] == APPROVED
    acts = actions(admin, req["id"])
    assert acts[:3] == ["request.created", "request.approved", "grant.issued"], acts


def test_approve_without_body(alice, bob):
    req = alice.create_ok()
    r = bob.call("POST", f"requests/{req['id']}/approve")
    assert expect(r, 200)["request"]["state"] == APPROVED


def test_approved_to_active_on_first_fetch(alice, bob, admin):
    req = approved_request(alice, bob)
    grant = expect(alice.credentials(req["id"]), 200)["grant"]
    assert grant["request_id"] == req["id"]
    names = [c["name"] for c in grant["credentials"]]
    assert names == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                     "AWS_DEFAULT_REGION"]
    values = {c["name"]: c["value"] for c in grant["credentials"]}
    assert values["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert len(values["AWS_ACCESS_KEY_ID"]) == 20
    assert len(values["AWS_SECRET_ACCESS_KEY"]) == 40
    assert values["AWS_SESSION_TOKEN"] and values["AWS_DEFAULT_REGION"]
    assert grant["issued_at"] == req["issued_at"] or \
        abs(parse_time(grant["issued_at"]) - parse_time(req["issued_at"])) < 1
    assert abs(parse_time(grant["expires_at"]) - parse_time(req["expires_at"])) < 1
    assert alice.state(req["id"]) == ACTIVE
    # a second fetch gives the same credentials and stays ACTIVE
    again = expect(alice.credentials(req["id"]), 200)["grant"]
    assert again["credentials"] == grant["credentials"]
    assert alice.state(req["id"]) == ACTIVE
    acts = actions(admin, req["id"])
    assert acts.count("request.activated") == 1, acts
    assert acts.count("grant.fetched") == 2, acts


def test_secrets_not_in_audit_or_request(alice, bob, admin):
    req = approved_request(alice, bob)
    grant = expect(alice.credentials(req["id"]), 200)["grant"]
    secret = next(c["value"] for c in grant["credentials"]
                  if c["name"] == "AWS_SECRET_ACCESS_KEY")
    for e in admin.audit_all(request_id=req["id"]):
        assert secret not in str(e)
    assert secret not in alice.get(req["id"]).text


@pytest.mark.parametrize("provider,scope,names", [
    ("kubernetes", "*", ["KUBECONFIG_DATA", "KUBE_NAMESPACE"]),
    ("kubernetes", "team-a", ["KUBECONFIG_DATA", "KUBE_NAMESPACE"]),
    ("gcp", "my-gcp-project", ["CLOUDSDK_AUTH_ACCESS_TOKEN", "CLOUDSDK_CORE_PROJECT"]),
    ("azure", "0b1f6471-1bf0-4dda-aec3-cb9272f09590",
     ["AZURE_ACCESS_TOKEN", "AZURE_SUBSCRIPTION_ID"]),
])
def test_credentials_per_provider(alice, bob, provider, scope, names):
    req = approved_request(alice, bob, provider=provider, resource_scope=scope, role="view")
    grant = expect(alice.credentials(req["id"]), 200)["grant"]
    values = {c["name"]: c["value"] for c in grant["credentials"]}
    assert sorted(values) == sorted(names), values.keys()
    assert all(values.values())
    if provider == "kubernetes":
        assert "apiVersion" in values["KUBECONFIG_DATA"] or "clusters" in \
            values["KUBECONFIG_DATA"]
        if scope != "*":
            assert values["KUBE_NAMESPACE"] == scope


def test_pending_to_rejected(alice, bob, admin):
    req = alice.create_ok()
    out = expect(bob.deny(req["id"], "Not authorized for production access"), 200)["request"]
    assert out["state"] == REJECTED
    assert out["decided_by"] == "bob@example.com"
    assert out["decision_reason"] == "Not authorized for production access"
    assert "request.rejected" in actions(admin, req["id"])


def test_pending_withdrawn_by_requester(alice, admin):
    req = alice.create_ok()
    out = expect(alice.revoke(req["id"], "not needed"), 200)["request"]
    assert out["state"] == REVOKED
    assert out["decided_by"] == "alice@example.com"
    assert not out.get("revocation_pending"), "nothing was granted, nothing to revoke"
    acts = actions(admin, req["id"])
    assert "request.revoked" in acts and "grant.revoked" not in acts


@pytest.mark.parametrize("start", ["approved", "active"])
def test_revoke_granted(alice, bob, admin, start):
    make = approved_request if start == "approved" else active_request
    req = make(alice, bob)
    out = expect(bob.revoke(req["id"], "Incident resolved"), 200)["request"]
    assert out["state"] == REVOKED
    assert out["decided_by"] == "bob@example.com"
    assert out["decision_reason"] == "Incident resolved"
    # the credentials endpoint stops serving at once
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    # the mock confirms at once: no revocation left pending
    wait_for(lambda: not expect(alice.get(req["id"]), 200)["request"].get("revocation_pending"),
             3, what="revocation_pending to clear")
    acts = actions(admin, req["id"])
    assert "request.revoked" in acts and "grant.revoked" in acts, acts


# ---- illegal transitions ---------------------------------------------------------------


def test_approve_twice(alice, bob, carol):
    req = approved_request(alice, bob)
    expect(bob.approve(req["id"]), 409, "failed_precondition")
    expect(carol.approve(req["id"]), 409, "failed_precondition")
    assert alice.state(req["id"]) == APPROVED


def test_approve_rejected(alice, bob, carol):
    req = alice.create_ok()
    expect(bob.deny(req["id"], "no"), 200)
    expect(carol.approve(req["id"]), 409, "failed_precondition")
    assert alice.state(req["id"]) == REJECTED
    expect(alice.credentials(req["id"]), 409, "failed_precondition")


def test_approve_revoked(alice, bob):
    req = alice.create_ok()
    expect(alice.revoke(req["id"]), 200)
    expect(bob.approve(req["id"]), 409, "failed_precondition")


def test_deny_active(alice, bob, carol):
    req = active_request(alice, bob)
    expect(carol.deny(req["id"], "too late"), 409, "failed_precondition")
    assert alice.state(req["id"]) == ACTIVE


def test_deny_approved(alice, bob, carol):
    req = approved_request(alice, bob)
    expect(carol.deny(req["id"], "too late"), 409, "failed_precondition")


def test_deny_twice(alice, bob, carol):
    req = alice.create_ok()
    expect(bob.deny(req["id"], "no"), 200)
    expect(carol.deny(req["id"], "no again"), 409, "failed_precondition")


@pytest.mark.parametrize("end", ["rejected", "revoked"])
def test_revoke_final(alice, bob, end):
    req = alice.create_ok()
    if end == "rejected":
        expect(bob.deny(req["id"], "no"), 200)
    else:
        expect(alice.revoke(req["id"]), 200)
    expect(alice.revoke(req["id"]), 409, "failed_precondition")
    expect(bob.revoke(req["id"]), 409, "failed_precondition")


def test_credentials_of_pending(alice):
    req = alice.create_ok()
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    assert alice.state(req["id"]) == PENDING


def test_credentials_after_revoke(alice, bob):
    req = active_request(alice, bob)
    expect(alice.revoke(req["id"]), 200)
    expect(alice.credentials(req["id"]), 409, "failed_precondition")


def test_deny_and_revoke_need_a_reason(alice, bob):
    req = alice.create_ok()
    for verb in ("deny", "revoke"):
        for body in ({}, {"reason": ""}, {"reason": 5}, {"comment": "x"}):
            r = bob.call("POST", f"requests/{req['id']}/{verb}", json_body=body)
            expect(r, 400, "invalid_argument")
        expect(bob.call("POST", f"requests/{req['id']}/{verb}"), 400, "invalid_argument")
    assert alice.state(req["id"]) == PENDING


def test_decision_bodies_are_strict(alice, bob):
    req = alice.create_ok()
    rid = req["id"]
    expect(bob.call("POST", f"requests/{rid}/approve", json_body={"colour": "x"}), 400,
           "invalid_argument", contains="colour")
    expect(bob.call("POST", f"requests/{rid}/approve", json_body={"comment": 7}), 400,
           "invalid_argument", contains="comment")
    expect(bob.call("POST", f"requests/{rid}/approve", data="{"), 400, "invalid_argument")
    expect(bob.call("POST", f"requests/{rid}/approve",
                    json_body={"request_id": "req_01J8KZ4F2EMNQZ3V7XKQYBD4WX"}),
           400, "invalid_argument", contains="request_id")
    assert alice.state(rid) == PENDING
    # the request_id of the path in the body is fine
    expect(bob.call("POST", f"requests/{rid}/approve", json_body={"request_id": rid}), 200)


# ---- who approves ----------------------------------------------------------------------


def test_self_approval_refused(server, admin):
    # even someone who is an approver by policy may not approve their own request
    both = server.client(("dana@example.com", ("sre", "approvers")))
    req = both.create_ok()
    expect(both.approve(req["id"]), 403, "permission_denied")
    expect(both.deny(req["id"], "self"), 403, "permission_denied")
    assert both.state(req["id"]) == PENDING
    events = admin.audit_all(request_id=req["id"])
    refused = [e for e in events if e["action"] == "request.approve_refused"]
    assert refused and refused[0]["outcome"] == "denied"
    assert refused[0]["actor_identity"] == "dana@example.com"


def test_approver_by_policy_only(alice, eve, admin):
    req = alice.create_ok()
    # eve is not an approver: she may not even see it
    expect(eve.approve(req["id"]), 404, "not_found")
    # the admin sees it, but the approval policy does not make admins approvers
    expect(admin.approve(req["id"]), 403, "permission_denied", contains="only members of "
           "approvers")
    assert alice.state(req["id"]) == PENDING


def test_two_approvers(alice, bob, carol, admin):
    req = alice.create_ok(role="two-person-role")
    assert req["required_approvals"] == 2
    first = expect(bob.approve(req["id"], "one"), 200)["request"]
    assert first["state"] == PENDING
    assert [a["approver_identity"] for a in first["approvals"]] == ["bob@example.com"]
    assert not first.get("issued_at")
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    # the same approver again
    expect(bob.approve(req["id"], "one again"), 409, "failed_precondition")
    assert alice.state(req["id"]) == PENDING
    # the requester still may not
    expect(alice.approve(req["id"]), 403, "permission_denied")
    second = expect(carol.approve(req["id"], "two"), 200)["request"]
    assert second["state"] == APPROVED
    assert [a["approver_identity"] for a in second["approvals"]] == [
        "bob@example.com", "carol@example.com"]
    assert second["issued_at"] and second["expires_at"]
    acts = actions(admin, req["id"])
    assert acts.count("request.approval_recorded") == 1, acts
    assert acts.count("request.approved") == 1, acts
    assert acts.count("grant.issued") == 1, acts
    expect(alice.credentials(req["id"]), 200)


def test_two_approvers_deny_after_first_approval(alice, bob, carol):
    req = alice.create_ok(role="two-person-role")
    expect(bob.approve(req["id"]), 200)
    out = expect(carol.deny(req["id"], "no"), 200)["request"]
    assert out["state"] == REJECTED


def test_auto_tier(alice, admin):
    out = alice.create_ok(role="auto-role")
    assert out["approver_tier"] == "auto"
    assert out["state"] == APPROVED
    assert out["issued_at"] and out["expires_at"]
    grant = expect(alice.credentials(out["id"]), 200)["grant"]
    assert grant["credentials"]
    assert alice.state(out["id"]) == ACTIVE
    events = admin.audit_all(request_id=out["id"])
    approved = [e for e in events if e["action"] == "request.approved"]
    assert approved and approved[0]["actor_identity"] == "policy", approved
    assert "grant.issued" in [e["action"] for e in events]


# ---- break-glass -----------------------------------------------------------------------


def test_break_glass(alice, admin):
    out = alice.create_ok(break_glass=True, reason="datacenter on fire")
    assert out["break_glass"] is True
    assert out["state"] == ACTIVE
    assert out["issued_at"] and out["expires_at"]
    grant = expect(alice.credentials(out["id"]), 200)["grant"]
    assert grant["credentials"]
    assert alice.state(out["id"]) == ACTIVE
    expect(alice.revoke(out["id"], "fire out"), 200)
    wait_for(lambda: "grant.revoked" in actions(admin, out["id"]), 3, what="grant.revoked")
    events = admin.audit_all(request_id=out["id"])
    acts = [e["action"] for e in events]
    for a in ("request.created", "request.approved", "grant.issued", "grant.fetched",
              "request.revoked", "grant.revoked"):
        assert a in acts, acts
    for e in events:
        assert details(e).get("break_glass") is True, e


def test_break_glass_ineligible(mallory, admin):
    expect(mallory.create(break_glass=True), 403, "permission_denied",
           contains="only sre and dev")
    assert expect(mallory.list(mine="true"), 200)["requests"] == []
    refused = [e for e in admin.audit_all(actor_identity="mallory@example.com")
               if e["action"] == "request.refused"]
    assert any(details(e).get("break_glass") is True and e["outcome"] == "denied"
               for e in refused), refused


def test_break_glass_forbidden_role(alice):
    expect(alice.create(break_glass=True, role="forbidden-role"), 403, "permission_denied")


# ---- provider failure ------------------------------------------------------------------


def test_provider_failure_on_approve(alice, bob, admin):
    req = alice.create_ok(role="broken-role")
    expect(bob.approve(req["id"], "try"), 502, "provider_error")
    now = expect(alice.get(req["id"]), 200)["request"]
    assert now["state"] == PENDING
    assert not now.get("approvals"), now
    assert not now.get("issued_at")
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    failed = [e for e in admin.audit_all(request_id=req["id"]) if e["action"] == "grant.failed"]
    assert len(failed) == 1 and failed[0]["outcome"] == "failure"
    assert failed[0]["actor_identity"] == "bob@example.com"
    # it can still be denied (or approved once the provider works)
    expect(bob.deny(req["id"], "provider down"), 200)


def test_provider_failure_on_break_glass(alice):
    before = len(expect(alice.list(mine="true", page_size=1000), 200)["requests"])
    expect(alice.create(role="broken-role", break_glass=True), 502, "provider_error")
    after = len(expect(alice.list(mine="true", page_size=1000), 200)["requests"])
    assert after == before, "a failed break-glass grant leaves no request behind"


def test_provider_failure_on_auto_tier_stays_pending(alice, admin):
    # auto-broken-role: the auto tier by policy, and the mock fails its grants
    req = alice.create_ok(role="auto-broken-role")
    assert req["approver_tier"] == "auto"
    assert req["state"] == PENDING, "a failed auto grant must leave the request PENDING"
    assert not req.get("issued_at")
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    events = admin.audit_all(request_id=req["id"])
    assert [e["action"] for e in events] == ["request.created", "grant.failed"], events
    assert events[1]["outcome"] == "failure"


# ---- expiry ----------------------------------------------------------------------------


def test_grant_expires_on_time(alice, bob, admin):
    req = alice.create_ok(duration_seconds=2)
    t0 = time.time()
    out = expect(bob.approve(req["id"]), 200)["request"]
    t1 = time.time()
    assert abs(parse_time(out["expires_at"]) - parse_time(out["issued_at"]) - 2) <= 1
    expect(alice.credentials(req["id"]), 200)
    assert alice.state(req["id"]) == ACTIVE
    # not before its time: still ACTIVE shortly before t0 + 2
    remaining = (t0 + 2 - 0.3) - time.time()
    if remaining > 0:
        time.sleep(remaining)
    assert alice.state(req["id"]) == ACTIVE, "expired early"
    # EXPIRED within 1 s after the real expiry (at most t1 + 2)
    wait_for(lambda: alice.state(req["id"]) == EXPIRED, timeout=(t1 + 2 + 1.0) - time.time(),
             interval=0.05, what="EXPIRED within 1 s of expires_at")
    final = expect(alice.get(req["id"]), 200)["request"]
    assert final["decided_by"] == "system"
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
    expect(bob.revoke(req["id"]), 409, "failed_precondition")
    expect(alice.revoke(req["id"]), 409, "failed_precondition")
    wait_for(lambda: "grant.revoked" in actions(admin, req["id"]), 3,
             what="grant.revoked after expiry")
    acts = actions(admin, req["id"])
    assert "grant.expired" in acts, acts


def test_approved_never_fetched_expires(alice, bob):
    req = alice.create_ok(duration_seconds=1)
    expect(bob.approve(req["id"]), 200)
    t1 = time.time()
    wait_for(lambda: alice.state(req["id"]) == EXPIRED, timeout=(t1 + 1 + 1.0) - time.time(),
             what="EXPIRED within 1 s of expires_at")
    expect(alice.credentials(req["id"]), 409, "failed_precondition")
