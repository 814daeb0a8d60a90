# Tests of the default approval policy; run with
#   build/rego-test policies/approval.rego policies/approval_test.rego
# (or `opa test policies/approval.rego policies/approval_test.rego`).
package jitsudo.approval_test

import rego.v1

import data.jitsudo.approval

# input.user is the approver; the request was made by alice.
req(email, groups, role, seconds) := {
	"user": {"email": email, "groups": groups},
	"request": {
		"provider": "aws",
		"role": role,
		"resource_scope": "123456789012",
		"duration_seconds": seconds,
		"reason": "INC-4421",
		"break_glass": false,
		"metadata": {},
		"requester_identity": "alice@example.com",
	},
	"context": {"trust_tier": 0, "now": "2026-03-20T16:00:00Z"},
}

# ---- allow -------------------------------------------------------------------------------

test_leads_and_admins_approve if {
	approval.allow with input as req("bob@example.com", ["sre-leads"], "prod-infra-admin", 3600)
	approval.allow with input as req("carol@example.com", ["dev", "jitsudo-admins"], "view", 60)
	not approval.reason with input as req("bob@example.com", ["sre-leads"], "prod-infra-admin", 3600)
}

test_others_cannot_approve if {
	not approval.allow with input as req("bob@example.com", ["sre"], "view", 60)
	not approval.allow with input as req("bob@example.com", [], "view", 60)
	approval.reason == "approval denied: approvers must be members of sre-leads or jitsudo-admins" with input as req("bob@example.com", ["developers"], "view", 60)
}

test_requester_cannot_approve_own if {
	not approval.allow with input as req("alice@example.com", ["sre-leads"], "view", 60)
	not approval.allow with input as req("Alice@Example.com", ["jitsudo-admins"], "view", 60)
	approval.reason == "approval denied: you cannot approve your own request" with input as req("alice@example.com", ["sre-leads"], "view", 60)
}

test_missing_email_denied if {
	not approval.allow with input as {"user": {"groups": ["sre-leads"]}, "request": {"requester_identity": "alice@example.com", "role": "view", "duration_seconds": 60}}
	not approval.allow with input as {"user": {"email": "bob@example.com", "groups": ["sre-leads"]}, "request": {"role": "view", "duration_seconds": 60}}
}

# ---- required_approvals --------------------------------------------------------------------

test_two_approvers_for_long_admin if {
	approval.required_approvals == 2 with input as req("bob@example.com", ["sre-leads"], "prod-infra-admin", 7201)
	approval.required_approvals == 2 with input as req("bob@example.com", [], "cluster-Admin", 14400)
}

test_one_approver_otherwise if {
	approval.required_approvals == 1 with input as req("bob@example.com", ["sre-leads"], "prod-infra-admin", 7200)
	approval.required_approvals == 1 with input as req("bob@example.com", ["sre-leads"], "roles/editor", 14400)
}

# ---- approver_tier -----------------------------------------------------------------------

test_auto_for_short_read_only if {
	approval.approver_tier == "auto" with input as req("alice@example.com", ["developers"], "view", 3600)
	approval.approver_tier == "auto" with input as req("alice@example.com", [], "Reader", 60)
}

test_human_otherwise if {
	approval.approver_tier == "human" with input as req("alice@example.com", ["developers"], "view", 3601)
	approval.approver_tier == "human" with input as req("alice@example.com", ["sre"], "prod-infra-admin", 600)
}
