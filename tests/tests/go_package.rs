//! Package daguauth (`plugin/go`), the binding a Dagu server imports, held to Go's own quality
//! tools: gofmt over every Go file of the repository, `go vet`, and its tests, examples and the
//! Go host's tests under the race detector and cgo's full pointer check, against the plugin these
//! tests build (`DAGU_AUTH_LIB`).
//! Without `go` (Debian `golang-go`) the tests print why they skip, unless
//! `DAGU_AUTH_REQUIRE_ALL=1`.

use std::path::PathBuf;
use std::process::Command;

use dagu_auth_tests::go::{go_command, package_dir};
use dagu_auth_tests::native::{plugin, run_ok, tool_or_skip};
use dagu_auth_tests::workspace_root;

#[test]
fn go_sources_are_gofmt_clean() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    let goroot = run_ok(go_command(&go, &package_dir()).args(["env", "GOROOT"]));
    let gofmt = PathBuf::from(String::from_utf8_lossy(&goroot.stdout).trim()).join("bin/gofmt");
    let output = run_ok(
        Command::new(gofmt)
            .arg("-l")
            .arg(package_dir())
            .arg(workspace_root().join("tests/go")),
    );
    let unformatted = String::from_utf8_lossy(&output.stdout);
    assert!(
        unformatted.trim().is_empty(),
        "not gofmt-formatted:\n{unformatted}"
    );
}

#[test]
fn go_vet_finds_nothing_in_the_package_and_its_host() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    run_ok(go_command(&go, &package_dir()).args(["vet", "./..."]));
}

#[test]
fn go_package_tests_and_examples_pass_under_the_race_detector() {
    let Some(go) = tool_or_skip("go", "golang-go") else {
        return;
    };
    // -count=1: Go caches test results by the files and variables it sees, not by the library
    // behind DAGU_AUTH_LIB, so a rebuilt plugin would otherwise be answered from the cache.
    let output = run_ok(
        go_command(&go, &package_dir())
            .args(["test", "-race", "-count=1", "-v", "./..."])
            .env("DAGU_AUTH_LIB", plugin())
            // Also checks cgo's rules for Go pointers the C side is given, which -race does not.
            .env("GODEBUG", "cgocheck=2"),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let passed = stdout
        .lines()
        .filter(|line| line.trim_start().starts_with("--- PASS"))
        .count();
    assert!(
        passed > 0 && !stdout.contains("--- FAIL") && !stdout.contains("skipped: no library"),
        "{stdout}"
    );
    println!("Go package: {passed} tests and examples passed under -race");
}
