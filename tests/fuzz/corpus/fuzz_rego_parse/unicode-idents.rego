package uni

msg := "日本語 ✓"
len := count(msg)
