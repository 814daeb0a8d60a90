package shapes

squares := [y | some x in numbers.range(1, 4); y := x * x]
names := {n | n := ["b", "a", "b"][_]}
index := {k: v | some v, k in ["x", "y"]}
