package daguauth

import (
	"os"
	"path/filepath"
)

// testLibrary is the library the tests load: DAGU_AUTH_LIB (set by the Rust test that runs them),
// else the debug build of this checkout; "" with the reason when there is none.
func testLibrary() (path, missing string) {
	if path := os.Getenv("DAGU_AUTH_LIB"); path != "" {
		return path, ""
	}
	built := filepath.Join("..", "..", "target", "debug", "libdagu_auth.so")
	if _, err := os.Stat(built); err == nil {
		return built, ""
	}
	return "", "no library: set DAGU_AUTH_LIB to a built libdagu_auth.so (cargo build -p dagu-auth)"
}

// TestLibrary is testLibrary for the tests of package daguauth_test.
var TestLibrary = testLibrary
