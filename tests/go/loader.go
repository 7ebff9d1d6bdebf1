package main

// The plugin's C ABI, reached the way the Dagu server reaches it: dlopen at start-up, one dlsym per
// function, calls through C function pointers. Nothing is linked at build time, so the server
// binary starts without the library when auth.mode is not builtin.

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include "dagu_auth.h"

typedef uint32_t (*abi_version_fn)(void);
typedef const char *(*version_fn)(void);
typedef const char *(*status_name_fn)(uint32_t);
typedef DaguAuthStatus (*open_fn)(const char *, DaguAuth **, char **);
typedef void (*close_fn)(DaguAuth *);
typedef DaguAuthStatus (*setup_required_fn)(const DaguAuth *, bool *, char **);
typedef DaguAuthStatus (*setup_fn)(const DaguAuth *, const char *, const char *, char **, char **);
typedef DaguAuthStatus (*authenticate_fn)(const DaguAuth *, const char *, const char *,
                                          const char *, char **, char **);
typedef DaguAuthStatus (*authorize_fn)(const DaguAuth *, const char *, uint32_t, const char *,
                                       uint32_t *, char **);
typedef DaguAuthStatus (*authorize_n_fn)(const DaguAuth *, const char *, size_t, uint32_t,
                                         const char *, size_t, uint32_t *, char **);
typedef DaguAuthStatus (*token_json_fn)(const DaguAuth *, const char *, char **, char **);
typedef DaguAuthStatus (*token_text_json_fn)(const DaguAuth *, const char *, const char *,
                                             char **, char **);
typedef DaguAuthStatus (*handle_http_fn)(const DaguAuth *, const DaguAuthHttpRequest *,
                                         DaguAuthHttpResponse **);
typedef void (*string_free_fn)(char *);
typedef void (*response_free_fn)(DaguAuthHttpResponse *);

static uint32_t call_abi_version(void *f) { return ((abi_version_fn)f)(); }
static const char *call_version(void *f) { return ((version_fn)f)(); }
static const char *call_status_name(void *f, uint32_t s) { return ((status_name_fn)f)(s); }
static DaguAuthStatus call_open(void *f, const char *config, DaguAuth **out, char **err) {
	return ((open_fn)f)(config, out, err);
}
static void call_close(void *f, DaguAuth *a) { ((close_fn)f)(a); }
static DaguAuthStatus call_setup_required(void *f, DaguAuth *a, bool *out, char **err) {
	return ((setup_required_fn)f)(a, out, err);
}
static DaguAuthStatus call_setup(void *f, DaguAuth *a, const char *u, const char *p, char **out,
                                 char **err) {
	return ((setup_fn)f)(a, u, p, out, err);
}
static DaguAuthStatus call_authenticate(void *f, DaguAuth *a, const char *u, const char *p,
                                        const char *ip, char **out, char **err) {
	return ((authenticate_fn)f)(a, u, p, ip, out, err);
}
static DaguAuthStatus call_authorize(void *f, DaguAuth *a, const char *token, uint32_t action,
                                     const char *workspace, uint32_t *out, char **err) {
	return ((authorize_fn)f)(a, token, action, workspace, out, err);
}
// Go strings go in as _GoString_ (pointer and length): dagu_auth_authorize_n takes lengths (ABI
// 1.3), so neither side copies them (C.CString would malloc and free twice per call). The answer
// comes back by value, so no Go pointer is passed (a Go out-parameter escapes to the heap: two
// allocations per call).
typedef struct {
	DaguAuthStatus status;
	uint32_t decision;
	char *err;
} go_authorize_result;
static go_authorize_result call_authorize_n(void *f, DaguAuth *a, _GoString_ token,
                                            uint32_t action, _GoString_ workspace) {
	go_authorize_result r = {0, 0, NULL};
	r.status = ((authorize_n_fn)f)(a, _GoStringPtr(token), _GoStringLen(token), action,
	                               _GoStringPtr(workspace), _GoStringLen(workspace), &r.decision,
	                               &r.err);
	return r;
}
// An empty C function: what one cgo transition costs on this machine.
static uint32_t cgo_noop(uint32_t x) { return x; }
// The same call repeated n times from C, for the benchmark's same-process C figure; -1 if any
// call failed (its error freed), so a bad token is never timed by mistake.
static long long time_authorize_c(void *f, void *string_free, DaguAuth *a, const char *token,
                                  uint32_t action, const char *workspace, long long n) {
	struct timespec start, end;
	uint32_t out;
	char *err = NULL;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long long i = 0; i < n; i++) {
		if (((authorize_fn)f)(a, token, action, workspace, &out, &err) != DAGU_AUTH_STATUS_OK) {
			((string_free_fn)string_free)(err);
			return -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	return (end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
}
static DaguAuthStatus call_token_json(void *f, DaguAuth *a, const char *token, char **out,
                                      char **err) {
	return ((token_json_fn)f)(a, token, out, err);
}
static DaguAuthStatus call_token_text_json(void *f, DaguAuth *a, const char *token,
                                           const char *text, char **out, char **err) {
	return ((token_text_json_fn)f)(a, token, text, out, err);
}
static DaguAuthStatus call_handle_http(void *f, DaguAuth *a, const DaguAuthHttpRequest *r,
                                       DaguAuthHttpResponse **out) {
	return ((handle_http_fn)f)(a, r, out);
}
static void call_string_free(void *f, char *s) { ((string_free_fn)f)(s); }
static void call_response_free(void *f, DaguAuthHttpResponse *r) { ((response_free_fn)f)(r); }
static DaguAuthHttpHeader *header_at(const DaguAuthHttpHeader *h, size_t i) {
	return (DaguAuthHttpHeader *)&h[i];
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"
)

// Numbers from dagu_auth.h, taken from the header itself.
const (
	ABIMajor              = uint32(C.DAGU_AUTH_ABI_VERSION_MAJOR)
	StatusOK              = uint32(C.DAGU_AUTH_STATUS_OK)
	StatusUnauthenticated = uint32(C.DAGU_AUTH_STATUS_UNAUTHENTICATED)
	StatusForbidden       = uint32(C.DAGU_AUTH_STATUS_FORBIDDEN)
	StatusInvalidConfig   = uint32(C.DAGU_AUTH_STATUS_INVALID_CONFIG)
	StatusBadRequest      = uint32(C.DAGU_AUTH_STATUS_BAD_REQUEST)
	ActionView            = uint32(C.DAGU_AUTH_ACTION_VIEW)
	ActionWrite           = uint32(C.DAGU_AUTH_ACTION_WRITE)
	DecisionAllow         = uint32(C.DAGU_AUTH_DECISION_ALLOW)
	DecisionForbidden     = uint32(C.DAGU_AUTH_DECISION_FORBIDDEN)
	DecisionNotVisible    = uint32(C.DAGU_AUTH_DECISION_NOT_VISIBLE)
)

// Plugin is a loaded libdagu_auth.so. It is never unloaded: a Rust cdylib stays mapped after
// dlclose (see the README, "Using the plugin from C and Go").
type Plugin struct {
	handle unsafe.Pointer
	fns    map[string]unsafe.Pointer
	// dagu_auth_authorize_n (ABI 1.3) runs on every request: resolved once, not looked up by name
	// per call. nil in an older library.
	authorizeN unsafe.Pointer
}

// Instance is one open DaguAuth*; safe for concurrent use until Close.
type Instance struct {
	p   *Plugin
	ptr *C.DaguAuth
}

// StatusError is a non-OK status with the library's message.
type StatusError struct {
	Status  uint32
	Name    string
	Message string
}

func (e *StatusError) Error() string { return e.Name + ": " + e.Message }

var symbols = []string{
	"dagu_auth_abi_version", "dagu_auth_version", "dagu_auth_status_name", "dagu_auth_open",
	"dagu_auth_close", "dagu_auth_setup_required", "dagu_auth_setup", "dagu_auth_authenticate",
	"dagu_auth_authorize", "dagu_auth_verify", "dagu_auth_user_list", "dagu_auth_user_get",
	"dagu_auth_handle_http", "dagu_auth_string_free", "dagu_auth_http_response_free",
}

// Load dlopens the plugin, resolves every function the host uses and checks the ABI major.
func Load(path string) (*Plugin, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	handle := C.dlopen(cpath, C.RTLD_NOW|C.RTLD_LOCAL)
	if handle == nil {
		return nil, fmt.Errorf("dlopen %s: %s", path, C.GoString(C.dlerror()))
	}
	p := &Plugin{handle: handle, fns: map[string]unsafe.Pointer{}}
	for _, name := range symbols {
		cname := C.CString(name)
		f := C.dlsym(handle, cname)
		C.free(unsafe.Pointer(cname))
		if f == nil {
			return nil, fmt.Errorf("%s: missing symbol %s", path, name)
		}
		p.fns[name] = f
	}
	// ABI 1.3; an older library is still served through dagu_auth_authorize.
	cname := C.CString("dagu_auth_authorize_n")
	p.authorizeN = C.dlsym(handle, cname)
	C.free(unsafe.Pointer(cname))
	abi := uint32(C.call_abi_version(p.fns["dagu_auth_abi_version"]))
	if abi>>16 != ABIMajor {
		return nil, fmt.Errorf("%s has ABI %d.%d, this host needs %d.x", path, abi>>16, abi&0xffff,
			ABIMajor)
	}
	return p, nil
}

// ABIVersion is (major << 16) | minor.
func (p *Plugin) ABIVersion() uint32 {
	return uint32(C.call_abi_version(p.fns["dagu_auth_abi_version"]))
}

// Version is the plugin's release.
func (p *Plugin) Version() string { return C.GoString(C.call_version(p.fns["dagu_auth_version"])) }

// StatusName is the static name of a status.
func (p *Plugin) StatusName(status uint32) string {
	return C.GoString(C.call_status_name(p.fns["dagu_auth_status_name"], C.uint32_t(status)))
}

// takeString copies a library string into Go and frees it with the library's own free.
func (p *Plugin) takeString(s *C.char) string {
	if s == nil {
		return ""
	}
	text := C.GoString(s)
	C.call_string_free(p.fns["dagu_auth_string_free"], s)
	return text
}

func (p *Plugin) check(status C.DaguAuthStatus, cerr *C.char) error {
	message := p.takeString(cerr)
	if uint32(status) == StatusOK {
		return nil
	}
	return &StatusError{Status: uint32(status), Name: p.StatusName(uint32(status)), Message: message}
}

// Open opens an instance from its JSON configuration.
func (p *Plugin) Open(config string) (*Instance, error) {
	cconfig := C.CString(config)
	defer C.free(unsafe.Pointer(cconfig))
	var ptr *C.DaguAuth
	var cerr *C.char
	if err := p.check(C.call_open(p.fns["dagu_auth_open"], cconfig, &ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	return &Instance{p: p, ptr: ptr}, nil
}

// Close frees the instance; no call may be running on it.
func (in *Instance) Close() {
	C.call_close(in.p.fns["dagu_auth_close"], in.ptr)
	in.ptr = nil
}

// SetupRequired reports whether no user exists yet.
func (in *Instance) SetupRequired() (bool, error) {
	var required C.bool
	var cerr *C.char
	err := in.p.check(C.call_setup_required(in.p.fns["dagu_auth_setup_required"], in.ptr, &required,
		&cerr), cerr)
	return bool(required), err
}

// Setup creates the first admin; returns the LoginResponse JSON.
func (in *Instance) Setup(username, password string) (string, error) {
	cu, cp := C.CString(username), C.CString(password)
	defer C.free(unsafe.Pointer(cu))
	defer C.free(unsafe.Pointer(cp))
	var out, cerr *C.char
	err := in.p.check(C.call_setup(in.p.fns["dagu_auth_setup"], in.ptr, cu, cp, &out, &cerr), cerr)
	return in.p.takeString(out), err
}

// Authenticate signs in; returns the LoginResponse JSON.
func (in *Instance) Authenticate(username, password, clientIP string) (string, error) {
	cu, cp, cip := C.CString(username), C.CString(password), C.CString(clientIP)
	defer C.free(unsafe.Pointer(cu))
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(cip))
	var out, cerr *C.char
	err := in.p.check(C.call_authenticate(in.p.fns["dagu_auth_authenticate"], in.ptr, cu, cp, cip,
		&out, &cerr), cerr)
	return in.p.takeString(out), err
}

// Authorize answers a DaguAuthDecision for action in workspace ("" = default).
func (in *Instance) Authorize(token string, action uint32, workspace string) (uint32, error) {
	if in.p.authorizeN != nil {
		r := C.call_authorize_n(in.p.authorizeN, in.ptr, token, C.uint32_t(action), workspace)
		return uint32(r.decision), in.p.check(r.status, r.err)
	}
	// A NUL would end the C string early: "ops\x00x" must not be decided as "ops".
	if strings.IndexByte(token, 0) >= 0 || strings.IndexByte(workspace, 0) >= 0 {
		return 0, &StatusError{Status: StatusBadRequest, Name: in.p.StatusName(StatusBadRequest),
			Message: "token and workspace must not contain NUL bytes"}
	}
	ct, cw := C.CString(token), C.CString(workspace)
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(cw))
	var decision C.uint32_t
	var cerr *C.char
	err := in.p.check(C.call_authorize(in.p.fns["dagu_auth_authorize"], in.ptr, ct,
		C.uint32_t(action), cw, &decision, &cerr), cerr)
	return uint32(decision), err
}

func (in *Instance) tokenJSON(fn, token string) (string, error) {
	ct := C.CString(token)
	defer C.free(unsafe.Pointer(ct))
	var out, cerr *C.char
	err := in.p.check(C.call_token_json(in.p.fns[fn], in.ptr, ct, &out, &cerr), cerr)
	return in.p.takeString(out), err
}

// Verify answers {"user": User} for a bearer token.
func (in *Instance) Verify(token string) (string, error) {
	return in.tokenJSON("dagu_auth_verify", token)
}

// UserList answers {"users": [User]} for an admin's token.
func (in *Instance) UserList(token string) (string, error) {
	return in.tokenJSON("dagu_auth_user_list", token)
}

// UserGet answers {"user": User}.
func (in *Instance) UserGet(token, id string) (string, error) {
	ct, cid := C.CString(token), C.CString(id)
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(cid))
	var out, cerr *C.char
	err := in.p.check(C.call_token_text_json(in.p.fns["dagu_auth_user_get"], in.ptr, ct, cid, &out,
		&cerr), cerr)
	return in.p.takeString(out), err
}

// HTTPResponse is a copy of the plugin's answer.
type HTTPResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// HandleHTTP routes one request of the HTTP API through the plugin.
func (in *Instance) HandleHTTP(method, path string, headers map[string]string, body []byte,
	clientIP string) (*HTTPResponse, error) {
	var toFree []unsafe.Pointer
	cstr := func(s string) *C.char {
		c := C.CString(s)
		toFree = append(toFree, unsafe.Pointer(c))
		return c
	}
	defer func() {
		for _, p := range toFree {
			C.free(p)
		}
	}()
	var req C.DaguAuthHttpRequest
	req.struct_size = C.uint32_t(unsafe.Sizeof(req))
	req.method = cstr(method)
	req.path = cstr(path)
	req.client_ip = cstr(clientIP)
	if len(headers) > 0 {
		size := C.size_t(unsafe.Sizeof(C.DaguAuthHttpHeader{})) * C.size_t(len(headers))
		array := (*C.DaguAuthHttpHeader)(C.malloc(size))
		toFree = append(toFree, unsafe.Pointer(array))
		i := C.size_t(0)
		for name, value := range headers {
			h := C.header_at(array, i)
			h.name = cstr(name)
			h.value = cstr(value)
			i++
		}
		req.headers = array
		req.header_count = C.size_t(len(headers))
	}
	if len(body) > 0 {
		cbody := C.CBytes(body)
		toFree = append(toFree, cbody)
		req.body = (*C.uint8_t)(cbody)
		req.body_len = C.size_t(len(body))
	}
	var resp *C.DaguAuthHttpResponse
	status := C.call_handle_http(in.p.fns["dagu_auth_handle_http"], in.ptr, &req, &resp)
	if err := in.p.check(status, nil); err != nil {
		return nil, err
	}
	if resp == nil {
		return nil, errors.New("dagu_auth_handle_http returned OK without a response")
	}
	defer C.call_response_free(in.p.fns["dagu_auth_http_response_free"], resp)
	out := &HTTPResponse{Status: int(resp.status), Headers: map[string]string{}}
	for i := C.size_t(0); i < resp.header_count; i++ {
		h := C.header_at(resp.headers, i)
		out.Headers[C.GoString(h.name)] = C.GoString(h.value)
	}
	if resp.body_len > 0 {
		out.Body = C.GoBytes(unsafe.Pointer(resp.body), C.int(resp.body_len))
	}
	return out, nil
}

// timeAuthorizeC is the nanoseconds per authorize of n calls made from C in this process: the
// benchmark's reference for what cgo adds.
func (in *Instance) timeAuthorizeC(token string, action uint32, workspace string, n int) float64 {
	ct, cw := C.CString(token), C.CString(workspace)
	defer C.free(unsafe.Pointer(ct))
	defer C.free(unsafe.Pointer(cw))
	total := C.time_authorize_c(in.p.fns["dagu_auth_authorize"], in.p.fns["dagu_auth_string_free"],
		in.ptr, ct, C.uint32_t(action), cw, C.longlong(n))
	if total < 0 {
		panic("authorize failed in the C loop: the benchmark token is not valid")
	}
	return float64(total) / float64(n)
}

// noopSink keeps the empty calls' results alive so they are not optimised away.
var noopSink C.uint32_t

// timeCgoNoop is the nanoseconds per call of an empty C function through cgo.
func timeCgoNoop(n int) float64 {
	started := time.Now()
	for i := 0; i < n; i++ {
		noopSink += C.cgo_noop(C.uint32_t(i))
	}
	return float64(time.Since(started).Nanoseconds()) / float64(n)
}
