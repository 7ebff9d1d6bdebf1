module dagu-auth/tests/go

go 1.19
