//! What every request passes before the routes: the peer address, the loopback host check and
//! the request log line.
//!
//! These were two `axum::middleware::from_fn` layers. Each cloned and boxed the inner route per
//! request and boxed its own future; under wrk the two cost host-demo 15–20 % of its throughput
//! against a bare axum handler (plugin/benches/http_load.sh, BENCHMARKS.md "HTTP"). Here they are
//! one service in front of the router: one boxed future per request, and the peer address is
//! formatted once per connection, for the log and for every handler that passes it on
//! ([`client_ip`]).

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::serve::IncomingStream;
use tokio::net::TcpListener;
use tower_service::Service;

use crate::api_error;
use crate::exposure::AllowedHosts;

/// The router behind the host check and the log, for one connection (or none, in tests).
#[derive(Clone)]
pub struct Front {
    router: Router,
    /// `None` when the server listens beyond loopback and answers to any name.
    allowed_hosts: Option<Arc<AllowedHosts>>,
    peer: Option<Peer>,
}

/// The connection's peer address as text: what the log writes and handlers pass to the plugin.
/// Never a forwarded-for header (the plugin decides whom to trust).
#[derive(Clone)]
struct Peer(Arc<str>);

/// The address of the socket the request came on; empty without one (a request made in a test).
pub fn client_ip(request: &Request) -> String {
    request
        .extensions()
        .get::<Peer>()
        .map(|Peer(text)| text.to_string())
        .unwrap_or_default()
}

impl Front {
    pub fn new(router: Router, allowed_hosts: Option<Arc<AllowedHosts>>) -> Self {
        Self {
            router,
            allowed_hosts,
            peer: None,
        }
    }

    /// On loopback, a request for a name the server does not answer to is a DNS-rebinding page's:
    /// it is refused before anything runs, pages and `GET`s included (a rebinding page can read
    /// those).
    fn answers(&self, request: &Request) -> bool {
        let Some(allowed) = &self.allowed_hosts else {
            return true;
        };
        match request.headers().get(header::HOST) {
            Some(host) => host.to_str().is_ok_and(|host| allowed.allows(host)),
            // Browsers always send Host; without it, a name in the request line is checked instead.
            None => request
                .uri()
                .authority()
                .is_none_or(|authority| allowed.allows(authority.as_str())),
        }
    }
}

fn host_refused() -> Response {
    api_error::error(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Host not allowed: this server listens on loopback and answers only to loopback names, \
         its listen host and the hosts of auth.allowed_origins",
    )
}

impl Service<Request> for Front {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        // Cheap copies (the URI shares its bytes): the line is formatted once, into the log buffer.
        let method = request.method().clone();
        let uri = request.uri().clone();
        let peer = self.peer.clone();
        if let Some(peer) = &peer {
            request.extensions_mut().insert(peer.clone());
        }
        // The router is always ready (axum documents `poll_ready` as always `Ready`).
        let answered = self.answers(&request).then(|| self.router.call(request));
        Box::pin(async move {
            let response = match answered {
                Some(routed) => routed.await?,
                None => host_refused(),
            };
            // One line per request. Never headers or bodies: they carry tokens and passwords.
            // Tenths of a millisecond, rounded, without formatting a float.
            let tenths = (started.elapsed().as_micros() + 50) / 100;
            let (ms, tenths) = (tenths / 10, tenths % 10);
            let status = response.status().as_u16();
            let path = uri.path();
            let peer = peer.as_ref().map_or("", |Peer(text)| text);
            crate::request_log::line(format_args!(
                "{method} {path} {status} {ms}.{tenths}ms {peer}"
            ));
            Ok(response)
        })
    }
}

/// Makes one [`Front`] per accepted connection, knowing its peer: what `axum::serve` takes.
#[derive(Clone)]
pub struct Connections(pub Front);

impl Service<IncomingStream<'_, TcpListener>> for Connections {
    type Response = Front;
    type Error = Infallible;
    type Future = Ready<Result<Front, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'_, TcpListener>) -> Self::Future {
        let mut front = self.0.clone();
        let ip = stream.remote_addr().ip().to_canonical();
        front.peer = Some(Peer(ip.to_string().into()));
        ready(Ok(front))
    }
}
