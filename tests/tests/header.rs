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

/// Every macro, type and function the header declares belongs to the C surface (`DAGU_AUTH`,
/// `DaguAuth`, `dagu_auth_`): cbindgen also sees the plugin's internal `pub` constants and types,
/// and one that reached the header would become something C programs may rely on.
#[test]
fn header_names_only_the_c_surface() {
    let names = declared_names(&generate());
    for expected in [
        "DAGU_AUTH_ABI_VERSION_MAJOR",
        "DaguAuthAuthorizeRequest",
        "DaguAuthStatus",
        "dagu_auth_open",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "the scan finds {expected}: {names:?}"
        );
    }
    for name in &names {
        assert!(
            ["DAGU_AUTH", "DaguAuth", "dagu_auth_"]
                .iter()
                .any(|prefix| name.starts_with(prefix)),
            "include/dagu_auth.h declares {name}, which is not part of the C ABI: add it to \
             [export] exclude in plugin/cbindgen.toml"
        );
    }
}

/// The names the header's top-level lines declare: `#define`s, `enum`s and `struct`s, what a
/// `typedef` names, and functions (the identifier before a line's first parenthesis). Comments,
/// members (indented) and closing lines are skipped.
fn declared_names(header: &str) -> Vec<String> {
    let identifier = |text: &str| {
        text.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .to_owned()
    };
    let mut names = Vec::new();
    for line in header.lines() {
        let top_level = line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '#');
        if !top_level || line.starts_with("extern") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let name = match words.as_slice() {
            ["#define", name, ..] => identifier(name),
            [first, ..] if first.starts_with('#') => continue,
            ["typedef", _, name, "{"] => identifier(name),
            ["typedef", .., last] => identifier(last),
            ["enum" | "struct", name, ..] => identifier(name),
            _ => match line.split_once('(') {
                Some((before, _)) => identifier(before.rsplit(' ').next().unwrap_or(before)),
                None => continue,
            },
        };
        names.push(name);
    }
    names
}

#[test]
fn the_scan_sees_every_kind_of_declaration() {
    let header = "#include <stdint.h>\n#define LEAKED 1\n#ifdef __cplusplus\nextern \"C\" {\n\
                  #endif\n/**\n * A comment (with parentheses).\n */\ntypedef struct Opaque Opaque;\n\
                  typedef struct Open {\n  uint32_t member;\n} Open;\ntypedef uint32_t Alias;\n\
                  enum Kind {\n  KIND_A = 1,\n};\nconst char *internal_text(void);\n\
                  uint32_t internal_call(const struct Open *open,\n                       uint32_t n);\n";
    assert_eq!(
        declared_names(header),
        [
            "LEAKED",
            "Opaque",
            "Open",
            "Alias",
            "Kind",
            "internal_text",
            "internal_call"
        ]
    );
}
