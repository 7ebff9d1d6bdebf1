package daguauth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// ServerLock is a serving host's hold on <data dir>/auth/server.lock: a shared flock, so the
// plugin's "db.restore" operator command, which takes it exclusively, refuses while any server
// uses the data folder. Shared, because several host processes may serve one folder.
type ServerLock struct {
	file *os.File
}

// serverLockPath is where the plugin looks for the lock, under the data folder.
const serverLockPath = "auth/server.lock"

// LockDataDir takes the shared server lock of dataDir for as long as the host serves (README,
// "The lock file"). It fails while a restore runs. The kernel drops the lock when the process
// ends, however it ends; the file stays, so a restore and a server always lock the same one.
func LockDataDir(dataDir string) (*ServerLock, error) {
	path := filepath.Join(dataDir, serverLockPath)
	// The plugin would create the folder the same way; the lock must exist before it opens.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("daguauth: cannot create %s: %w", filepath.Dir(path), err)
	}
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("daguauth: cannot open %s: %w", path, err)
	}
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		file.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("daguauth: a restore is running on this data folder (it holds "+
				"%s); start the server when it has finished", path)
		}
		return nil, fmt.Errorf("daguauth: cannot lock %s: %w", path, err)
	}
	// With several servers the last one to start is named; any of them blocks a restore. A pid
	// that cannot be written only makes the restore's message less precise.
	if err := file.Truncate(0); err == nil {
		_, _ = file.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	}
	return &ServerLock{file: file}, nil
}

// Close releases the lock.
func (l *ServerLock) Close() error { return l.file.Close() }
