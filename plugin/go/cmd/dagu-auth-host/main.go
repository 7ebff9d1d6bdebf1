// Command dagu-auth-host is host-demo written in Go on package daguauth, the way the Dagu server
// would use it: it loads libdagu_auth.so when auth.mode is builtin, serves the plugin's HTTP API
// with Handler, guards its demo DAGs with Middleware and Authorize, holds the data folder's server
// lock, and serves host-demo's web pages when -web names their folder. It reads host-demo's
// environment variables (-h lists them; there is no YAML file), so the same HTTP suite drives
// both hosts.
//
// Usage: dagu-auth-host [-web host-demo/static]
//
// Exit status 2 is a configuration problem, 1 a failure to start or serve.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

const (
	exitFailure = 1
	exitConfig  = 2
)

func main() {
	webDir := flag.String("web", "", "serve the web pages from this folder (host-demo/static)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: %s [-web DIR]\n", os.Args[0])
		flag.PrintDefaults()
		fmt.Fprintln(flag.CommandLine.Output(), envHelp)
	}
	flag.Parse()
	cwd, err := os.Getwd()
	if err != nil {
		fail(exitFailure, "cannot read the working directory: %v", err)
	}
	s, err := readSettings(os.Getenv, os.LookupEnv, cwd)
	if err != nil {
		fail(exitConfig, "%v", err)
	}
	var web *webPages
	if *webDir != "" {
		if web, err = loadWebPages(*webDir); err != nil {
			fail(exitConfig, "%v", err)
		}
	}
	if err := run(s, web); err != nil {
		fail(exitFailure, "%v", err)
	}
}

func fail(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dagu-auth-host: "+format+"\n", args...)
	os.Exit(status)
}

func run(s settings, web *webPages) error {
	var auth *daguauth.Instance
	if s.builtin {
		// Generated before the plugin opens, which takes it in its configuration; the plugin
		// asks for it only while no user exists, and it is printed only then.
		if !listensOnLoopback(s.host) {
			code, err := newSetupCode()
			if err != nil {
				return fmt.Errorf("cannot generate a setup code: %w", err)
			}
			s.plugin.SetupCode = code
		}
		// Held until run returns: the plugin's db.restore refuses while any server holds it.
		lock, err := daguauth.LockDataDir(s.plugin.DataDir)
		if err != nil {
			return err
		}
		defer lock.Close()
		if auth, err = openPlugin(s); err != nil {
			return err
		}
		defer auth.Close()
	} else {
		fmt.Fprintln(os.Stderr, "dagu-auth-host: auth.mode is none: user management is off, "+
			"every DAG is open")
	}

	listener, err := net.Listen("tcp", net.JoinHostPort(s.host, strconv.Itoa(s.port)))
	if err != nil {
		return fmt.Errorf("cannot listen on %s:%d: %w", s.host, s.port, err)
	}
	// The bound address, not the configured one: with port 0 only this says where to connect.
	fmt.Printf("dagu-auth-host listening on http://%s\n", listener.Addr())
	handler := newServer(auth, web, log.New(os.Stderr, "", 0))
	handler.hosts = allowedHostsFor(s.host, s.plugin.AllowedOrigins)
	httpServer := &http.Server{Handler: handler}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(listener) }()
	select {
	case err := <-served:
		return fmt.Errorf("server failed: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "dagu-auth-host: shutting down")
	// Requests in flight finish before the instance closes (the deferred Close above).
	if err := httpServer.Shutdown(context.Background()); err != nil &&
		!errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(os.Stderr, "dagu-auth-host: stopped")
	return nil
}

func openPlugin(s settings) (*daguauth.Instance, error) {
	exe, _ := os.Executable()
	cwd, _ := os.Getwd()
	path, err := findPlugin(s.pluginPath, exe, cwd)
	if err != nil {
		return nil, err
	}
	lib, err := daguauth.Load(path)
	if err != nil {
		return nil, fmt.Errorf("cannot load the dagu-auth plugin: %w", err)
	}
	auth, err := lib.Open(s.plugin)
	if err != nil {
		return nil, fmt.Errorf("the dagu-auth plugin refused to start: %w", err)
	}
	fmt.Fprintf(os.Stderr, "dagu-auth-host: loaded %s (version %s, C ABI %s); data in %s\n",
		lib.Path(), lib.Version(), lib.ABIVersion(), s.plugin.DataDir)
	required, err := auth.SetupRequired()
	switch {
	case err != nil:
		auth.Close()
		return nil, fmt.Errorf("the plugin cannot read its user store: %w", err)
	case required:
		fmt.Fprintln(os.Stderr, "dagu-auth-host: no user exists yet: create the first admin "+
			"with POST /api/v1/auth/setup")
		if code := s.plugin.SetupCode; code != "" {
			// Worded as host-demo's line, so whoever finds the code in one host's log (or a
			// script, or the HTTP suite) finds it in the other's.
			fmt.Fprintf(os.Stderr, "host-demo: setup code: %s (the server listens beyond "+
				"loopback; the /setup page asks for it, the API takes it as \"setupCode\")\n",
				code)
		}
	}
	return auth, nil
}
