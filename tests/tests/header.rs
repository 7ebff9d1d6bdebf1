//! The committed header must be exactly what cbindgen generates from the plugin.
//!
//! The enums (statuses, actions, decisions, surfaces) are declared once, by a table macro in `plugin/vocab`,
//! and cbindgen cannot see inside a macro; so their C declarations come from that crate's
//! `C_DECLARATIONS`, placed after the includes, and cbindgen writes everything else.

use std::path::PathBuf;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate() -> String {
    let plugin = repo_root().join("plugin");
    let mut config = cbindgen::Config::from_file(plugin.join("cbindgen.toml"))
        .expect("plugin/cbindgen.toml parses");
    config.after_includes = Some(dagu_auth_vocab::C_DECLARATIONS.to_owned());
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

#[test]
fn header_declares_every_vocabulary_value_once() {
    let header = generate();
    let statuses = dagu_auth_vocab::DaguAuthStatus::ALL
        .map(|s| format!("STATUS_{} = {},", s.name(), s as u32));
    let actions = dagu_auth_vocab::DaguAuthAction::ALL
        .map(|a| format!("ACTION_{} = {},", a.name(), a as u32));
    let decisions = dagu_auth_vocab::DaguAuthDecision::ALL
        .map(|d| format!("DECISION_{} = {},", d.name(), d as u32));
    let surfaces = dagu_auth_vocab::DaguAuthSurface::ALL
        .map(|s| format!("SURFACE_{} = {},", s.name(), s as u32));
    let every = statuses
        .iter()
        .chain(&actions)
        .chain(&decisions)
        .chain(&surfaces);
    for entry in every {
        let line = format!("  DAGU_AUTH_{entry}\n");
        assert_eq!(header.matches(&line).count(), 1, "{line:?}");
    }
}

/// Every macro and type the header declares belongs to the C surface (`DAGU_AUTH_`, `DaguAuth`):
/// cbindgen also sees the plugin's internal `pub` constants and types, and one that reached the
/// header would become something C programs may rely on.
#[test]
fn header_names_only_the_c_surface() {
    let header = generate();
    for line in header.lines() {
        let declared = line
            .strip_prefix("#define ")
            .or_else(|| line.strip_prefix("typedef struct "))
            .and_then(|rest| rest.split_whitespace().next());
        if let Some(name) = declared {
            assert!(
                name.starts_with("DAGU_AUTH") || name.starts_with("DaguAuth"),
                "include/dagu_auth.h declares {name}, which is not part of the C ABI: add it to \
                 [export] exclude in plugin/cbindgen.toml"
            );
        }
    }
}
