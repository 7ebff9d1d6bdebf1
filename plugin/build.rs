//! Gives the shared object a SONAME tied to the ABI major version, so the dynamic loader never pairs
//! a host with an incompatible plugin (a Rust cdylib has none by default).

fn main() {
    // Keep in step with `ABI_VERSION_MAJOR` in plugin/abi; a test checks they agree.
    const ABI_VERSION_MAJOR: u32 = 1;
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdagu_auth.so.{ABI_VERSION_MAJOR}");
    println!("cargo:rerun-if-changed=build.rs");
}
