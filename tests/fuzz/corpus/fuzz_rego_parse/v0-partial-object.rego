package legacy.objects

ages[name] = age {
	p := input.people[_]
	name := p.name
	age := p.age
}
