package checks

all_even if {
	every n in [2, 4, 6] {
		n % 2 == 0
	}
}

keyed if {
	every k, v in {"a": 1} { is_string(k); v == 1 }
}
