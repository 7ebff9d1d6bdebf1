//! `GET /proxy-login` through host-demo over real TCP: the identity headers count only from a peer
//! in `trusted_proxies`, whatever the headers say. The untrusted peer is another loopback address
//! (127.0.0.2), so both connections are real and local.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use dagu_auth_tests::api::{ADMIN_PASSWORD, ADMIN_USERNAME, me_status};
use dagu_auth_tests::host::{Abi, HostDemo, HostOptions};
use socket2::{Domain, Socket, Type};

/// host-demo with the proxy door on and only 127.0.0.1 trusted.
fn host_behind_a_proxy() -> HostDemo {
    HostDemo::start(
        HostOptions::new(Abi::Rust)
            .license_features("rbac,audit,sso")
            .initial_admin(ADMIN_USERNAME, ADMIN_PASSWORD)
            .env("DAGU_AUTH_PROXY_ENABLED", "true")
            .env("DAGU_AUTH_TRUSTED_PROXIES", "127.0.0.1"),
    )
}

/// One HTTP/1.1 GET from `from`, answering the status line and the headers.
fn get_from(from: Ipv4Addr, port: u16, path: &str, headers: &[(&str, &str)]) -> String {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::V4(SocketAddrV4::new(from, 0)).into())
        .expect("bind the source address");
    let to = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    let mut stream: std::net::TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn token_in(answer: &str) -> Option<String> {
    answer.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("location") {
            return None;
        }
        Some(value.trim().split_once("#token=")?.1.to_string())
    })
}

#[test]
fn proxy_headers_count_only_from_a_trusted_tcp_peer() {
    let host = host_behind_a_proxy();
    let port = host.port();
    let alice = [("X-Forwarded-User", "alice")];

    // 127.0.0.2 is loopback too, but not a trusted proxy: refused, whatever it claims.
    let untrusted = get_from(Ipv4Addr::new(127, 0, 0, 2), port, "/proxy-login", &alice);
    assert_eq!(status_of(&untrusted), 403, "{untrusted}");
    let forged = get_from(
        Ipv4Addr::new(127, 0, 0, 2),
        port,
        "/proxy-login",
        &[
            ("X-Forwarded-User", "alice"),
            ("X-Forwarded-For", "127.0.0.1"),
        ],
    );
    assert_eq!(status_of(&forged), 403, "{forged}");
    assert!(token_in(&untrusted).is_none() && token_in(&forged).is_none());

    // The trusted peer signs alice in: a session that authorizes.
    let trusted = get_from(Ipv4Addr::LOCALHOST, port, "/proxy-login", &alice);
    assert_eq!(status_of(&trusted), 302, "{trusted}");
    let token = token_in(&trusted).expect("a token in the redirect");
    assert_eq!(me_status(host.client(), &token), 200);

    // Missing and duplicated user headers from the trusted peer are refused without a session.
    let missing = get_from(Ipv4Addr::LOCALHOST, port, "/proxy-login", &[]);
    assert_eq!(status_of(&missing), 401, "{missing}");
    let twice = get_from(
        Ipv4Addr::LOCALHOST,
        port,
        "/proxy-login",
        &[("X-Forwarded-User", "alice"), ("X-Forwarded-User", "bob")],
    );
    assert!(
        matches!(status_of(&twice), 400 | 401),
        "a duplicated user header: {twice}"
    );
    assert!(token_in(&missing).is_none() && token_in(&twice).is_none());
}
