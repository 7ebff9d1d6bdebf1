//! Go callers of the plugin: the `go` tool run offline (no module downloads: the package uses the
//! standard library and cgo only) with its caches under `target/go/`, and the programs built from
//! `plugin/go` (package daguauth and its host, `cmd/dagu-auth-host`) and `tests/go`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::artifacts::{target_dir, workspace_root};
use crate::native::{run_ok, tool_or_skip};

/// The Go module of package daguauth.
pub fn package_dir() -> PathBuf {
    workspace_root().join("plugin/go")
}

/// A `go` command in `dir` that works offline, with its caches under `target/go/`.
pub fn go_command(go: &Path, dir: &Path) -> Command {
    let root = target_dir().join("go");
    let mut command = Command::new(go);
    command
        .current_dir(dir)
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", root.join("cache"))
        .env("GOPATH", root.join("path"))
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "1");
    command
}

/// `go build -o target/go/bin/<name> <package>` in the module at `dir`.
pub fn build(go: &Path, dir: &Path, package: &str, name: &str) -> PathBuf {
    let out = target_dir().join("go/bin").join(name);
    fs::create_dir_all(out.parent().expect("a parent")).expect("create target/go/bin");
    run_ok(
        go_command(go, dir)
            .args(["build", "-o"])
            .arg(&out)
            .arg(package),
    );
    out
}

/// The Go host, built once per test process; `None` (after printing why) when `go` is missing.
pub fn go_host() -> Option<&'static Path> {
    let go = tool_or_skip("go", "golang-go")?;
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    Some(BUILT.get_or_init(|| {
        build(
            &go,
            &package_dir(),
            "./cmd/dagu-auth-host",
            "dagu-auth-host",
        )
    }))
}
