//! Every string the C ABI hands out is made here, and freed by `dagu_auth_string_free`.

use std::ffi::{CString, c_char};

use super::call::c_free;

/// What stands for a NUL byte inside returned text: U+FFFD, the replacement character, which
/// says "a character was here" without ending the C string early.
const NUL_STAND_IN: &[u8] = "\u{FFFD}".as_bytes();

/// `text` as a C string. A NUL inside becomes U+FFFD instead of failing: an error message can
/// quote input, and JSON input can hold an escaped NUL (`\u0000`), yet the caller must still get
/// the message. An owned `String` or `Vec` becomes the C string in its own buffer.
pub fn c_text(text: impl Into<Vec<u8>>) -> CString {
    CString::new(text).unwrap_or_else(|error| {
        let bytes = error.into_vec();
        let parts: Vec<&[u8]> = bytes.split(|&byte| byte == 0).collect();
        // SAFETY: the NUL bytes were the separators, and U+FFFD has none.
        unsafe { CString::from_vec_unchecked(parts.join(NUL_STAND_IN)) }
    })
}

/// `text` as a string the caller owns and frees with `dagu_auth_string_free`.
pub fn c_string(text: impl Into<Vec<u8>>) -> *mut c_char {
    c_text(text).into_raw()
}

/// Frees a string this library returned. NULL is ignored.
///
/// # Safety
/// `text` is NULL or a string from this library, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dagu_auth_string_free(text: *mut c_char) {
    // SAFETY: every string handed out comes from `c_string`, so from `CString::into_raw`.
    c_free(text, |text| drop(unsafe { CString::from_raw(text) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_a_nul_is_kept_as_it_is() {
        assert_eq!(
            c_text("unknown field `x`").to_str(),
            Ok("unknown field `x`")
        );
        assert_eq!(c_text(Vec::new()).to_bytes(), b"");
    }

    #[test]
    fn every_nul_inside_text_becomes_the_replacement_character() {
        let text = c_text("a\0b\0\0c\0");
        assert_eq!(text.to_str(), Ok("a\u{FFFD}b\u{FFFD}\u{FFFD}c\u{FFFD}"));
    }

    #[test]
    fn a_returned_string_comes_back_through_string_free() {
        let raw = c_string(String::from("owned\0text"));
        // SAFETY: from `c_string`, freed once below.
        let text = unsafe { std::ffi::CStr::from_ptr(raw) }.to_owned();
        assert_eq!(text.to_str(), Ok("owned\u{FFFD}text"));
        // SAFETY: as above.
        unsafe { dagu_auth_string_free(raw) };
        // SAFETY: NULL is allowed.
        unsafe { dagu_auth_string_free(std::ptr::null_mut()) };
    }
}
