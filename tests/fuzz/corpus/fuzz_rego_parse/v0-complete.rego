package legacy

allow {
	input.user == "root"
}

allow = true {
	input.admin
}
