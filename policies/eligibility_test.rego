# Tests of the default eligibility policy; run with
#   build/rego-test policies/eligibility.rego policies/eligibility_test.rego
# (or `opa test policies/eligibility.rego policies/eligibility_test.rego`).
package jitsudo.eligibility_test

import rego.v1

import data.jitsudo.eligibility

# A request as jitsudod builds the input: user, request and context.
req(groups, role, seconds, break_glass, reason) := {
	"user": {"email": "alice@example.com", "groups": groups},
	"request": {
		"provider": "aws",
		"role": role,
		"resource_scope": "123456789012",
		"duration_seconds": seconds,
		"reason": reason,
		"break_glass": break_glass,
		"metadata": {},
		"requester_identity": "alice@example.com",
	},
	"context": {"trust_tier": 0, "now": "2026-03-20T16:00:00Z"},
}

normal(groups, role, seconds) := req(groups, role, seconds, false, "INC-4421 deploy hotfix")

# ---- sre ---------------------------------------------------------------------------------

test_sre_any_role_up_to_four_hours if {
	eligibility.allow with input as normal(["sre"], "prod-infra-admin", 14400)
	eligibility.allow with input as normal(["dev", "sre"], "cluster-admin", 60)
}

test_sre_over_four_hours_denied if {
	not eligibility.allow with input as normal(["sre"], "prod-infra-admin", 14401)
	eligibility.reason == "not eligible: members of sre may request at most 14400 seconds" with input as normal(["sre"], "prod-infra-admin", 14401)
}

test_sre_no_reason_when_allowed if {
	not eligibility.reason with input as normal(["sre"], "prod-infra-admin", 3600)
}

# ---- developers --------------------------------------------------------------------------

test_developer_read_only_roles if {
	eligibility.allow with input as normal(["developers"], "view", 3600)
	eligibility.allow with input as normal(["developers"], "Reader", 1800)
	eligibility.allow with input as normal(["developers"], "roles/viewer", 600)
	eligibility.allow with input as normal(["developers"], "ReadOnlyAccess", 600)
}

test_developer_write_role_denied if {
	not eligibility.allow with input as normal(["developers"], "Contributor", 600)
	contains(eligibility.reason, "only read-only roles") with input as normal(["developers"], "roles/editor", 600)
}

test_developer_over_one_hour_denied if {
	not eligibility.allow with input as normal(["developers"], "view", 3601)
	eligibility.reason == "not eligible: members of developers may request at most 3600 seconds" with input as normal(["developers"], "view", 3601)
}

test_developer_no_break_glass if {
	not eligibility.allow with input as req(["developers"], "view", 600, true, "production is down, paging failed")
	eligibility.reason == "not eligible: break-glass is only for members of sre" with input as req(["developers"], "view", 600, true, "production is down, paging failed")
}

# ---- break-glass -------------------------------------------------------------------------

test_sre_break_glass_with_reason if {
	eligibility.allow with input as req(["sre"], "break-glass-admin", 1800, true, "Production down, on-call not responding")
}

test_sre_break_glass_short_reason_denied if {
	not eligibility.allow with input as req(["sre"], "break-glass-admin", 1800, true, "down")
	eligibility.reason == "not eligible: break-glass needs a reason of at least 10 characters" with input as req(["sre"], "break-glass-admin", 1800, true, "   down    ")
}

# ---- everyone else -----------------------------------------------------------------------

test_others_denied if {
	not eligibility.allow with input as normal([], "view", 60)
	not eligibility.allow with input as normal(["SRE", "sre-leads", "developer"], "view", 60)
	eligibility.reason == "not eligible: only members of sre or developers may request elevation" with input as normal(["marketing"], "view", 60)
}

test_missing_groups_denied if {
	not eligibility.allow with input as {"user": {"email": "x@example.com"}, "request": {"role": "view", "duration_seconds": 60, "break_glass": false, "reason": "looking around"}}
}
