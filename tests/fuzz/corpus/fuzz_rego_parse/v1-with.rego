package mocks

f(x) := x + 1

p if f(1) == 3 with f as g

g(x) := x + 2

q := input.a with input.a as 7
