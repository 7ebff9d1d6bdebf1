//! Where the workspace and its build output are, and building them once per test process.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// File name of the plugin's shared library.
pub const PLUGIN_FILE_NAME: &str = "libdagu_auth.so";
/// File name of the demo host binary.
pub const HOST_DEMO_FILE_NAME: &str = "host-demo";

/// The root of the cargo workspace (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .expect("the tests crate lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` when set (relative to the workspace root),
/// else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// The directory of the running test executable's profile (`target/<profile>`), derived from
/// its path `target/<profile>/deps/<test>-<hash>`; `None` when the executable is elsewhere.
fn profile_dir_from_exe() -> Option<PathBuf> {
    let exe = env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    Some(deps.parent()?.to_path_buf())
}

/// The profile directory name the tests were built with: `debug`, `release` or a custom one.
pub fn profile() -> String {
    profile_dir_from_exe()
        .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| {
            if cfg!(debug_assertions) {
                "debug".to_owned()
            } else {
                "release".to_owned()
            }
        })
}

/// Where this profile's artifacts are (`target/<profile>`, or `target/<triple>/<profile>`).
pub fn profile_dir() -> PathBuf {
    profile_dir_from_exe().unwrap_or_else(|| target_dir().join(profile()))
}

/// The built binaries the HTTP tests need.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// The `host-demo` executable.
    pub host_demo: PathBuf,
    /// `libdagu_auth.so`.
    pub plugin: PathBuf,
}

/// The cargo arguments that select `profile`.
pub(crate) fn profile_args(profile: &str) -> Vec<String> {
    match profile {
        "debug" => Vec::new(),
        "release" => vec!["--release".to_owned()],
        other => vec!["--profile".to_owned(), other.to_owned()],
    }
}

/// A `cargo` command in the workspace root without the variables cargo sets for this test crate:
/// build scripts that track them with `rerun-if-env-changed` (ring does) would otherwise rerun,
/// and their crates rebuild, on every switch between this build and an ordinary one.
pub fn cargo_command() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    for (name, _) in env::vars_os() {
        let name = name.to_string_lossy();
        if is_per_crate_cargo_var(&name) {
            command.env_remove(&*name);
        }
    }
    command.current_dir(workspace_root());
    command
}

fn build_and_locate() -> Result<Artifacts, String> {
    let mut command = cargo_command();
    command
        .args(["build", "--workspace", "--bins", "--lib"])
        .args(profile_args(&profile()));
    let output = command
        .output()
        .map_err(|e| format!("could not run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed with {}:\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let dir = profile_dir();
    Ok(Artifacts {
        host_demo: locate(&dir, HOST_DEMO_FILE_NAME)?,
        plugin: locate(&dir, PLUGIN_FILE_NAME)?,
    })
}

/// Variables cargo sets for one crate's build script or test run, not for cargo itself.
fn is_per_crate_cargo_var(name: &str) -> bool {
    const EXACT: [&str; 9] = [
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_MANIFEST_LINKS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

/// `dir/name`, else `dir/deps/name`.
pub(crate) fn locate(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let candidates = [dir.join(name), dir.join("deps").join(name)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| format!("{name} not found after the build; looked at {candidates:?}"))
}

/// Builds the workspace's binaries and the plugin once per process (so `cargo test --workspace`
/// alone is enough) and returns where they are. Panics with the build output on failure.
pub fn ensure_built() -> &'static Artifacts {
    static BUILT: OnceLock<Result<Artifacts, String>> = OnceLock::new();
    match BUILT.get_or_init(build_and_locate) {
        Ok(artifacts) => artifacts,
        Err(message) => panic!("building the workspace for the tests failed: {message}"),
    }
}
