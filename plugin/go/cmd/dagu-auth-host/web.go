package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// The web UI of host-demo (setup, sign-in, users, account), served from its folder of pages
// (host-demo/static) when -web names it: one copy of the pages for both hosts. The pages talk only
// to the plugin's HTTP API; the host adds one thing the API cannot: while setup is required, every
// page but /setup redirects there before any script runs.

// csp allows scripts and styles from this origin only, nothing inline, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// permissionsPolicy: the pages use no device or sensor, so a script that gets in anyway cannot
// reach them either.
const permissionsPolicy = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), " +
	"magnetometer=(), microphone=(), payment=(), usb=()"

type webPages struct {
	// html by path, each the shell with its page's name, title and body filled in.
	pages  map[string]string
	assets map[string]asset
}

type asset struct {
	body, contentType string
}

// loadWebPages reads dir once, at start, so a missing file stops start-up, not a request.
func loadWebPages(dir string) (*webPages, error) {
	read := func(name string) (string, error) {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("web pages: %w", err)
		}
		return string(text), nil
	}
	shell, err := read("shell.html")
	if err != nil {
		return nil, err
	}
	w := &webPages{pages: map[string]string{}, assets: map[string]asset{}}
	for _, p := range []struct{ path, name, title string }{
		{"/", "home", "Home"}, {"/setup", "setup", "Set up"}, {"/login", "login", "Sign in"},
		{"/users", "users", "Users"}, {"/account", "account", "Account"},
	} {
		body, err := read(p.name + ".html")
		if err != nil {
			return nil, err
		}
		w.pages[p.path] = strings.NewReplacer("{{page}}", p.name, "{{title}}", p.title,
			"{{body}}", body).Replace(shell)
	}
	for path, contentType := range map[string]string{"app.js": "text/javascript",
		"app.css": "text/css"} {
		body, err := read(path)
		if err != nil {
			return nil, err
		}
		w.assets["/static/"+path] = asset{body, contentType}
	}
	return w, nil
}

func (w *webPages) owns(path string) bool {
	_, page := w.pages[path]
	_, static := w.assets[path]
	return page || static
}

func (w *webPages) serve(rw http.ResponseWriter, r *http.Request, setupRequired func() bool) {
	header := rw.Header()
	if a, ok := w.assets[r.URL.Path]; ok {
		header.Set("Content-Type", a.contentType)
		header.Set("X-Content-Type-Options", "nosniff")
		// Small: revalidating costs nothing and an upgrade is seen at once.
		header.Set("Cache-Control", "no-cache")
		_, _ = io.WriteString(rw, a.body)
		return
	}
	if r.URL.Path != "/setup" && setupRequired() {
		http.Redirect(rw, r, "/setup", http.StatusSeeOther)
		return
	}
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Content-Security-Policy", csp)
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Referrer-Policy", "no-referrer")
	header.Set("Cache-Control", "no-store")
	header.Set("Permissions-Policy", permissionsPolicy)
	// A page this one opens (or that opened it) from another site gets no handle on it.
	header.Set("Cross-Origin-Opener-Policy", "same-origin")
	// For browsers that predate the CSP's frame-ancestors.
	header.Set("X-Frame-Options", "DENY")
	_, _ = io.WriteString(rw, w.pages[r.URL.Path])
}
