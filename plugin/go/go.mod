module github.com/dagu-auth/dagu-auth/plugin/go

go 1.19
