package door

default open := false

open if {
	input.badge == "staff"
	input.hour >= 8
}
