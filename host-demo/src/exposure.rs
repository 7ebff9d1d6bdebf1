//! What depends on who can reach the server: its listen address.
//!
//! - Beyond loopback, whoever reaches the port first could create the first admin, so a fresh
//!   install needs a one-time setup code that only the log shows ([`new_setup_code`]).
//! - On loopback, a page on another site can still reach the server through DNS rebinding: it
//!   makes its own name resolve to 127.0.0.1, and its browser then sends that name in `Host` and
//!   `Origin` alike, so the plugin's origin check sees a same-origin request. A loopback server
//!   knows every name it is legitimately called by, so it refuses other `Host` headers
//!   ([`AllowedHosts`]).

use std::net::IpAddr;

/// Whether `host` (the configured listen address) accepts connections from this machine only.
/// A name other than `localhost` counts as reachable from outside: what it resolves to can change.
pub fn listens_on_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// 128 random bits as 32 lower-case hex digits: easy to copy from a log, impossible to guess.
pub fn new_setup_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The host names a loopback server answers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts {
    /// Lower case, without port or brackets.
    names: Vec<String>,
}

impl AllowedHosts {
    /// `None` when the server listens beyond loopback: then it is reached by names it cannot know
    /// (and a rebinding page gains nothing it could not get by connecting directly).
    pub fn for_listener(listen_host: &str, allowed_origins: &[String]) -> Option<Self> {
        if !listens_on_loopback(listen_host) {
            return None;
        }
        let origin_hosts = allowed_origins
            .iter()
            .filter_map(|origin| origin.split_once("://"))
            .filter_map(|(_, rest)| rest.split('/').next());
        let names = std::iter::once(listen_host)
            .chain(origin_hosts)
            .filter_map(host_name)
            .collect();
        Some(Self { names })
    }

    /// Whether a request that names `host` (its `Host` header) may be answered: a loopback
    /// address, `localhost` or a name under it (browsers resolve those themselves, RFC 6761), the
    /// listen host, or the host of an allowed origin.
    pub fn allows(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else {
            return false;
        };
        let loopback = name == "localhost"
            || name.ends_with(".localhost")
            || name
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback());
        loopback || self.names.contains(&name)
    }
}

/// The name of `host[:port]` or `[v6]:port`, in lower case without a final dot.
fn host_name(authority: &str) -> Option<String> {
    let authority = authority.trim();
    let name = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']')?.0,
        None => authority.split(':').next()?,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_listeners_are_told_apart_from_exposed_ones() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(listens_on_loopback(host), "{host}");
        }
        for host in ["0.0.0.0", "::", "192.168.1.10", "dagu.example.com", ""] {
            assert!(!listens_on_loopback(host), "{host}");
        }
    }

    #[test]
    fn setup_codes_are_long_random_and_hex() {
        let (a, b) = (
            new_setup_code().expect("randomness"),
            new_setup_code().expect("randomness"),
        );
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn a_loopback_server_refuses_a_rebound_host_name() {
        let hosts = AllowedHosts::for_listener("127.0.0.1", &[]).expect("loopback");
        for host in [
            "evil.example:8080",
            "evil.example",
            "127.0.0.1.evil.example",
            "",
        ] {
            assert!(!hosts.allows(host), "{host}");
        }
    }

    #[test]
    fn a_loopback_server_answers_to_loopback_names_its_listen_host_and_allowed_origins() {
        let origins = ["https://dagu.example.com/".to_string()];
        let hosts = AllowedHosts::for_listener("127.0.0.1", &origins).expect("loopback");
        for host in [
            "127.0.0.1:8080",
            "127.9.9.9",
            "[::1]:8080",
            "localhost:8080",
            "LocalHost.:8080",
            "app.localhost",
            "dagu.example.com",
            "DAGU.example.com:443",
        ] {
            assert!(hosts.allows(host), "{host}");
        }
    }

    #[test]
    fn an_exposed_server_does_not_check_host_names() {
        assert_eq!(AllowedHosts::for_listener("0.0.0.0", &[]), None);
    }
}
