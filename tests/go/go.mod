module dagu-auth/tests/go

go 1.19

require github.com/dagu-auth/dagu-auth/plugin/go v0.0.0

// The package of this checkout, not a published version.
replace github.com/dagu-auth/dagu-auth/plugin/go => ../../plugin/go
