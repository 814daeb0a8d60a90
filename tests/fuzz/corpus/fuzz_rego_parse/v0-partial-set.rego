package legacy.sets

names[n] {
	n := input.people[_].name
}
