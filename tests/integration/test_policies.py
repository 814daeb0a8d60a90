# Policies through the API: the defaults loaded on first start, upsert, disable, delete,
# compile errors (400 with line and column, nothing saved), reload-policies and
# policies:eval; and the repository's own default policies on a server of their own.
import json
import re

import pytest

from harness import (ADMIN, ALICE, MALLORY, REPO_POLICIES, TEST_POLICIES, details,
                     expect, parse_time)

ELIG = "POLICY_TYPE_ELIGIBILITY"
APPR = "POLICY_TYPE_APPROVAL"

CONTRACTOR = ("casey@example.com", ("contractors",))
CONTRACTOR_REGO = """package jitsudo.eligibility

import rego.v1

allow if {
	"contractors" in input.user.groups
	input.request.role == "readonly"
}
"""


def by_name(client):
    return {p["name"]: p for p in expect(client.policies(), 200)["policies"]}


def enabled_count(client):
    return sum(1 for p in by_name(client).values() if p["enabled"])


def test_defaults_loaded_on_first_start(server, alice):
    policies = by_name(alice)
    assert set(policies) == {"default-approval", "default-eligibility"}
    el, ap = policies["default-eligibility"], policies["default-approval"]
    assert el["type"] == ELIG and ap["type"] == APPR
    assert el["enabled"] and ap["enabled"]
    assert el["rego"] == (TEST_POLICIES / "eligibility.rego").read_text()
    assert ap["rego"] == (TEST_POLICIES / "approval.rego").read_text()
    assert "Eligibility for the integration tests" in el["description"]
    assert "Approval for the integration tests" in ap["description"]
    assert el["id"].startswith("pol_") and el["id"] != ap["id"]
    assert el["updated_by"] == "system"
    assert "2 policies loaded" in server.log()


def test_list_is_by_name_and_takes_no_parameters(alice):
    names = [p["name"] for p in expect(alice.policies(), 200)["policies"]]
    assert names == sorted(names)
    expect(alice.call("GET", "policies", params={"type": ELIG}), 400, "invalid_argument")


def test_get_policy(alice):
    el = by_name(alice)["default-eligibility"]
    got = expect(alice.call("GET", f"policies/{el['id']}"), 200)["policy"]
    assert got == el


def test_get_and_delete_unknown(alice, admin):
    expect(alice.call("GET", "policies/pol_00000000000000000000000000"), 404, "not_found")
    expect(alice.call("GET", "policies/nonsense"), 404, "not_found")
    expect(admin.delete_policy("pol_00000000000000000000000000"), 404, "not_found")


def test_apply_disable_delete(server, admin, alice):
    casey = server.client(CONTRACTOR)
    expect(casey.create(role="readonly"), 403, "permission_denied")
    before = enabled_count(admin)

    # apply: a new policy takes effect at once
    out = expect(admin.apply_policy("contractors", ELIG, CONTRACTOR_REGO,
                                    description="contractors read"), 200)["policy"]
    assert out["name"] == "contractors" and out["type"] == ELIG and out["enabled"] is True
    assert out["rego"] == CONTRACTOR_REGO and out["description"] == "contractors read"
    assert out["id"].startswith("pol_") and out["updated_by"] == "admin@example.com"
    parse_time(out["created_at"])
    casey.create_ok(role="readonly")
    expect(casey.create(role="admin"), 403, "permission_denied")
    assert enabled_count(admin) == before + 1
    # other policies still apply (several allow rules OR together)
    alice.create_ok()

    # upsert by name: same id and created_at, new text
    new_rego = CONTRACTOR_REGO.replace('"readonly"', '"viewer"')
    again = expect(admin.apply_policy("contractors", ELIG, new_rego), 200)["policy"]
    assert again["id"] == out["id"] and again["created_at"] == out["created_at"]
    assert again["rego"] == new_rego
    expect(casey.create(role="readonly"), 403, "permission_denied")
    casey.create_ok(role="viewer")
    assert [p for p in expect(admin.policies(), 200)["policies"]
            if p["name"] == "contractors"] == [again]

    # disabled: kept, but not in force
    off = expect(admin.apply_policy("contractors", ELIG, new_rego, enabled=False),
                 200)["policy"]
    assert off["enabled"] is False and off["id"] == out["id"]
    expect(casey.create(role="viewer"), 403, "permission_denied")
    assert enabled_count(admin) == before

    # deleted: gone
    expect(admin.delete_policy(out["id"]), 200)
    expect(admin.call("GET", f"policies/{out['id']}"), 404, "not_found")
    assert "contractors" not in by_name(admin)
    expect(admin.delete_policy(out["id"]), 404, "not_found")

    acts = [(e["action"], details(e).get("name")) for e in
            admin.audit_all(actor_identity="admin@example.com")]
    assert acts.count(("policy.applied", "contractors")) == 3, acts
    assert ("policy.deleted", "contractors") in acts


def test_compile_error_is_400_with_position_and_nothing_saved(admin, alice):
    before = by_name(admin)
    events_before = len(admin.audit_all())
    bad = "package jitsudo.eligibility\n\nimport rego.v1\n\nallow if {\n\tinput.user.email ==\n"
    body = expect(admin.apply_policy("broken", ELIG, bad), 400, "invalid_argument")
    assert re.search(r"\d+:\d+", body["message"]), body
    assert by_name(admin) == before
    alice.create_ok()  # the live set is untouched
    applied = [e for e in admin.audit_all() if e["action"] == "policy.applied"]
    assert not [e for e in applied if details(e).get("name") == "broken"]
    assert len(admin.audit_all()) >= events_before

    undefined = ("package jitsudo.eligibility\n\nimport rego.v1\n\n"
                 "allow if no_such_rule\n")
    body = expect(admin.apply_policy("broken2", ELIG, undefined), 400, "invalid_argument")
    assert re.search(r"\d+:\d+", body["message"]), body
    assert "broken2" not in by_name(admin)


def test_policy_conflicting_with_the_set_refused(admin, alice, mallory):
    # compiles alone, but a second `default allow` in the package breaks the set
    rego = "package jitsudo.eligibility\n\nimport rego.v1\n\ndefault allow := true\n"
    expect(admin.apply_policy("second-default", ELIG, rego), 400, "invalid_argument")
    assert "second-default" not in by_name(admin)
    expect(mallory.create(), 403, "permission_denied")
    alice.create_ok()


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "type": APPR, "rego": "package jitsudo.eligibility\nallow := true\n"},
     "package"),
    ({"name": "bad name!", "type": ELIG, "rego": "package jitsudo.eligibility\n"}, "name"),
    ({"name": "", "type": ELIG, "rego": "package jitsudo.eligibility\n"}, "name"),
    ({"name": "x", "type": "POLICY_TYPE_OTHER", "rego": "package jitsudo.eligibility\n"},
     "type"),
    ({"name": "x", "rego": "package jitsudo.eligibility\n"}, "type"),
    ({"name": "x", "type": ELIG}, "rego"),
    ({"name": "x", "type": ELIG, "rego": ""}, "rego"),
    ({"type": ELIG, "rego": "package jitsudo.eligibility\n"}, "name"),
    ({"name": "x", "type": ELIG, "rego": "package jitsudo.eligibility\n", "enabled": "yes"},
     "enabled"),
    ({"name": "x", "type": ELIG, "rego": "package jitsudo.eligibility\n", "colour": "red"},
     "colour"),
    ({"name": "x", "type": ELIG, "rego": 5}, "rego"),
])
def test_apply_bad_input(admin, body, field):
    before = by_name(admin)
    r = admin.call("POST", "policies", json_body=body)
    expect(r, 400, "invalid_argument", contains=field)
    assert by_name(admin) == before


def test_apply_malformed_json(admin):
    expect(admin.call("POST", "policies", data="{"), 400, "invalid_argument")


def test_reload_counts_enabled_policies(admin):
    body = expect(admin.reload(), 200)
    assert body == {"policies_loaded": enabled_count(admin)}
    assert body["policies_loaded"] == 2
    off = expect(admin.apply_policy("reload-off", ELIG, CONTRACTOR_REGO, enabled=False),
                 200)["policy"]
    assert expect(admin.reload(), 200)["policies_loaded"] == 2
    on = expect(admin.apply_policy("reload-on", ELIG, CONTRACTOR_REGO), 200)["policy"]
    assert expect(admin.reload(), 200)["policies_loaded"] == 3
    for p in (off, on):
        expect(admin.delete_policy(p["id"]), 200)
    assert expect(admin.reload(), 200)["policies_loaded"] == 2
    reloads = [e for e in admin.audit_all(actor_identity="admin@example.com")
               if e["action"] == "policy.reloaded"]
    assert [details(e).get("policies_loaded") for e in reloads][-4:] == [2, 2, 3, 2]


def test_reload_strict_body(admin):
    expect(admin.call("POST", "admin/reload-policies"), 200)  # no body is fine
    expect(admin.call("POST", "admin/reload-policies", json_body={"x": 1}), 400,
           "invalid_argument", contains="x")


def sre_input(email="alice@example.com", groups=("sre",), role="prod-admin"):
    return {"user": {"email": email, "groups": list(groups)},
            "request": {"provider": "aws", "role": role, "resource_scope": "123456789012",
                        "duration_seconds": 3600, "requester_identity": "alice@example.com"}}


def test_eval_eligibility(eve):
    body = expect(eve.eval(sre_input(), ELIG), 200)
    assert body["allowed"] is True and body["reason"] == ""
    assert json.loads(body["result_json"])["allow"] is True
    body = expect(eve.eval(sre_input(groups=()), ELIG), 200)
    assert body["allowed"] is False
    assert body["reason"] == "not eligible: only sre and dev may request (test policy)"
    assert json.loads(body["result_json"])["allow"] is False
    # the type defaults to eligibility, and the short enum name is accepted
    assert expect(eve.eval(sre_input()), 200)["allowed"] is True
    assert expect(eve.eval(sre_input(), "ELIGIBILITY"), 200)["allowed"] is True


def test_eval_approval(eve):
    body = expect(eve.eval(sre_input("bob@example.com", ("approvers",), "two-person-role"),
                           APPR), 200)
    assert body["allowed"] is True
    result = json.loads(body["result_json"])
    assert result["required_approvals"] == 2
    body = expect(eve.eval(sre_input("eve@example.com", ("dev",)), "APPROVAL"), 200)
    assert body["allowed"] is False
    assert body["reason"] == "only members of approvers may approve (test policy)"


def test_eval_is_a_dry_run(eve, admin):
    before = len(admin.audit_all())
    expect(eve.eval(sre_input()), 200)
    assert len(admin.audit_all()) == before


@pytest.mark.parametrize("body,field", [
    ({"input_json": "{", "type": ELIG}, "input_json"),
    ({"input_json": "[]", "type": ELIG}, "input_json"),
    ({"input_json": {"user": {}}, "type": ELIG}, "input_json"),
    ({"type": ELIG}, "input_json"),
    ({"input_json": "{}", "type": "POLICY_TYPE_NOPE"}, "type"),
    ({"input_json": "{}", "colour": "x"}, "colour"),
])
def test_eval_bad_input(eve, body, field):
    expect(eve.call("POST", "policies:eval", json_body=body), 400, "invalid_argument",
           contains=field)


# ---- the repository's default policies -------------------------------------------------


def test_repository_default_policies_load(make_server):
    assert (REPO_POLICIES / "eligibility.rego").is_file(), "policies/eligibility.rego missing"
    assert (REPO_POLICIES / "approval.rego").is_file(), "policies/approval.rego missing"
    s = make_server(policies_dir=REPO_POLICIES)
    admin = s.client(ADMIN)
    policies = by_name(admin)
    assert set(policies) == {"default-eligibility", "default-approval"}, policies.keys()
    el, ap = policies["default-eligibility"], policies["default-approval"]
    assert el["type"] == ELIG and ap["type"] == APPR
    assert el["enabled"] and ap["enabled"]
    assert el["rego"] == (REPO_POLICIES / "eligibility.rego").read_text()
    assert ap["rego"] == (REPO_POLICIES / "approval.rego").read_text()
    assert el["description"] and ap["description"]
    assert expect(admin.reload(), 200)["policies_loaded"] == 2
    assert "2 policies loaded" in s.log()
    assert "warning" not in s.log()


def test_repository_default_policies_decide(make_server):
    # as tools/run-local (make run) describes them: alice of group sre asks, bob of group
    # sre-leads approves, someone without groups may not ask
    s = make_server(policies_dir=REPO_POLICIES)
    alice = s.client(ALICE)
    req = alice.create_ok(duration_seconds=3600, role="prod-admin")
    assert req["state"] == "REQUEST_STATE_PENDING", req
    expect(s.client(MALLORY).create(), 403, "permission_denied")
    expect(alice.approve(req["id"]), 403, "permission_denied")
    lead = s.client(("bob@example.com", ("sre-leads",)))
    assert expect(lead.approve(req["id"]), 200)["request"]["state"] == \
        "REQUEST_STATE_APPROVED"
