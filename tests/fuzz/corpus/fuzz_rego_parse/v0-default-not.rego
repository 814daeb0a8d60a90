package legacy.neg

default deny = false

deny {
	not input.ok
}
