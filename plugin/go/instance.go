package daguauth

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Instance is one open plugin instance (a DaguAuth *): a data folder with its users, sessions,
// API keys and audit trail. Any number of goroutines may call it at once.
type Instance struct {
	lib *Library
	// nil once closed. Read without a lock: authorize must not pay for one on every request.
	handle atomic.Pointer[instanceHandle]
}

// Open opens an instance with config. A refused configuration is ErrInvalidConfig and an unusable
// data folder or database ErrStorage, each with the plugin's reason.
func (l *Library) Open(config Config) (*Instance, error) {
	text, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("daguauth: encode the configuration: %w", err)
	}
	handle, err := l.callOpen(string(text))
	if err != nil {
		return nil, err
	}
	in := &Instance{lib: l}
	in.handle.Store(handle)
	return in, nil
}

// Library is the library the instance was opened from.
func (in *Instance) Library() *Library { return in.lib }

// Close closes the instance; later calls answer ErrClosed, and a second Close does nothing. As in
// C, no call may be running on the instance while it closes: a server closes it after
// http.Server.Shutdown has returned.
func (in *Instance) Close() error {
	if handle := in.handle.Swap(nil); handle != nil {
		in.lib.callClose(handle)
	}
	return nil
}

// Handle is the instance's DaguAuth * for a host's own C code (see Library.Symbol); nil after
// Close.
func (in *Instance) Handle() unsafe.Pointer { return unsafe.Pointer(in.handle.Load()) }

// open is the handle to call with, or ErrClosed.
func (in *Instance) open() (*instanceHandle, error) {
	handle := in.handle.Load()
	if handle == nil {
		return nil, ErrClosed
	}
	return handle, nil
}

// SetupRequired reports whether no user exists yet, so the first admin still has to be created
// (Setup). A host's HTML can carry it instead of making the UI ask GET /api/v1/auth/setup.
func (in *Instance) SetupRequired() (bool, error) {
	handle, err := in.open()
	if err != nil {
		return false, err
	}
	return in.lib.callSetupRequired(handle)
}

// call runs op with string arguments and, when into is not nil, decodes its JSON answer into it.
func (in *Instance) call(op function, into any, args ...string) error {
	if !in.lib.has(op) {
		return in.lib.unsupported(op)
	}
	handle, err := in.open()
	if err != nil {
		return err
	}
	text, err := in.lib.callStrings(handle, op, args...)
	if err != nil || into == nil {
		return err
	}
	if err := json.Unmarshal([]byte(text), into); err != nil {
		return fmt.Errorf("daguauth: %s answered JSON this package cannot read: %w", op.name(), err)
	}
	return nil
}

// callJSON is call with its last argument encoded as JSON.
func (in *Instance) callJSON(op function, into any, request any, args ...string) error {
	body, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("daguauth: %s: encode the request: %w", op.name(), err)
	}
	return in.call(op, into, append(args, string(body))...)
}
