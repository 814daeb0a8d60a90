package unify

p if {
	[x, {"k": y}] = [1, {"k": 2}]
	x + y == 3
}
