package defaults

default f(_) := 0

f(x) := 1 if x == "one"
