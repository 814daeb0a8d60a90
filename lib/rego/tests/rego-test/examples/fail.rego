# rego-test's own check: one test here fails and one errors, so the run must fail.
package example.fail

import rego.v1

allow if "sre" in input.user.groups

test_passes if allow with input as {"user": {"groups": ["sre"]}}

test_fails if allow with input as {"user": {"groups": ["dev"]}}

test_errors if {
	x := 1 / 0
	x > 0
}
