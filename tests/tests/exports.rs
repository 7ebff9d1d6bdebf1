//! The shared object's outside: the dynamic symbols it exports, its SONAME, the version numbers
//! the header, the library and Cargo give, and the panic boundary seen from a C caller.

use std::collections::BTreeSet;
use std::ffi::{CStr, c_char};
use std::path::Path;
use std::process::Command;

use dagu_auth_tests::native::{
    SONAME, header_functions, plugin, run_ok, test_hooks_plugin, tool_or_skip,
};
use dagu_auth_tests::workspace_root;
use libloading::Library;

/// The symbol abi_stable's loader looks up (`abi_stable::library::ROOT_MODULE_LOADER_NAME`).
const ABI_STABLE_ROOT: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Names `nm -D --defined-only` lists for `lib`, without symbol versions.
fn dynamic_symbols(nm: &Path, lib: &Path) -> BTreeSet<String> {
    let output = run_ok(Command::new(nm).args(["-D", "--defined-only"]).arg(lib));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .map(|name| name.split('@').next().unwrap_or(name).to_owned())
        .collect()
}

/// Opens a library for the life of the process (include/dagu_auth.h: never unload the library).
fn load(path: &Path) -> &'static Library {
    // SAFETY: loading the plugin runs no initialisers with preconditions.
    let lib = unsafe { Library::new(path) }
        .unwrap_or_else(|e| panic!("cannot load {}: {e:?}", path.display()));
    Box::leak(Box::new(lib))
}

/// A function from `lib`, with the error's cause (libloading's Display hides it).
fn symbol<T: Copy>(lib: &'static Library, name: &str) -> T {
    // SAFETY: the caller names the function's true C signature as `T`.
    match unsafe { lib.get::<T>(name.as_bytes()) } {
        Ok(f) => *f,
        Err(e) => panic!(
            "no {name}: {e}: {}",
            std::error::Error::source(&e).map_or(String::new(), |s| s.to_string())
        ),
    }
}

#[test]
fn exports_only_the_header_functions_and_the_abi_stable_root() {
    let Some(nm) = tool_or_skip("nm", "binutils") else {
        return;
    };
    let symbols = dynamic_symbols(&nm, plugin());
    let unexpected: Vec<_> = symbols
        .iter()
        .filter(|name| !name.starts_with("dagu_auth_") && *name != ABI_STABLE_ROOT)
        .collect();
    assert!(
        unexpected.is_empty(),
        "libdagu_auth.so exports symbols outside its ABI: {unexpected:?}"
    );
    assert!(
        symbols.contains(ABI_STABLE_ROOT),
        "the abi_stable root symbol is not exported"
    );
    let exported: BTreeSet<String> = symbols
        .into_iter()
        .filter(|name| name.starts_with("dagu_auth_"))
        .collect();
    let declared = header_functions();
    assert_eq!(
        exported, declared,
        "exported dagu_auth_* functions and include/dagu_auth.h disagree"
    );
    assert!(
        !exported.contains("dagu_auth_test_panic"),
        "the default build must not contain the test hooks"
    );
}

#[test]
fn soname_is_tied_to_the_abi_major_version() {
    let Some(readelf) = tool_or_skip("readelf", "binutils") else {
        return;
    };
    let output = run_ok(Command::new(readelf).arg("-d").arg(plugin()));
    let dynamic = String::from_utf8_lossy(&output.stdout);
    let soname = dynamic
        .lines()
        .find(|line| line.contains("(SONAME)"))
        .and_then(|line| line.split('[').nth(1))
        .and_then(|rest| rest.split(']').next())
        .unwrap_or_else(|| panic!("no SONAME in the dynamic section:\n{dynamic}"));
    assert_eq!(soname, SONAME);
    assert_eq!(
        soname,
        format!("libdagu_auth.so.{}", dagu_auth_abi::ABI_VERSION_MAJOR)
    );
}

/// `#define NAME <number>` from the header.
fn header_number(header: &str, name: &str) -> u32 {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("include/dagu_auth.h has no numeric {name}"))
}

#[test]
fn header_library_and_cargo_versions_agree() {
    let header = std::fs::read_to_string(workspace_root().join("include/dagu_auth.h"))
        .expect("read include/dagu_auth.h");
    let major = header_number(&header, "DAGU_AUTH_ABI_VERSION_MAJOR");
    let minor = header_number(&header, "DAGU_AUTH_ABI_VERSION_MINOR");

    let lib = load(plugin());
    let abi_version: extern "C" fn() -> u32 = symbol(lib, "dagu_auth_abi_version");
    let version: extern "C" fn() -> *const c_char = symbol(lib, "dagu_auth_version");
    let library_abi = abi_version();
    assert_eq!(
        (library_abi >> 16, library_abi & 0xffff),
        (major, minor),
        "dagu_auth_abi_version() and the header macros disagree"
    );
    assert_eq!(
        (major, minor),
        (
            dagu_auth_abi::ABI_VERSION_MAJOR,
            dagu_auth_abi::ABI_VERSION_MINOR
        ),
        "the header and plugin/abi disagree"
    );

    // The plugin takes the workspace's version, as this crate does.
    // SAFETY: dagu_auth_version returns a static NUL-terminated string.
    let library_version = unsafe { CStr::from_ptr(version()) }
        .to_str()
        .expect("the version is UTF-8");
    assert_eq!(library_version, env!("CARGO_PKG_VERSION"));
    let manifest = std::fs::read_to_string(workspace_root().join("plugin/Cargo.toml"))
        .expect("read plugin/Cargo.toml");
    assert!(
        manifest.contains("version.workspace = true"),
        "the plugin must take the workspace version"
    );
    let module = dagu_auth_abi::load_plugin(plugin()).expect("load through abi_stable");
    assert_eq!(module.version()().as_str(), library_version);
    assert_eq!(module.abi_version()(), library_abi);
}

#[test]
fn a_panic_inside_the_plugin_reaches_c_as_the_panic_status() {
    let path = test_hooks_plugin();
    let lib = load(path);
    type Panic = unsafe extern "C" fn(*mut *mut c_char) -> u32;
    let test_panic: Panic = symbol(lib, "dagu_auth_test_panic");
    let string_free: unsafe extern "C" fn(*mut c_char) = symbol(lib, "dagu_auth_string_free");
    let status_name: extern "C" fn(u32) -> *const c_char = symbol(lib, "dagu_auth_status_name");
    let abi_version: extern "C" fn() -> u32 = symbol(lib, "dagu_auth_abi_version");

    let mut error: *mut c_char = std::ptr::null_mut();
    // SAFETY: a valid `char **`.
    let status = unsafe { test_panic(&mut error) };
    assert_eq!(status, 15, "DAGU_AUTH_STATUS_PANIC");
    // SAFETY: static string.
    let name = unsafe { CStr::from_ptr(status_name(status)) };
    assert_eq!(name.to_str(), Ok("PANIC"));
    assert!(!error.is_null(), "error_out receives a message");
    // SAFETY: a string from the library, freed once below.
    let message = unsafe { CStr::from_ptr(error) }
        .to_string_lossy()
        .into_owned();
    assert!(message.contains("panic"), "message: {message}");
    // SAFETY: from the library, not freed before.
    unsafe { string_free(error) };

    // Again without error_out, and the library still answers afterwards.
    // SAFETY: NULL error_out is allowed.
    assert_eq!(unsafe { test_panic(std::ptr::null_mut()) }, 15);
    assert_eq!(abi_version() >> 16, dagu_auth_abi::ABI_VERSION_MAJOR);

    if let Some(nm) = dagu_auth_tests::native::find_tool("nm") {
        let symbols = dynamic_symbols(&nm, path);
        assert!(symbols.contains("dagu_auth_test_panic"));
    }
}
