package tree

a.b.c := 1
a.b[k] := 2 if k := "d"
fruit.apple.color := "red"
