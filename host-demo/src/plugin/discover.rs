//! Where to find `libdagu_auth.so` when `DAGU_AUTH_PLUGIN` does not say.
//!
//! The order follows where cargo leaves the library: `cargo build --workspace` copies it next to
//! the host binary, `cargo build -p host-demo` (and `cargo run -p host-demo`) only into `deps/`
//! beside it.
//! The `target/` fallbacks cover a host binary installed elsewhere but started from the checkout.

use std::path::{Path, PathBuf};

use super::OpenError;

pub const LIBRARY_FILE: &str = "libdagu_auth.so";

/// The places looked at, in order. `exe` is the running binary (absent if the OS won't say).
pub fn candidates(exe: Option<&Path>, cwd: &Path) -> Vec<PathBuf> {
    let mut places = Vec::new();
    if let Some(dir) = exe.and_then(Path::parent) {
        places.push(dir.join(LIBRARY_FILE));
        places.push(dir.join("deps").join(LIBRARY_FILE));
    }
    for profile in ["release", "debug"] {
        let place = cwd.join("target").join(profile).join(LIBRARY_FILE);
        if !places.contains(&place) {
            places.push(place);
        }
    }
    places
}

/// The plugin to load: the explicit path if given (it must exist), else the first candidate that
/// is a file. `is_file` is injected so tests need no real files.
pub fn discover(
    explicit: Option<&Path>,
    exe: Option<&Path>,
    cwd: &Path,
    is_file: impl Fn(&Path) -> bool,
) -> Result<PathBuf, OpenError> {
    if let Some(path) = explicit {
        // A set DAGU_AUTH_PLUGIN is a decision: never silently fall back to another library.
        return if is_file(path) {
            Ok(path.to_owned())
        } else {
            Err(OpenError::NotFound(vec![path.to_owned()]))
        };
    }
    let places = candidates(exe, cwd);
    match places.iter().find(|p| is_file(p)) {
        Some(found) => Ok(found.clone()),
        None => Err(OpenError::NotFound(places)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = "/w/target/debug/host-demo";

    fn found(existing: &[&str], explicit: Option<&str>) -> Result<PathBuf, Vec<PathBuf>> {
        let is_file = |p: &Path| existing.iter().any(|e| Path::new(e) == p);
        discover(
            explicit.map(Path::new),
            Some(Path::new(EXE)),
            Path::new("/cwd"),
            is_file,
        )
        .map_err(|e| match e {
            OpenError::NotFound(places) => places,
            other => panic!("unexpected error {other}"),
        })
    }

    #[test]
    fn looks_beside_the_binary_then_deps_then_target_under_cwd() {
        let places = candidates(Some(Path::new(EXE)), Path::new("/cwd"));
        let expected: Vec<PathBuf> = [
            "/w/target/debug/libdagu_auth.so",
            "/w/target/debug/deps/libdagu_auth.so",
            "/cwd/target/release/libdagu_auth.so",
            "/cwd/target/debug/libdagu_auth.so",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(places, expected);
    }

    #[test]
    fn the_same_place_is_not_listed_twice() {
        let places = candidates(Some(Path::new(EXE)), Path::new("/w"));
        assert_eq!(places.len(), 3, "{places:?}");
    }

    #[test]
    fn first_existing_candidate_wins() {
        let existing = [
            "/w/target/debug/deps/libdagu_auth.so",
            "/cwd/target/release/libdagu_auth.so",
        ];
        assert_eq!(found(&existing, None), Ok(PathBuf::from(existing[0])));
    }

    #[test]
    fn nothing_found_reports_all_places() {
        assert_eq!(found(&[], None).map_err(|p| p.len()), Err(4));
    }

    #[test]
    fn an_explicit_path_is_used_or_reported_never_replaced() {
        let beside = "/w/target/debug/libdagu_auth.so";
        assert_eq!(
            found(&["/opt/x.so", beside], Some("/opt/x.so")),
            Ok(PathBuf::from("/opt/x.so"))
        );
        assert_eq!(
            found(&[beside], Some("/opt/x.so")),
            Err(vec![PathBuf::from("/opt/x.so")])
        );
    }
}
