package tmpl

greeting := $"hello {input.name}, you are {input.age} years"
