package daguauth_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	daguauth "github.com/dagu-auth/dagu-auth/plugin/go"
)

// restoreLock tries the lock as the plugin's db.restore takes it: exclusive, without waiting.
func restoreLock(t *testing.T, dataDir string) (*os.File, error) {
	file, err := os.Open(filepath.Join(dataDir, "auth", "server.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

func TestServersShareTheLockAndKeepARestoreOut(t *testing.T) {
	dir := t.TempDir()
	first, err := daguauth.LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := daguauth.LockDataDir(dir)
	if err != nil {
		t.Fatalf("a second server on the same folder: %v", err)
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "auth", "server.lock"))
	if string(pid) != strconv.Itoa(os.Getpid()) {
		t.Errorf("the lock names %q", pid)
	}
	if file, err := restoreLock(t, dir); err == nil {
		file.Close()
		t.Fatal("a restore took the lock of a serving folder")
	}
	first.Close()
	second.Close()
	restore, err := restoreLock(t, dir)
	if err != nil {
		t.Fatalf("the lock is free once the servers are gone: %v", err)
	}
	defer restore.Close()
	_, err = daguauth.LockDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "a restore is running") {
		t.Errorf("a server started during a restore: %v", err)
	}
}
