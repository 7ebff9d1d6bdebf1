package daguauth

import (
	"fmt"
	"unsafe"
)

// ABIMajor is the major version of the C ABI this package speaks (DAGU_AUTH_ABI_VERSION_MAJOR).
// A library with another major is refused by Load.
const ABIMajor = 1

// ABIMinor is the newest minor this package knows (DAGU_AUTH_ABI_VERSION_MINOR). A library with a
// lower minor loads, and the calls it lacks answer ErrUnsupportedVersion; a higher minor only
// adds functions this package does not call.
const ABIMinor = 5

// function names one C function of the library; the order is the table's, not the ABI's.
type function int

const (
	fnABIVersion function = iota
	fnVersion
	fnStatusName
	fnOpen
	fnClose
	fnSetupRequired
	fnSetup
	fnAuthenticate
	fnVerify
	fnAuthorize
	fnLogout
	fnUserList
	fnUserGet
	fnUserCreate
	fnUserUpdate
	fnUserDelete
	fnUserResetPassword
	fnChangePassword
	fnStringFree
	fnHandleHTTP
	fnHTTPResponseFree
	// ABI 1.1
	fnAPIKeyList
	fnAPIKeyGet
	fnAPIKeyCreate
	fnAPIKeyUpdate
	fnAPIKeyDelete
	fnAuditList
	// ABI 1.2
	fnOperator
	// ABI 1.3
	fnAuthorizeN
	// ABI 1.4: optional, so a 1.3 library still loads and AuditAppend and AuthorizeSurface
	// answer ErrUnsupportedVersion there, as the APIKey calls do on a 1.0 library.
	fnAuditAppend
	fnAuthorizeRequest
	fnSignIn
	fnLoginMFA
	fnTOTPSetup
	fnTOTPConfirm
	fnTOTPDisable
	fnRecoveryCodesRegenerate
	fnUserMFAReset
	fnAuthenticateFrom
	fnSessionList
	fnSessionEnd
	fnSessionEndOthers
	fnUserEndSessions
	functionCount
)

// functions is every C function this package calls, with the minor that added it (0: required)
// and, for the calls that take strings, whether one comes back (a char ** before error_out).
var functions = [functionCount]struct {
	name    string
	since   uint16
	answers bool
}{
	fnABIVersion:              {"dagu_auth_abi_version", 0, false},
	fnVersion:                 {"dagu_auth_version", 0, false},
	fnStatusName:              {"dagu_auth_status_name", 0, false},
	fnOpen:                    {"dagu_auth_open", 0, false},
	fnClose:                   {"dagu_auth_close", 0, false},
	fnSetupRequired:           {"dagu_auth_setup_required", 0, false},
	fnSetup:                   {"dagu_auth_setup", 0, true},
	fnAuthenticate:            {"dagu_auth_authenticate", 0, true},
	fnVerify:                  {"dagu_auth_verify", 0, true},
	fnAuthorize:               {"dagu_auth_authorize", 0, false},
	fnLogout:                  {"dagu_auth_logout", 0, false},
	fnUserList:                {"dagu_auth_user_list", 0, true},
	fnUserGet:                 {"dagu_auth_user_get", 0, true},
	fnUserCreate:              {"dagu_auth_user_create", 0, true},
	fnUserUpdate:              {"dagu_auth_user_update", 0, true},
	fnUserDelete:              {"dagu_auth_user_delete", 0, false},
	fnUserResetPassword:       {"dagu_auth_user_reset_password", 0, false},
	fnChangePassword:          {"dagu_auth_change_password", 0, false},
	fnStringFree:              {"dagu_auth_string_free", 0, false},
	fnHandleHTTP:              {"dagu_auth_handle_http", 0, false},
	fnHTTPResponseFree:        {"dagu_auth_http_response_free", 0, false},
	fnAPIKeyList:              {"dagu_auth_api_key_list", 1, true},
	fnAPIKeyGet:               {"dagu_auth_api_key_get", 1, true},
	fnAPIKeyCreate:            {"dagu_auth_api_key_create", 1, true},
	fnAPIKeyUpdate:            {"dagu_auth_api_key_update", 1, true},
	fnAPIKeyDelete:            {"dagu_auth_api_key_delete", 1, false},
	fnAuditList:               {"dagu_auth_audit_list", 1, true},
	fnOperator:                {"dagu_auth_operator", 2, true},
	fnAuthorizeN:              {"dagu_auth_authorize_n", 3, false},
	fnAuditAppend:             {"dagu_auth_audit_append", 4, false},
	fnAuthorizeRequest:        {"dagu_auth_authorize_request", 4, false},
	fnSignIn:                  {"dagu_auth_sign_in", 5, true},
	fnLoginMFA:                {"dagu_auth_login_mfa", 5, true},
	fnTOTPSetup:               {"dagu_auth_totp_setup", 5, true},
	fnTOTPConfirm:             {"dagu_auth_totp_confirm", 5, true},
	fnTOTPDisable:             {"dagu_auth_totp_disable", 5, false},
	fnRecoveryCodesRegenerate: {"dagu_auth_recovery_codes_regenerate", 5, true},
	fnUserMFAReset:            {"dagu_auth_user_mfa_reset", 5, false},
	fnAuthenticateFrom:        {"dagu_auth_authenticate_from", 5, true},
	fnSessionList:             {"dagu_auth_session_list", 5, true},
	fnSessionEnd:              {"dagu_auth_session_end", 5, false},
	fnSessionEndOthers:        {"dagu_auth_session_end_others", 5, true},
	fnUserEndSessions:         {"dagu_auth_user_end_sessions", 5, true},
}

func (f function) name() string { return functions[f].name }

// ABIVersion is a library's C ABI version.
type ABIVersion struct {
	Major, Minor uint16
}

func (v ABIVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Library is a loaded libdagu_auth.so. It stays mapped for the life of the process.
type Library struct {
	path   string
	handle unsafe.Pointer
	abi    ABIVersion
	// nil where the library is older than the function.
	fns [functionCount]unsafe.Pointer
}

// Load maps the library at path with dlopen, resolves every function with dlsym and checks the
// ABI major. Functions of a later minor than the library's are optional: their calls answer
// ErrUnsupportedVersion. A library that claims a minor but lacks one of its functions is refused.
func Load(path string) (*Library, error) {
	handle, err := dlopen(path)
	if err != nil {
		return nil, fmt.Errorf("daguauth: load %s: %w", path, err)
	}
	l := &Library{path: path, handle: handle}
	// The version comes first: under another major even the other signatures may differ.
	l.fns[fnABIVersion] = dlsym(handle, fnABIVersion.name())
	if l.fns[fnABIVersion] == nil {
		return nil, fmt.Errorf("daguauth: %s has no %s: not a dagu-auth library", path,
			fnABIVersion.name())
	}
	abi := l.callABIVersion()
	l.abi = ABIVersion{Major: uint16(abi >> 16), Minor: uint16(abi)}
	if l.abi.Major != ABIMajor {
		return nil, fmt.Errorf("daguauth: %s has C ABI %s, this package needs %d.x", path, l.abi,
			ABIMajor)
	}
	for fn := fnABIVersion + 1; fn < functionCount; fn++ {
		l.fns[fn] = dlsym(handle, fn.name())
		if l.fns[fn] == nil && functions[fn].since <= l.abi.Minor {
			return nil, fmt.Errorf("daguauth: %s (C ABI %s) lacks %s", path, l.abi, fn.name())
		}
	}
	return l, nil
}

// Path is the file the library was loaded from.
func (l *Library) Path() string { return l.path }

// ABIVersion is the library's C ABI version (dagu_auth_abi_version).
func (l *Library) ABIVersion() ABIVersion { return l.abi }

// Version is the plugin's release, e.g. "0.1.0".
func (l *Library) Version() string { return l.callVersion() }

// StatusName is the library's name for a status, e.g. "NOT_FOUND"; it knows the statuses of its
// own minor, which may be newer than this package's.
func (l *Library) StatusName(status Status) string { return l.callStatusName(status) }

// Symbol is the address of a function of the library, nil when it has none by that name. It is
// for a host's own C code: a call of a later minor than this package wraps, or a measurement
// made in C. Calls made this way follow include/dagu_auth.h, not this package.
func (l *Library) Symbol(name string) unsafe.Pointer { return dlsym(l.handle, name) }

// has reports whether the library has fn; unsupported answers the error for when it has not.
func (l *Library) has(fn function) bool { return l.fns[fn] != nil }

func (l *Library) unsupported(fn function) error {
	return l.unsupportedBefore(fn, functions[fn].since)
}

// unsupportedBefore is the error for a call whose answer this package reads only from minor on.
func (l *Library) unsupportedBefore(fn function, minor uint16) error {
	return &Error{Status: StatusUnsupportedVersion, Op: fn.name(),
		Message: fmt.Sprintf("the library has C ABI %s; this call needs %d.%d", l.abi, ABIMajor,
			minor)}
}

// auditInDagusShape is the minor from which dagu_auth_audit_list answers Dagu's entries.
const auditInDagusShape = 4
