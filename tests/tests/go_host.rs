//! The Go host of `tests/go/`: a cgo program that loads `libdagu_auth.so` through package daguauth
//! (`plugin/go`) as the Dagu server does when `auth.mode` is builtin, and the README's Go example.
//! Built offline (no module downloads, caches under `target/go/`). Without `go` (Debian
//! `golang-go`) the tests print why they skip, unless `DAGU_AUTH_REQUIRE_ALL=1`.

use std::path::PathBuf;
use std::process::Command;

use dagu_auth_tests::go::{build, go_command};
use dagu_auth_tests::native::{describe, passed_count, plugin, run, run_ok, tool_or_skip};
use dagu_auth_tests::workspace_root;

fn tests_go() -> PathBuf {
    workspace_root().join("tests/go")
}

#[test]
fn go_host_loads_the_plugin_like_dagu_and_uses_it() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    run_ok(go_command(&go, &tests_go()).args(["vet", "./..."]));
    let host = build(&go, &tests_go(), ".", "dagu-host");
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
    let example = build(&go, &tests_go(), "./example", "dagu-example");
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
