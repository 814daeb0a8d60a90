package legacy.future

import future.keywords.in
import future.keywords.if
import future.keywords.contains

p contains x if {
	x in [1, 2]
}
