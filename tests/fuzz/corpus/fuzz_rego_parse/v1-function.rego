package calc

double(x) := x * 2

pick(x) := "big" if x > 10 else := "small"
