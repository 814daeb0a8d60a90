package neg

deny if not allowed

allowed if {
	some i
	input.list[i] == "ok"
}
