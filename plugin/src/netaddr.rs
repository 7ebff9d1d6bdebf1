//! Which address a request really came from. `X-Forwarded-For` is believed only when the peer is a
//! configured proxy, and then only up to the first hop that is not one of ours.

use std::net::IpAddr;

use ipnet::IpNet;

/// Whether `address` is one of the configured proxies.
pub fn is_trusted_peer(address: &str, trusted: &[IpNet]) -> bool {
    address
        .trim()
        .parse::<IpAddr>()
        .is_ok_and(|ip| trusted.iter().any(|net| net.contains(&ip)))
}

/// `forwarded_for` holds every `X-Forwarded-For` line in the order received. Several lines of one
/// header are one comma-separated list (RFC 7230, 3.2.2): a proxy that adds a line of its own
/// (HAProxy's `option forwardfor`) puts the hop it saw in the last line, after the client's own.
pub fn client_ip(peer: &str, forwarded_for: &[&str], trusted: &[IpNet]) -> String {
    let is_trusted = |text: &str| is_trusted_peer(text, trusted);
    if forwarded_for.is_empty() || !is_trusted(peer) {
        return peer.to_string();
    }
    // Right to left: every hop appended by a trusted proxy is skipped; the first other one is the client.
    let hops = forwarded_for
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .map(str::trim);
    for hop in hops {
        if hop.parse::<IpAddr>().is_err() {
            break;
        }
        if !is_trusted(hop) {
            return hop.to_string();
        }
    }
    peer.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies() -> Vec<IpNet> {
        vec![
            "10.0.0.0/8".parse().expect("net"),
            "127.0.0.1/32".parse().expect("net"),
        ]
    }

    #[test]
    fn forwarded_for_from_an_untrusted_peer_is_ignored() {
        assert_eq!(
            client_ip("203.0.113.9", &["1.2.3.4"], &proxies()),
            "203.0.113.9"
        );
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_names_the_client() {
        assert_eq!(
            client_ip("127.0.0.1", &["198.51.100.7"], &proxies()),
            "198.51.100.7"
        );
    }

    #[test]
    fn a_spoofed_leftmost_hop_is_not_believed() {
        let chain = "6.6.6.6, 198.51.100.7, 10.1.1.1";
        assert_eq!(client_ip("127.0.0.1", &[chain], &proxies()), "198.51.100.7");
    }

    #[test]
    fn forwarded_for_lines_are_one_list_walked_from_the_right() {
        // The client wrote the first line itself; the proxy added the second with what it saw.
        let lines = ["6.6.6.6", "198.51.100.7, 10.1.1.1"];
        assert_eq!(client_ip("127.0.0.1", &lines, &proxies()), "198.51.100.7");
        // A line per hop: the last line is the nearest hop.
        let lines = ["6.6.6.6", "198.51.100.7", "10.1.1.1"];
        assert_eq!(client_ip("127.0.0.1", &lines, &proxies()), "198.51.100.7");
    }

    #[test]
    fn garbage_in_the_chain_stops_the_walk_at_the_proxy() {
        assert_eq!(
            client_ip("10.0.0.5", &["not-an-ip"], &proxies()),
            "10.0.0.5"
        );
    }

    #[test]
    fn without_proxies_the_peer_is_the_client() {
        assert_eq!(client_ip("127.0.0.1", &["1.2.3.4"], &[]), "127.0.0.1");
    }
}
