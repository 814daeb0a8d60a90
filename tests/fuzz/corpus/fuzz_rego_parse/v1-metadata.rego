# METADATA
# title: Example
# description: annotated package
package meta

# METADATA
# title: rule
allow if true
