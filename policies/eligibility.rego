# Default eligibility policy: members of sre may request any role for up to 4 hours;
# members of developers may request read-only roles for up to 1 hour; break-glass is for sre
# only, with a reason of at least 10 characters.
#
# jitsudod asks this policy when a request is created (input.user is the requester). The
# request proceeds when `allow` is true in any enabled eligibility policy; otherwise it is
# refused at once with `reason`. Break-glass requests are no exception.
#
# Rules:
#   allow              true when one of the grants below matches the request
#   reason             why a request is refused (defined only when it is)
#   read_only_role     the requested role is in read_only_roles (case-insensitive)
#   break_glass_ok     not break-glass, or break-glass by sre with a real reason
#
# Adjust the group names, durations and read-only roles here, or add policies of your own:
# their `allow` rules OR with these. Only one enabled eligibility policy should define
# `reason` (two different values for it are an evaluation error, and errors deny).
package jitsudo.eligibility

import rego.v1

# Groups (from the identity provider's groups claim) and their limits.
sre_group := "sre"

developer_group := "developers"

sre_max_seconds := 14400 # 4 hours

developer_max_seconds := 3600 # 1 hour

break_glass_min_reason := 10

# Roles that only read, compared in lower case: AWS (ReadOnlyAccess, ViewOnlyAccess),
# GCP (roles/viewer, roles/browser), Azure (Reader), Kubernetes (view) and common names.
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

is_sre if sre_group in input.user.groups

is_developer if developer_group in input.user.groups

read_only_role if lower(input.request.role) in read_only_roles

duration := input.request.duration_seconds

reason_length := count(trim_space(input.request.reason))

break_glass_ok if not input.request.break_glass

break_glass_ok if {
	input.request.break_glass
	is_sre
	reason_length >= break_glass_min_reason
}

# SRE: any provider and role, up to 4 hours.
allow if {
	is_sre
	duration > 0
	duration <= sre_max_seconds
	break_glass_ok
}

# Developers: read-only roles, up to 1 hour, never break-glass.
allow if {
	is_developer
	read_only_role
	duration > 0
	duration <= developer_max_seconds
	not input.request.break_glass
}

# The first explanation that applies, most specific first.
reason := msg if {
	not allow
	msg := denial
}

denial := "not eligible: break-glass is only for members of sre" if {
	input.request.break_glass
	not is_sre
} else := sprintf("not eligible: break-glass needs a reason of at least %d characters", [break_glass_min_reason]) if {
	input.request.break_glass
	reason_length < break_glass_min_reason
} else := sprintf("not eligible: members of sre may request at most %d seconds", [sre_max_seconds]) if {
	is_sre
	duration > sre_max_seconds
} else := "not eligible: members of developers may request only read-only roles (such as read, view, viewer, Reader, roles/viewer)" if {
	is_developer
	not read_only_role
} else := sprintf("not eligible: members of developers may request at most %d seconds", [developer_max_seconds]) if {
	is_developer
	duration > developer_max_seconds
} else := "not eligible: only members of sre or developers may request elevation"
