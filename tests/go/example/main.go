// Loading libdagu_auth.so from Go at start-up, as Dagu does when auth.mode is builtin.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include "dagu_auth.h"

typedef uint32_t (*abi_fn)(void);
typedef DaguAuthStatus (*open_fn)(const char *, DaguAuth **, char **);
typedef DaguAuthStatus (*setup_required_fn)(const DaguAuth *, bool *, char **);
static uint32_t abi(void *f) { return ((abi_fn)f)(); }
static DaguAuthStatus open_(void *f, const char *c, DaguAuth **a, char **e) { return ((open_fn)f)(c, a, e); }
static DaguAuthStatus setup_required(void *f, DaguAuth *a, bool *r, char **e) { return ((setup_required_fn)f)(a, r, e); }
static void close_(void *f, DaguAuth *a) { ((void (*)(DaguAuth *))f)(a); }
static void string_free(void *f, char *s) { ((void (*)(char *))f)(s); }
*/
import "C"

import (
	"fmt"
	"os"
	"unsafe"
)

func sym(lib unsafe.Pointer, name string) unsafe.Pointer {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	f := C.dlsym(lib, cname)
	if f == nil {
		panic("libdagu_auth.so lacks " + name)
	}
	return f
}

func main() {
	path, dataDir := os.Args[1], os.Args[2] // e.g. /usr/lib/dagu/libdagu_auth.so.1, ~/.local/share/dagu/data
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	lib := C.dlopen(cpath, C.RTLD_NOW|C.RTLD_LOCAL) // never dlclose'd
	if lib == nil {
		panic(C.GoString(C.dlerror()))
	}
	if v := uint32(C.abi(sym(lib, "dagu_auth_abi_version"))); v>>16 != C.DAGU_AUTH_ABI_VERSION_MAJOR {
		panic(fmt.Sprintf("plugin ABI %d.%d, need %d.x", v>>16, v&0xffff, C.DAGU_AUTH_ABI_VERSION_MAJOR))
	}
	config := C.CString(fmt.Sprintf(`{"dataDir": %q}`, dataDir)) // %q is close enough to JSON for paths
	defer C.free(unsafe.Pointer(config))
	var auth *C.DaguAuth
	var cerr *C.char
	if C.open_(sym(lib, "dagu_auth_open"), config, &auth, &cerr) != C.DAGU_AUTH_STATUS_OK {
		msg := C.GoString(cerr)
		C.string_free(sym(lib, "dagu_auth_string_free"), cerr)
		panic(msg)
	}
	defer C.close_(sym(lib, "dagu_auth_close"), auth)
	var required C.bool
	if C.setup_required(sym(lib, "dagu_auth_setup_required"), auth, &required, nil) == C.DAGU_AUTH_STATUS_OK {
		fmt.Println("setup required:", bool(required))
	}
}
