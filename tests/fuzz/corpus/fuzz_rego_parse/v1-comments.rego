# leading comment
package c # trailing

# between rules
p := 1 # after value
