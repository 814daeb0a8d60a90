package grade

letter := "A" if input.score >= 90
else := "B" if input.score >= 80
else := "C"
