//! The committed header must be exactly what cbindgen generates from the plugin.

use std::path::PathBuf;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate() -> String {
    let plugin = repo_root().join("plugin");
    let config = cbindgen::Config::from_file(plugin.join("cbindgen.toml"))
        .expect("plugin/cbindgen.toml parses");
    let bindings =
        cbindgen::generate_with_config(&plugin, config).expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn header_is_what_cbindgen_generates() {
    let path = repo_root().join("include/dagu_auth.h");
    let generated = generate();
    if std::env::var_os("DAGU_AUTH_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/dagu_auth.h");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/dagu_auth.h is stale: regenerate it with `DAGU_AUTH_BLESS=1 cargo test -p dagu-auth-tests --test header`"
    );
}
