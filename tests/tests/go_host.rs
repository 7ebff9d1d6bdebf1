//! The Go host of `tests/go/`: a cgo program that dlopens `libdagu_auth.so` as the Dagu server does
//! when `auth.mode` is builtin, and the README's Go example. Built offline (no modules, caches
//! under `target/go/`). Without `go` (Debian `golang-go`) the tests print why they skip, unless
//! `DAGU_AUTH_REQUIRE_ALL=1`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dagu_auth_tests::native::{describe, passed_count, plugin, run, run_ok, tool_or_skip};
use dagu_auth_tests::{target_dir, workspace_root};

/// A `go` command that works offline, with its caches under `target/go/`.
fn go_command(go: &Path, package_dir: &Path) -> Command {
    let root = target_dir().join("go");
    let mut command = Command::new(go);
    command
        .current_dir(package_dir)
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", root.join("cache"))
        .env("GOPATH", root.join("path"))
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOTELEMETRY", "off")
        .env("CGO_ENABLED", "1");
    command
}

/// `go build -o target/go/bin/<name> <package>` in tests/go.
fn build(go: &Path, package: &str, name: &str) -> PathBuf {
    let out = target_dir().join("go/bin").join(name);
    fs::create_dir_all(out.parent().expect("a parent")).expect("create target/go/bin");
    run_ok(
        go_command(go, &workspace_root().join("tests/go"))
            .args(["build", "-o"])
            .arg(&out)
            .arg(package),
    );
    out
}

#[test]
fn go_host_loads_the_plugin_like_dagu_and_uses_it() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    run_ok(go_command(&go, &workspace_root().join("tests/go")).args(["vet", "./..."]));
    let host = build(&go, ".", "dagu-host");
    let data = tempfile::tempdir().expect("a temporary data folder");
    let output = run(Command::new(&host)
        .arg("-plugin")
        .arg(plugin())
        .arg("-data")
        .arg(data.path()));
    assert!(
        output.status.success(),
        "the Go host failed\n{}",
        describe(&output)
    );
    let passed = passed_count(&output);
    println!("Go host: {passed} passed, 0 failed");

    // The plugin path may come from the environment too, and other auth modes never load it.
    let output = run(Command::new(&host)
        .env("DAGU_AUTH_PLUGIN", plugin())
        .args(["-auth-mode", "basic"]));
    assert!(output.status.success(), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("not loaded"));
}

#[test]
fn go_readme_example_runs() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    let example = build(&go, "./example", "dagu-example");
    let data = tempfile::tempdir().expect("a temporary data folder");
    let output = run(Command::new(&example)
        .arg(plugin())
        .arg(data.path().join("data")));
    assert!(
        output.status.success(),
        "the Go example failed\n{}",
        describe(&output)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "setup required: true\n"
    );
}
