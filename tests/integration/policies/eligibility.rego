# Eligibility for the integration tests: members of sre or dev may ask for any role except
# forbidden-role; everyone else is refused with a reason the tests look for.
package jitsudo.eligibility

import rego.v1

default allow := false

allow if {
	some group in input.user.groups
	group in {"sre", "dev"}
	input.request.role != "forbidden-role"
}

reason := "not eligible: only sre and dev may request (test policy)" if not allow
