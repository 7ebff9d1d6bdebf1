package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// What depends on who can reach the server, as in host-demo:
//   - Beyond loopback, whoever reaches the port first could create the first admin, so a fresh
//     install needs a one-time setup code that only the log shows (newSetupCode).
//   - On loopback, a page on another site can still reach the server through DNS rebinding: it
//     makes its own name resolve to 127.0.0.1, and its browser then sends that name in Host and
//     Origin alike, so the plugin's origin check sees a same-origin request. A loopback server
//     knows every name it is legitimately called by, so it refuses other Host headers
//     (allowedHosts).

// listensOnLoopback is whether host (the configured listen address) accepts connections from this
// machine only. A name other than localhost counts as reachable from outside: what it resolves to
// can change.
func listensOnLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(host), "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// newSetupCode is 128 random bits as 32 lower-case hex digits: easy to copy from a log, impossible
// to guess.
func newSetupCode() (string, error) {
	var bytes [16]byte
	if _, err := rand.Read(bytes[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(bytes[:]), nil
}

// allowedHosts are the host names a loopback server answers to, lower case, without port or
// brackets.
type allowedHosts struct {
	names []string
}

// allowedHostsFor is nil when the server listens beyond loopback: then it is reached by names it
// cannot know (and a rebinding page gains nothing it could not get by connecting directly).
func allowedHostsFor(listenHost string, allowedOrigins []string) *allowedHosts {
	if !listensOnLoopback(listenHost) {
		return nil
	}
	hosts := &allowedHosts{}
	authorities := []string{listenHost}
	for _, origin := range allowedOrigins {
		if _, rest, found := strings.Cut(origin, "://"); found {
			authority, _, _ := strings.Cut(rest, "/")
			authorities = append(authorities, authority)
		}
	}
	for _, authority := range authorities {
		if name, ok := hostName(authority); ok {
			hosts.names = append(hosts.names, name)
		}
	}
	return hosts
}

// allows is whether a request that names host (its Host header) may be answered: a loopback
// address, localhost or a name under it (browsers resolve those themselves, RFC 6761), the listen
// host, or the host of an allowed origin.
func (a *allowedHosts) allows(host string) bool {
	name, ok := hostName(host)
	if !ok {
		return false
	}
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(name); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	return contains(a.names, name)
}

// hostName is the name of host[:port] or [v6]:port, in lower case without a final dot.
func hostName(authority string) (string, bool) {
	authority = strings.TrimSpace(authority)
	var name string
	if strings.HasPrefix(authority, "[") {
		inside, _, closed := strings.Cut(authority[1:], "]")
		if !closed {
			return "", false
		}
		name = inside
	} else {
		name, _, _ = strings.Cut(authority, ":")
	}
	name = strings.ToLower(strings.TrimRight(name, "."))
	return name, name != ""
}

// refused answers 403, before anything runs, a request for a name a loopback server does not
// answer to: a DNS-rebinding page's. Pages and GETs included, since such a page can read them.
func (a *allowedHosts) refused(w http.ResponseWriter, r *http.Request) bool {
	// r.Host is the Host header, or the request line's name when there is none; a request with
	// neither names nothing to refuse.
	if r.Host == "" || a.allows(r.Host) {
		return false
	}
	daguauth.WriteError(w, http.StatusForbidden, "forbidden", "Host not allowed: this server "+
		"listens on loopback and answers only to loopback names, its listen host and the hosts "+
		"of auth.allowed_origins")
	return true
}
