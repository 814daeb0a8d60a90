package nested

items[x].tags contains t if {
	some x, item in input.items
	some t in item.tags
}
