//! The plugin configuration parser: any bytes give a Config or an InvalidConfig error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match dagu_auth::Config::from_json(text) {
            Ok(_) | Err(dagu_auth::Error::InvalidConfig(_)) => {}
            Err(other) => panic!("config parsing failed with {other:?}"),
        }
    }
});
