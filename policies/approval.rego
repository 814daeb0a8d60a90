# Default approval policy: members of sre-leads or jitsudo-admins approve, never their own
# requests; admin roles for more than 2 hours need two approvers; read-only roles for at most
# 1 hour are approved automatically.
#
# jitsudod asks this policy twice. When a request is created, with the requester as
# input.user: only approver_tier and required_approvals are used then (they depend on the
# request alone), and "auto" grants at once. When someone approves, with the approver as
# input.user: `allow` decides, and required_approvals is asked again (the larger count wins).
#
# Rules:
#   allow               the approver is in an approver group and is not the requester
#   reason              why an approval is refused (defined only when it is)
#   required_approvals  distinct approvers needed: 2 for admin roles over 2 hours, else 1
#   approver_tier       "auto" for read-only roles of at most 1 hour, else "human"
#
# The server also refuses self-approval on its own, whatever a policy says.
package jitsudo.approval

import rego.v1

approver_groups := {"sre-leads", "jitsudo-admins"}

two_person_min_seconds := 7200 # admin roles above 2 hours need two approvers

auto_max_seconds := 3600 # read-only roles up to 1 hour need no approver

# The same read-only roles as the default eligibility policy (lower case).
read_only_roles := {
	"read",
	"readonly",
	"read-only",
	"reader",
	"view",
	"viewer",
	"readonlyaccess",
	"viewonlyaccess",
	"roles/viewer",
	"roles/browser",
}

is_approver if {
	some group in input.user.groups
	group in approver_groups
}

is_requester if lower(input.user.email) == lower(input.request.requester_identity)

read_only_role if lower(input.request.role) in read_only_roles

admin_role if contains(lower(input.request.role), "admin")

# Both identities must be present and differ (compared case-insensitively): a missing email
# makes the comparison undefined, and so denies.
allow if {
	is_approver
	lower(input.user.email) != lower(input.request.requester_identity)
}

required_approvals := 2 if {
	admin_role
	input.request.duration_seconds > two_person_min_seconds
} else := 1

approver_tier := "auto" if {
	read_only_role
	input.request.duration_seconds <= auto_max_seconds
} else := "human"

reason := msg if {
	not allow
	msg := denial
}

denial := "approval denied: you cannot approve your own request" if {
	is_requester
} else := "approval denied: approvers must be members of sre-leads or jitsudo-admins"
