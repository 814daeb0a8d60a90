package k

if := 1
