//! Native callers of the plugin: external tools (gcc, valgrind, go, nm), the installed-library
//! layout C programs link against, the `test-hooks` build, and running child programs.

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub use crate::artifacts::cargo_command;
use crate::artifacts::{
    PLUGIN_FILE_NAME, locate, profile, profile_args, profile_dir, target_dir, workspace_root,
};

/// The SONAME the plugin carries (`libdagu_auth.so.<ABI major>`).
pub const SONAME: &str = "libdagu_auth.so.1";

/// Whether every optional tool is required (`DAGU_AUTH_REQUIRE_ALL=1`, set by `.ci/run`): then a
/// missing tool fails the test instead of skipping it.
pub fn require_all() -> bool {
    env::var_os("DAGU_AUTH_REQUIRE_ALL").is_some_and(|v| v == "1")
}

/// `name` found on `PATH`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// `name` from `PATH`, or `None` after printing why the calling test skips. Under
/// [`require_all`] a missing tool panics instead.
pub fn tool_or_skip(name: &str, package: &str) -> Option<PathBuf> {
    let found = find_tool(name);
    if found.is_none() {
        let reason = format!("`{name}` is not on PATH (Debian package `{package}`)");
        assert!(
            !require_all(),
            "{reason}, and DAGU_AUTH_REQUIRE_ALL=1 requires it"
        );
        println!("skipped: {reason}; set DAGU_AUTH_REQUIRE_ALL=1 to make this a failure");
    }
    found
}

/// Where this crate's native build products go: `target/native/<profile>/`.
pub fn native_dir() -> PathBuf {
    target_dir().join("native").join(profile())
}

/// `cargo build -p dagu-auth --lib` for the tests' profile, with `extra` arguments.
fn build_plugin(extra: &[&OsStr]) {
    let mut command = cargo_command();
    command
        .args(["build", "-p", "dagu-auth", "--lib"])
        .args(extra);
    command.args(profile_args(&profile()));
    run_ok(&mut command);
}

/// The plugin (`libdagu_auth.so`), built once per test process. Only the plugin crate is built
/// (not the workspace, as [`crate::ensure_built`] does): these tests need nothing else, and so do
/// not depend on the other members compiling.
pub fn plugin() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        build_plugin(&[]);
        locate(&profile_dir(), PLUGIN_FILE_NAME).unwrap_or_else(|message| panic!("{message}"))
    })
}

/// A folder laid out as the library is installed: `libdagu_auth.so.1` (a copy of the built
/// plugin, so a rebuild while tests run cannot change it underneath them) and the development link
/// `libdagu_auth.so -> libdagu_auth.so.1`. Programs linked with `-L<dir> -ldagu_auth` record the
/// SONAME and find it again through their rpath. Refreshed once per test process; the copy is
/// renamed into place, so programs of another test process keep the file they mapped.
pub fn installed_lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = native_dir().join("lib");
        fs::create_dir_all(&dir).expect("create the library folder");
        let staged = dir.join(format!(".{SONAME}.{}", std::process::id()));
        fs::copy(plugin(), &staged).expect("copy the plugin into the library folder");
        fs::rename(&staged, dir.join(SONAME)).expect("move the plugin copy into place");
        let link = dir.join("libdagu_auth.so");
        if fs::read_link(&link).ok().as_deref() != Some(Path::new(SONAME)) {
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(SONAME, &link).expect("link libdagu_auth.so to the SONAME");
        }
        dir
    })
}

/// `include/`, where `dagu_auth.h` is.
pub fn include_dir() -> PathBuf {
    workspace_root().join("include")
}

/// Names of the functions `include/dagu_auth.h` declares.
pub fn header_functions() -> BTreeSet<String> {
    let header = fs::read_to_string(workspace_root().join("include/dagu_auth.h"))
        .expect("read include/dagu_auth.h");
    let mut names = BTreeSet::new();
    for (index, _) in header.match_indices("dagu_auth_") {
        let rest = &header[index..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        // A declaration: the name directly followed by its parameter list, at a line's type.
        let line_start = header[..index].rfind('\n').map_or(0, |i| i + 1);
        let before = &header[line_start..index];
        let declares = after.starts_with('(')
            && !before.trim_start().starts_with('*')
            && !before.contains('`');
        if declares {
            names.insert(name.to_owned());
        }
    }
    names
}

/// Runs `command`, returning its output; panics when it cannot be started.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("could not run {command:?}: {e}"))
}

/// The text of a child's stdout and stderr, for failure messages (long stderr is cut).
pub fn describe(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = if stderr.len() > 20_000 {
        let cut = stderr.len() - 20_000;
        let start = (cut..stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(stderr.len());
        format!("[... {cut} bytes cut ...]{}", &stderr[start..])
    } else {
        stderr.into_owned()
    };
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    )
}

/// Runs `command` and panics with its output unless it exits with 0.
pub fn run_ok(command: &mut Command) -> Output {
    let output = run(command);
    assert!(
        output.status.success(),
        "{command:?} failed\n{}",
        describe(&output)
    );
    output
}

/// Checks that a test program's last stdout line reads `N passed, 0 failed` with N > 0, and
/// returns N.
pub fn passed_count(output: &Output) -> u64 {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let count = last
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse::<u64>().ok());
    match count {
        Some(n) if n > 0 => n,
        _ => panic!(
            "the last line is not `N passed, 0 failed`: {last:?}\n{}",
            describe(output)
        ),
    }
}

/// Builds the plugin with the `test-hooks` feature into its own target folder
/// (`target/test-hooks`), so the default build never contains the hooks, and returns the library.
/// Built once per test process.
pub fn test_hooks_plugin() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = target_dir().join("test-hooks");
        build_plugin(&[
            OsStr::new("--features"),
            OsStr::new("dagu-auth/test-hooks"),
            OsStr::new("--target-dir"),
            target.as_os_str(),
        ]);
        let lib = target.join(profile()).join("libdagu_auth.so");
        assert!(lib.is_file(), "{} was not built", lib.display());
        lib
    })
}

/// A gcc command for C11 with every warning an error, against `include/dagu_auth.h`.
pub fn gcc_strict(gcc: &Path) -> Command {
    let mut command = Command::new(gcc);
    command
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg(format!("-I{}", include_dir().display()));
    command
}
