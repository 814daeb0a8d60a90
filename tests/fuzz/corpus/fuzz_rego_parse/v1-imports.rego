package uses.imports

import data.lib.helpers
import input.request as req
import rego.v1

p if helpers.ok(req.user)
