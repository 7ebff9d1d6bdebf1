package daguauth

// The only file that speaks C. Every function of the library is reached through a pointer from
// dlsym and a small C trampoline per signature, so nothing links against libdagu_auth.so and a
// server built with this package starts without it when builtin auth is off.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

// The parts of include/dagu_auth.h this package passes across, spelled as the header spells them.
// A Go module cannot include a file from outside itself, so they are declared here;
// header_test.go checks them against the header.
typedef uint32_t DaguAuthStatus;
typedef struct DaguAuth DaguAuth;
typedef uint32_t DaguAuthSurface;
typedef struct DaguAuthAuthorizeRequest {
	size_t struct_size;
	const char *token;
	size_t token_len;
	uint32_t action;
	const char *workspace;
	size_t workspace_len;
	uint32_t surface;
} DaguAuthAuthorizeRequest;
typedef struct DaguAuthHttpHeader {
	const char *name;
	const char *value;
} DaguAuthHttpHeader;
typedef struct DaguAuthHttpRequest {
	uint32_t struct_size;
	const char *method;
	const char *path;
	const struct DaguAuthHttpHeader *headers;
	size_t header_count;
	const uint8_t *body;
	size_t body_len;
	const char *client_ip;
} DaguAuthHttpRequest;
typedef struct DaguAuthHttpResponse {
	uint16_t status;
	const struct DaguAuthHttpHeader *headers;
	size_t header_count;
	const uint8_t *body;
	size_t body_len;
} DaguAuthHttpResponse;

// dlerror's message belongs to the thread that called dlopen, and a goroutine may change threads
// between two cgo calls: both happen in one.
typedef struct {
	void *handle;
	const char *error;
} opened_library;
static opened_library open_library(const char *path) {
	opened_library opened = {dlopen(path, RTLD_NOW | RTLD_LOCAL), NULL};
	if (opened.handle == NULL) opened.error = dlerror();
	return opened;
}

static uint32_t call_abi_version(void *f) { return ((uint32_t (*)(void))f)(); }
static const char *call_version(void *f) { return ((const char *(*)(void))f)(); }
static const char *call_status_name(void *f, uint32_t status) {
	return ((const char *(*)(uint32_t))f)(status);
}
static DaguAuthStatus call_open(void *f, const char *config, DaguAuth **out, char **err) {
	return ((DaguAuthStatus (*)(const char *, DaguAuth **, char **))f)(config, out, err);
}
static void call_close(void *f, DaguAuth *a) { ((void (*)(DaguAuth *))f)(a); }
static void call_string_free(void *f, char *s) { ((void (*)(char *))f)(s); }
static void call_response_free(void *f, DaguAuthHttpResponse *r) {
	((void (*)(DaguAuthHttpResponse *))f)(r);
}
static DaguAuthStatus call_setup_required(void *f, const DaguAuth *a, bool *out, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, bool *, char **))f)(a, out, err);
}

// The shapes every other call has: the instance, one to three strings, an optional string out,
// the error out.
typedef const char *cstr;
static DaguAuthStatus call_s1(void *f, const DaguAuth *a, cstr s1, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, char **))f)(a, s1, err);
}
static DaguAuthStatus call_s2(void *f, const DaguAuth *a, cstr s1, cstr s2, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, cstr, char **))f)(a, s1, s2, err);
}
static DaguAuthStatus call_s3(void *f, const DaguAuth *a, cstr s1, cstr s2, cstr s3, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, cstr, cstr, char **))f)(a, s1, s2, s3, err);
}
static DaguAuthStatus call_s1_out(void *f, const DaguAuth *a, cstr s1, char **out, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, char **, char **))f)(a, s1, out, err);
}
static DaguAuthStatus call_s2_out(void *f, const DaguAuth *a, cstr s1, cstr s2, char **out,
                                  char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, cstr, char **, char **))f)(a, s1, s2, out,
	                                                                              err);
}
static DaguAuthStatus call_s3_out(void *f, const DaguAuth *a, cstr s1, cstr s2, cstr s3,
                                  char **out, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, cstr, cstr, char **, char **))f)(
		a, s1, s2, s3, out, err);
}
static DaguAuthStatus call_s4_out(void *f, const DaguAuth *a, cstr s1, cstr s2, cstr s3, cstr s4,
                                  char **out, char **err) {
	return ((DaguAuthStatus (*)(const DaguAuth *, cstr, cstr, cstr, cstr, char **, char **))f)(
		a, s1, s2, s3, s4, out, err);
}

// authorize runs on every request a host guards. The Go strings go in as _GoString_ (pointer and
// length) to dagu_auth_authorize_n, so neither side copies them, and the answer comes back by
// value, so no Go out-parameter escapes to the heap: no allocation per call.
typedef struct {
	DaguAuthStatus status;
	uint32_t decision;
	char *err;
} authorize_result;
// The instance comes as an integer: cgo's check of a pointer argument (is it Go memory?) spills
// it to the heap, one allocation per call, and this one is C memory anyway.
static authorize_result call_authorize_n(void *f, uintptr_t instance, _GoString_ token,
                                         uint32_t action, _GoString_ workspace) {
	const DaguAuth *a = (const DaguAuth *)instance;
	authorize_result r = {0, 0, NULL};
	r.status = ((DaguAuthStatus (*)(const DaguAuth *, cstr, size_t, uint32_t, cstr, size_t,
	                                uint32_t *, char **))f)(
		a, _GoStringPtr(token), _GoStringLen(token), action, _GoStringPtr(workspace),
		_GoStringLen(workspace), &r.decision, &r.err);
	return r;
}
// dagu_auth_authorize_request (ABI 1.4): as call_authorize_n, with the surface, the request
// struct on the C stack.
static authorize_result call_authorize_request(void *f, uintptr_t instance, _GoString_ token,
                                               uint32_t action, _GoString_ workspace,
                                               uint32_t surface) {
	const DaguAuth *a = (const DaguAuth *)instance;
	DaguAuthAuthorizeRequest request = {sizeof(DaguAuthAuthorizeRequest), _GoStringPtr(token),
	                                    _GoStringLen(token), action, _GoStringPtr(workspace),
	                                    _GoStringLen(workspace), surface};
	authorize_result r = {0, 0, NULL};
	r.status = ((DaguAuthStatus (*)(const DaguAuth *, const DaguAuthAuthorizeRequest *,
	                                uint32_t *, char **))f)(a, &request, &r.decision, &r.err);
	return r;
}
// dagu_auth_authorize, for a library older than ABI 1.3.
static authorize_result call_authorize(void *f, const DaguAuth *a, cstr token, uint32_t action,
                                       cstr workspace) {
	authorize_result r = {0, 0, NULL};
	r.status = ((DaguAuthStatus (*)(const DaguAuth *, cstr, uint32_t, cstr, uint32_t *,
	                                char **))f)(a, token, action, workspace, &r.decision, &r.err);
	return r;
}

// The body is the caller's Go memory, held by C only for the duration of the call as cgo's rules
// allow, so a body of up to 1 MiB is not copied; it goes into a C copy of the request, since Go
// memory may not be given a Go pointer behind the collector's back.
static DaguAuthStatus call_handle_http(void *f, const DaguAuth *a,
                                       const DaguAuthHttpRequest *request, const uint8_t *body,
                                       size_t body_len, DaguAuthHttpResponse **out) {
	DaguAuthHttpRequest with_body = *request;
	with_body.body = body;
	with_body.body_len = body_len;
	return ((DaguAuthStatus (*)(const DaguAuth *, const DaguAuthHttpRequest *,
	                            DaguAuthHttpResponse **))f)(a, &with_body, out);
}
static const DaguAuthHttpHeader *header_at(const DaguAuthHttpHeader *h, size_t i) { return &h[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// instanceHandle is the library's DaguAuth, for the files that hold one without speaking C.
type instanceHandle = C.DaguAuth

// dlopen maps the library for the life of the process: a Rust library with thread-local
// destructors cannot be unloaded safely, so there is no dlclose.
func dlopen(path string) (unsafe.Pointer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	opened := C.open_library(cpath)
	if opened.handle == nil {
		return nil, errors.New(C.GoString(opened.error))
	}
	return opened.handle, nil
}

// dlsym is the address of the function name, nil when the library lacks it.
func dlsym(handle unsafe.Pointer, name string) unsafe.Pointer {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.dlsym(handle, cname)
}

func (l *Library) callABIVersion() uint32 {
	return uint32(C.call_abi_version(l.fns[fnABIVersion]))
}

func (l *Library) callVersion() string {
	return C.GoString(C.call_version(l.fns[fnVersion]))
}

func (l *Library) callStatusName(status Status) string {
	return C.GoString(C.call_status_name(l.fns[fnStatusName], C.uint32_t(status)))
}

// take copies a string the library returned into Go and frees it with the library's own free.
func (l *Library) take(text *C.char) string {
	if text == nil {
		return ""
	}
	copied := C.GoString(text)
	C.call_string_free(l.fns[fnStringFree], text)
	return copied
}

// answer turns a status and its outputs into Go values; both strings are freed either way.
func (l *Library) answer(op function, status C.DaguAuthStatus, out, cerr *C.char) (string, error) {
	message := l.take(cerr)
	text := l.take(out)
	if status != C.DaguAuthStatus(StatusOK) {
		return "", &Error{Status: Status(status), Op: op.name(), Message: message}
	}
	return text, nil
}

func (l *Library) callOpen(configJSON string) (*instanceHandle, error) {
	if err := refuseNUL(fnOpen, configJSON); err != nil {
		return nil, err
	}
	config := C.CString(configJSON)
	defer C.free(unsafe.Pointer(config))
	var handle *C.DaguAuth
	var cerr *C.char
	status := C.call_open(l.fns[fnOpen], config, &handle, &cerr)
	if _, err := l.answer(fnOpen, status, nil, cerr); err != nil {
		return nil, err
	}
	if handle == nil {
		return nil, &Error{Status: StatusInternal, Op: fnOpen.name(),
			Message: "OK without an instance"}
	}
	return handle, nil
}

func (l *Library) callClose(handle *instanceHandle) {
	C.call_close(l.fns[fnClose], handle)
}

func (l *Library) callSetupRequired(handle *instanceHandle) (bool, error) {
	var required C.bool
	var cerr *C.char
	status := C.call_setup_required(l.fns[fnSetupRequired], handle, &required, &cerr)
	_, err := l.answer(fnSetupRequired, status, nil, cerr)
	return bool(required), err
}

// refuseNUL keeps a string with a NUL byte from reaching C, where it would end early: "ops\x00x"
// must never be taken for "ops". The library answers INVALID_UTF8 for the same mistake.
func refuseNUL(op function, args ...string) error {
	for _, arg := range args {
		if strings.IndexByte(arg, 0) >= 0 {
			return &Error{Status: StatusInvalidUTF8, Op: op.name(),
				Message: "a string argument holds a NUL byte"}
		}
	}
	return nil
}

// callStrings calls op, whose parameters are the instance, the strings args, a string out if op
// answers one, and the error out; it answers the string out.
func (l *Library) callStrings(handle *instanceHandle, op function, args ...string) (string, error) {
	withOut := functions[op].answers
	if err := refuseNUL(op, args...); err != nil {
		return "", err
	}
	c := make([]*C.char, len(args))
	for i, arg := range args {
		c[i] = C.CString(arg)
	}
	defer func() {
		for _, arg := range c {
			C.free(unsafe.Pointer(arg))
		}
	}()
	f := l.fns[op]
	var out, cerr *C.char
	var status C.DaguAuthStatus
	switch {
	case len(c) == 1 && !withOut:
		status = C.call_s1(f, handle, c[0], &cerr)
	case len(c) == 2 && !withOut:
		status = C.call_s2(f, handle, c[0], c[1], &cerr)
	case len(c) == 3 && !withOut:
		status = C.call_s3(f, handle, c[0], c[1], c[2], &cerr)
	case len(c) == 1:
		status = C.call_s1_out(f, handle, c[0], &out, &cerr)
	case len(c) == 2:
		status = C.call_s2_out(f, handle, c[0], c[1], &out, &cerr)
	case len(c) == 3:
		status = C.call_s3_out(f, handle, c[0], c[1], c[2], &out, &cerr)
	case len(c) == 4:
		status = C.call_s4_out(f, handle, c[0], c[1], c[2], c[3], &out, &cerr)
	default:
		panic(fmt.Sprintf("daguauth: no trampoline for %s with %d strings", op.name(), len(c)))
	}
	return l.answer(op, status, out, cerr)
}

// authorizeResult is what both authorize calls answer; an error is built only off the hot path.
func (l *Library) authorizeResult(op function, r C.authorize_result) (Decision, error) {
	if r.status == C.DaguAuthStatus(StatusOK) {
		if r.err != nil {
			C.call_string_free(l.fns[fnStringFree], r.err)
		}
		return Decision(r.decision), nil
	}
	return 0, &Error{Status: Status(r.status), Op: op.name(), Message: l.take(r.err)}
}

func (l *Library) callAuthorizeN(handle *instanceHandle, token string, action Action,
	workspace string) (Decision, error) {
	instance := C.uintptr_t(uintptr(unsafe.Pointer(handle)))
	r := C.call_authorize_n(l.fns[fnAuthorizeN], instance, token, C.uint32_t(action), workspace)
	return l.authorizeResult(fnAuthorizeN, r)
}

func (l *Library) callAuthorizeRequest(handle *instanceHandle, token string, action Action,
	workspace string, surface Surface) (Decision, error) {
	instance := C.uintptr_t(uintptr(unsafe.Pointer(handle)))
	r := C.call_authorize_request(l.fns[fnAuthorizeRequest], instance, token, C.uint32_t(action),
		workspace, C.uint32_t(surface))
	return l.authorizeResult(fnAuthorizeRequest, r)
}

func (l *Library) callAuthorize(handle *instanceHandle, token string, action Action,
	workspace string) (Decision, error) {
	if err := refuseNUL(fnAuthorize, token, workspace); err != nil {
		return 0, err
	}
	ctoken, cworkspace := C.CString(token), C.CString(workspace)
	defer C.free(unsafe.Pointer(ctoken))
	defer C.free(unsafe.Pointer(cworkspace))
	r := C.call_authorize(l.fns[fnAuthorize], handle, ctoken, C.uint32_t(action), cworkspace)
	return l.authorizeResult(fnAuthorize, r)
}

// callHandleHTTP passes one request. Method, path, headers and client IP are copied into one C
// allocation (strings must be NUL-terminated, and C memory may not hold Go pointers); the body is
// passed as it is.
func (l *Library) callHandleHTTP(handle *instanceHandle, req *HTTPRequest) (*HTTPResponse, error) {
	strs := make([]string, 0, 3+2*len(req.Headers))
	strs = append(strs, req.Method, req.Path, req.ClientIP)
	for _, h := range req.Headers {
		strs = append(strs, h.Name, h.Value)
	}
	if err := refuseNUL(fnHandleHTTP, strs...); err != nil {
		return nil, err
	}
	headerSize := C.size_t(unsafe.Sizeof(C.DaguAuthHttpHeader{}))
	size := headerSize * C.size_t(len(req.Headers))
	for _, s := range strs {
		size += C.size_t(len(s) + 1)
	}
	block := C.malloc(size)
	if block == nil {
		return nil, &Error{Status: StatusInternal, Op: fnHandleHTTP.name(),
			Message: "out of memory for the request"}
	}
	defer C.free(block)
	headers := unsafe.Slice((*C.DaguAuthHttpHeader)(block), len(req.Headers))
	text := unsafe.Slice((*byte)(block), int(size))[int(headerSize)*len(req.Headers):]
	place := func(s string) *C.char {
		at := (*C.char)(unsafe.Pointer(&text[0]))
		copy(text, s)
		text[len(s)] = 0
		text = text[len(s)+1:]
		return at
	}
	var creq C.DaguAuthHttpRequest
	creq.struct_size = C.uint32_t(unsafe.Sizeof(creq))
	creq.method = place(req.Method)
	creq.path = place(req.Path)
	creq.client_ip = place(req.ClientIP)
	for i, h := range req.Headers {
		headers[i].name = place(h.Name)
		headers[i].value = place(h.Value)
	}
	if len(headers) > 0 {
		creq.headers = &headers[0]
		creq.header_count = C.size_t(len(headers))
	}
	var body *C.uint8_t
	if len(req.Body) > 0 {
		body = (*C.uint8_t)(unsafe.Pointer(&req.Body[0]))
	}
	var cresp *C.DaguAuthHttpResponse
	status := C.call_handle_http(l.fns[fnHandleHTTP], handle, &creq, body, C.size_t(len(req.Body)),
		&cresp)
	if _, err := l.answer(fnHandleHTTP, status, nil, nil); err != nil {
		return nil, err
	}
	if cresp == nil {
		return nil, &Error{Status: StatusInternal, Op: fnHandleHTTP.name(),
			Message: "OK without a response"}
	}
	defer C.call_response_free(l.fns[fnHTTPResponseFree], cresp)
	resp := &HTTPResponse{Status: int(cresp.status)}
	for i := C.size_t(0); i < cresp.header_count; i++ {
		h := C.header_at(cresp.headers, i)
		resp.Headers = append(resp.Headers, Header{Name: C.GoString(h.name),
			Value: C.GoString(h.value)})
	}
	if cresp.body_len > 0 {
		body := unsafe.Slice((*byte)(unsafe.Pointer(cresp.body)), int(cresp.body_len))
		resp.Body = append([]byte(nil), body...)
	}
	return resp, nil
}
