# Approval for the integration tests: members of approvers decide; auto-role is approved by
# policy at creation; two-person-role needs two approvers.
package jitsudo.approval

import rego.v1

default allow := false

allow if "approvers" in input.user.groups

# The auto tier (auto-broken-role is also in the mock's fail_grant_roles). At creation the
# approval policy is asked with the requester as user; this lets the tier take effect
# without making anyone else an approver of these requests.
auto_roles := {"auto-role", "auto-broken-role"}

allow if {
	input.request.role in auto_roles
	input.user.email == input.request.requester_identity
}

approver_tier := "auto" if input.request.role in auto_roles

required_approvals := 2 if input.request.role == "two-person-role"

reason := "only members of approvers may approve (test policy)" if not allow
