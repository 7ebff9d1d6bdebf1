package daguauth

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// MaxBodyBytes is the largest request body the plugin takes (1 MiB). Handler reads one byte more
// and passes it on, so the plugin answers its own 413; a larger body is refused by Handler
// without reading it all.
const MaxBodyBytes = 1 << 20

// Header is one HTTP header.
type Header struct {
	Name, Value string
}

// HTTPRequest is a request of the plugin's HTTP API as the host received it.
type HTTPRequest struct {
	Method string
	// Path is the path with its query string, e.g. "/api/v1/users?limit=50".
	Path    string
	Headers []Header
	Body    []byte
	// ClientIP is the peer's address as the host sees it; the plugin believes X-Forwarded-For
	// only from the trusted proxies of its configuration.
	ClientIP string
}

// HTTPResponse is the plugin's answer, copied into Go memory.
type HTTPResponse struct {
	Status  int
	Headers []Header
	Body    []byte
}

// HandleHTTP answers one request of the plugin's HTTP API. HTTP errors are responses, not Go
// errors (a panic inside the plugin is a 500 too): an error means the request could not be passed
// at all (ErrInvalidUTF8 for a NUL or invalid UTF-8 in method, path, a header or the client IP).
func (in *Instance) HandleHTTP(req HTTPRequest) (*HTTPResponse, error) {
	handle, err := in.open()
	if err != nil {
		return nil, err
	}
	return in.lib.callHandleHTTP(handle, &req)
}

// routes are the paths the plugin answers, as http.ServeMux patterns.
var routes = [...]string{
	"/api/v1/auth", "/api/v1/auth/",
	"/api/v1/users", "/api/v1/users/",
	"/api/v1/api-keys", "/api/v1/api-keys/",
	"/api/v1/audit",
	"/api/v1/openapi.yaml",
	// Single sign-on, outside /api/v1 as in Dagu: the OIDC code flow and the trusted proxy.
	"/oidc-login", "/oidc-callback", "/proxy-login",
}

// Routes are the http.ServeMux patterns of every path the plugin answers, to register Handler
// under:
//
//	for _, pattern := range daguauth.Routes() {
//		mux.Handle(pattern, auth.Handler())
//	}
func Routes() []string { return append([]string(nil), routes[:]...) }

// OwnsPath reports whether the plugin answers path (a request's URL.Path), for hosts whose router
// is not an http.ServeMux: the same set as Routes.
func OwnsPath(path string) bool {
	for _, route := range routes {
		if path == route || strings.HasSuffix(route, "/") && strings.HasPrefix(path, route) {
			return true
		}
	}
	return false
}

// Handler serves the plugin's HTTP API (sign-in, setup, users, API keys, the audit trail and the
// OpenAPI document) by passing every request it receives to HandleHTTP unchanged: method, path
// with query, every header, the body (bounded by MaxBodyBytes) and the client IP (ClientIP). It
// sends back exactly what the plugin answers.
func (in *Instance) Handler() http.Handler { return pluginHandler{in} }

type pluginHandler struct{ in *Instance }

func (h pluginHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readAtMost(r.Body, MaxBodyBytes+1)
	if errors.Is(err, errTooLarge) {
		writePayloadTooLarge(w, MaxBodyBytes)
		return
	}
	if err != nil {
		WriteError(w, http.StatusBadRequest, "bad_request", "cannot read the request body")
		return
	}
	resp, err := h.in.HandleHTTP(HTTPRequest{
		Method:   r.Method,
		Path:     pathWithQuery(r),
		Headers:  requestHeaders(r),
		Body:     body,
		ClientIP: ClientIP(r),
	})
	if err != nil {
		log.Printf("daguauth: %s %s: %v", r.Method, r.URL.Path, err)
		writeInternalError(w)
		return
	}
	writeResponse(w, resp)
}

var errTooLarge = errors.New("daguauth: request body too large")

// readAtMost reads the whole body, refusing (without reading further) anything past limit bytes.
func readAtMost(body io.Reader, limit int64) ([]byte, error) {
	if body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// ClientIP is the address of the connection's peer, as the host sees it: never a forwarded-for
// header, since whom to believe is the plugin's decision (Config.LoginLimits.TrustedProxies).
// IPv4-mapped IPv6 addresses are given as IPv4; "" when the peer is not an IP address.
func ClientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return peer.Addr().Unmap().WithZone("").String()
}

// pathWithQuery is the request's path as the client sent it, percent-encoding included.
func pathWithQuery(r *http.Request) string {
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		path += "?" + r.URL.RawQuery
	}
	return path
}

// requestHeaders are the request's headers in the plugin's form, Host included (net/http keeps it
// apart). A value that is not UTF-8 is passed with replacement characters, as a host reading
// text would see it.
func requestHeaders(r *http.Request) []Header {
	headers := make([]Header, 0, len(r.Header)+1)
	if r.Host != "" {
		headers = append(headers, Header{Name: "Host", Value: r.Host})
	}
	for name, values := range r.Header {
		for _, value := range values {
			if !utf8.ValidString(value) {
				value = strings.ToValidUTF8(value, "\uFFFD")
			}
			headers = append(headers, Header{Name: name, Value: value})
		}
	}
	return headers
}

// connectionHeaders belong to the server's framing of the answer; the plugin's would contradict it.
var connectionHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true,
	"Connection": true}

func writeResponse(w http.ResponseWriter, resp *HTTPResponse) {
	// 1xx would be sent as an interim answer, with the real one still to come.
	if resp.Status < 200 || resp.Status > 999 {
		log.Printf("daguauth: the plugin answered the invalid HTTP status %d", resp.Status)
		writeInternalError(w)
		return
	}
	header := w.Header()
	for _, h := range resp.Headers {
		name := http.CanonicalHeaderKey(h.Name)
		switch {
		case connectionHeaders[name]:
		case !validHeader(h.Name, h.Value):
			log.Printf("daguauth: dropped an invalid header %q from the plugin", h.Name)
		default:
			header.Add(name, h.Value)
		}
	}
	if header.Get("Content-Type") == "" {
		// Otherwise net/http would guess one from the body.
		header["Content-Type"] = nil
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// validHeader: a token for a name (RFC 9110) and no control character but tab in the value.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
