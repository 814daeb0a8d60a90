package text

s := "tab\there \u00e9 \"q\""
r := `raw \n stays`
t := concat(", ", ["a", "b"])
