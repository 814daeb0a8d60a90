package legacy.fn

classify(x) = "neg" {
	x < 0
} else = "zero" {
	x == 0
} else = "pos"
