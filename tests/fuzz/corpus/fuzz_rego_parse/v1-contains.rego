package team

members contains name if {
	some name in input.people
	startswith(name, "a")
}
