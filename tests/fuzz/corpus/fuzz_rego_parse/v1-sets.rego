package sets

empty := set()
s := {1, 2, 3} | {4}
d := {1, 2} - {2}
i := {1, 2} & {2, 3}
