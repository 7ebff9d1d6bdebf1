// Loading libdagu_auth.so from Go at start-up, as Dagu does when auth.mode is builtin.
package main

import (
	"fmt"
	"log"
	"os"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

func main() {
	path, dataDir := os.Args[1], os.Args[2] // e.g. /usr/lib/dagu/libdagu_auth.so.1, ~/.local/share/dagu/data
	// dlopen at run time, so the binary has no link-time dependency; the library is never unloaded.
	lib, err := daguauth.Load(path)
	if err != nil {
		log.Fatal(err) // not found, not the plugin, or another ABI major
	}
	auth, err := lib.Open(daguauth.Config{DataDir: dataDir, LicenseFeatures: []string{"rbac"}})
	if err != nil {
		log.Fatal(err) // e.g. daguauth.ErrInvalidConfig with the plugin's reason
	}
	defer auth.Close()
	required, err := auth.SetupRequired()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("setup required:", required)
}
