// Package daguauth loads the dagu-auth plugin (libdagu_auth.so) into a Go server, as the Dagu
// server does when auth.mode is builtin, and gives it typed Go calls, an http.Handler for the
// plugin's HTTP API and a middleware for the server's own routes.
//
// The library is opened with dlopen at run time: nothing links against it, so a server built with
// this package starts without it when builtin auth is off. It needs cgo and the standard library
// only.
//
// # Loading
//
// Load maps the library and resolves its functions, refusing another ABI major; Open starts an
// instance on a data folder; Close ends it.
//
//	lib, err := daguauth.Load("/usr/lib/dagu/libdagu_auth.so.1")
//	if err != nil { ... }
//	auth, err := lib.Open(daguauth.Config{DataDir: "/var/lib/dagu", LicenseFeatures: []string{"rbac"}})
//	if err != nil { ... }
//	defer auth.Close()
//
// A library with a lower ABI minor than this package knows still loads: the calls it lacks answer
// ErrUnsupportedVersion.
//
// # Calls
//
// Every function of include/dagu_auth.h has a method. A status other than OK is an *Error that
// errors.Is matches against the Err values and that carries the library's message:
//
//	if _, err := auth.CreateUser(token, user); errors.Is(err, daguauth.ErrAlreadyExists) { ... }
//
// JSON answers come back as Go values (User, LoginResponse, APIKey, AuditPage). Authorize, the
// call a server makes on every request, allocates nothing: the strings are passed to the library
// with their lengths, not copied.
//
// # Serving
//
// Handler serves the plugin's HTTP API (/api/v1/auth/*, /api/v1/users*, /api/v1/api-keys*,
// /api/v1/audit, /api/v1/openapi.yaml; see Routes and OwnsPath) with the client's address as the
// server sees it. Middleware guards the server's own routes with Authorize and answers 401, 403 and
// 404 in the plugin's error shape. SetupRequired tells a server's HTML whether the first admin
// still has to be created. LockDataDir takes the lock that keeps a restore off a served folder.
//
// The program in cmd/dagu-auth-host is a complete server built on these.
package daguauth
