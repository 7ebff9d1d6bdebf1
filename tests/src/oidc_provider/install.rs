//! node and the pinned `oidc-provider` package: found, checked, installed with `npm ci`, or the
//! reason the calling test skips.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::native::{require_all, tool_or_skip};
use crate::workspace_root;

/// The oldest node that oidc-provider (8.x) supports.
const MIN_NODE_MAJOR: u32 = 18;

/// `tests/oidc`.
pub fn package_dir() -> PathBuf {
    workspace_root().join("tests/oidc")
}

/// `node`, after `npm ci` if the pinned package is not installed; `None` after printing why the
/// calling test skips. Under [`require_all`] a missing or too old node, or a failed install,
/// panics instead.
pub fn node_or_skip() -> Option<PathBuf> {
    let node = tool_or_skip("node", "nodejs")?;
    let npm = tool_or_skip("npm", "npm")?;
    // Once per test process: the tests that start together wait for one `npm ci`.
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = INSTALLED.get_or_init(|| {
        check_node_version(&node)?;
        install_package(&npm)
    });
    match ready {
        Ok(()) => Some(node),
        Err(reason) => {
            assert!(
                !require_all(),
                "{reason}, and DAGU_AUTH_REQUIRE_ALL=1 requires the OIDC provider"
            );
            println!("skipped: {reason}; set DAGU_AUTH_REQUIRE_ALL=1 to make this a failure");
            None
        }
    }
}

fn check_node_version(node: &Path) -> Result<(), String> {
    let output = Command::new(node)
        .arg("--version")
        .output()
        .map_err(|e| format!("`node --version` failed: {e}"))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(major) if major >= MIN_NODE_MAJOR => Ok(()),
        _ => Err(format!(
            "node {version:?} is older than {MIN_NODE_MAJOR}, which oidc-provider needs"
        )),
    }
}

/// The `version` field of a `package.json`, or a dependency's pinned version in it.
fn read_version(package_json: &Path, dependency: Option<&str>) -> Option<String> {
    let text = fs::read(package_json).ok()?;
    let manifest: Value = serde_json::from_slice(&text).ok()?;
    let version = match dependency {
        Some(name) => &manifest["dependencies"][name],
        None => &manifest["version"],
    };
    version.as_str().map(str::to_owned)
}

fn install_package(npm: &Path) -> Result<(), String> {
    let dir = package_dir();
    let pinned = read_version(&dir.join("package.json"), Some("oidc-provider"))
        .ok_or("tests/oidc/package.json pins no oidc-provider version")?;
    let installed_manifest = dir.join("node_modules/oidc-provider/package.json");
    if read_version(&installed_manifest, None).as_deref() == Some(pinned.as_str()) {
        return Ok(());
    }
    let output = Command::new(npm)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run `npm ci` in {}: {e}", dir.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci` in {} failed ({}): {}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
