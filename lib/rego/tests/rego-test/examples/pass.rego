# rego-test's own check: every test here passes.
package example.pass

import rego.v1

allow if "sre" in input.user.groups

test_sre_allowed if allow with input as {"user": {"groups": ["dev", "sre"]}}

test_dev_denied if not allow with input as {"user": {"groups": ["dev"]}}
