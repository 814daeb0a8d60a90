package broken

p if {
	x := [1, 2
