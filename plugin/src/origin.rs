//! Web origins (`scheme://host[:port]`), compared the way browsers send them in `Origin`.
//!
//! The plugin never learns whether the host serves HTTP or HTTPS (a proxy may end TLS in front of
//! it), so its own origin is the `Host` header under either scheme: a page at
//! `http://host:port` and one at `https://host:port` are the same server, the one this request
//! reached.

/// `scheme://host[:port]` in lower case, without the scheme's default port, or `None` for anything
/// that is not an HTTP(S) origin: `null` (sandboxed frames, `file:` pages, some redirects), a path,
/// credentials, another scheme.
pub fn normalize(text: &str) -> Option<String> {
    let (scheme, authority) = text.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    // A configured origin may be written with a trailing slash; a browser never sends one.
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    let forbidden = |c: char| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace();
    if authority.is_empty() || authority.contains(forbidden) {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

/// Whether `origin` (an `Origin` header) is the server named by `host` (the `Host` header), under
/// the scheme the origin itself names.
pub fn is_same_host(origin: &str, host: &str) -> bool {
    let Some(origin) = normalize(origin) else {
        return false;
    };
    let Some((scheme, _)) = origin.split_once("://") else {
        return false;
    };
    normalize(&format!("{scheme}://{host}")).is_some_and(|own| own == origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_in_lower_case_without_default_ports() {
        assert_eq!(
            normalize("HTTPS://Dagu.Example.com:443/").as_deref(),
            Some("https://dagu.example.com")
        );
        assert_eq!(
            normalize("http://[::1]:80").as_deref(),
            Some("http://[::1]")
        );
        assert_eq!(
            normalize("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
    }

    #[test]
    fn null_paths_credentials_and_other_schemes_are_not_origins() {
        for text in [
            "null",
            "",
            "https://",
            "https://a.example/path",
            "https://user@a.example",
            "https://a.example?x",
            "ftp://a.example",
            "file:///etc",
            "https://a .example",
        ] {
            assert_eq!(normalize(text), None, "{text}");
        }
    }

    #[test]
    fn the_own_origin_is_the_host_header_under_either_scheme() {
        assert!(is_same_host("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(is_same_host(
            "https://dagu.example.com",
            "Dagu.example.com:443"
        ));
        assert!(is_same_host("http://dagu.example.com", "dagu.example.com"));
        assert!(!is_same_host("http://127.0.0.1:8081", "127.0.0.1:8080"));
        assert!(!is_same_host("http://evil.example", "127.0.0.1:8080"));
        assert!(!is_same_host("null", "127.0.0.1:8080"));
        assert!(!is_same_host("http://127.0.0.1:8080", "127.0.0.1:8080/x"));
    }
}
