//! The web UI: setup, sign-in, users and account pages, embedded in the binary (no CDN, no build
//! step). The pages talk only to the plugin's HTTP API; the token decision is in `static/app.js`.
//!
//! The host adds one thing the API cannot: while setup is required, every page answers with a
//! redirect to `/setup`, before any script runs.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::server::AppState;

/// Scripts and styles from this origin only, nothing inline, no framing: a value that leaks into
/// a page cannot run, and the page cannot be overlaid for clickjacking.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The pages use no device or sensor: a script that gets in anyway cannot reach them either.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
                                  magnetometer=(), microphone=(), payment=(), usb=()";

const SHELL: &str = include_str!("../static/shell.html");
const APP_JS: &str = include_str!("../static/app.js");
const APP_CSS: &str = include_str!("../static/app.css");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Home,
    Setup,
    Login,
    Users,
    Account,
}

impl Page {
    const ALL: [Page; 5] = [
        Page::Home,
        Page::Setup,
        Page::Login,
        Page::Users,
        Page::Account,
    ];

    /// (data-page, title, body)
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Page::Home => ("home", "Home", include_str!("../static/home.html")),
            Page::Setup => ("setup", "Set up", include_str!("../static/setup.html")),
            Page::Login => ("login", "Sign in", include_str!("../static/login.html")),
            Page::Users => ("users", "Users", include_str!("../static/users.html")),
            Page::Account => ("account", "Account", include_str!("../static/account.html")),
        }
    }
}

/// Each page rendered once: the shell with its name, title and body filled in.
static PAGES: LazyLock<Vec<(Page, String)>> = LazyLock::new(|| {
    Page::ALL
        .iter()
        .map(|&page| {
            let (name, title, body) = page.parts();
            let html = SHELL
                .replace("{{page}}", name)
                .replace("{{title}}", title)
                .replace("{{body}}", body);
            (page, html)
        })
        .collect()
});

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|s: State<AppState>| page(s, Page::Home)))
        .route("/setup", get(|s: State<AppState>| page(s, Page::Setup)))
        .route("/login", get(|s: State<AppState>| page(s, Page::Login)))
        .route("/users", get(|s: State<AppState>| page(s, Page::Users)))
        .route("/account", get(|s: State<AppState>| page(s, Page::Account)))
        .route("/static/app.js", get(|| asset(APP_JS, "text/javascript")))
        .route("/static/app.css", get(|| asset(APP_CSS, "text/css")))
        .route("/qr.svg", post(qr_svg))
}

/// The longest text `/qr.svg` renders: an `otpauth://` URI is far shorter.
const MAX_QR_TEXT_BYTES: usize = 1024;

#[derive(serde::Deserialize)]
struct QrRequest {
    text: String,
}

/// `POST /qr.svg {"text"}`: the text as a QR code in SVG, for the account page's two-factor
/// setup. Drawn here by the `qrcode` crate, so the page needs no script from elsewhere; a POST,
/// so the TOTP secret in the text never lands in a URL or a request log.
async fn qr_svg(axum::Json(request): axum::Json<QrRequest>) -> Response {
    if request.text.len() > MAX_QR_TEXT_BYTES {
        return (StatusCode::PAYLOAD_TOO_LARGE, "text too long").into_response();
    }
    let Ok(code) = qrcode::QrCode::new(request.text.as_bytes()) else {
        return (StatusCode::BAD_REQUEST, "text cannot be a QR code").into_response();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    let mut response = svg.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn page(State(state): State<AppState>, page: Page) -> Response {
    if page != Page::Setup && setup_required(&state).await {
        return Redirect::to("/setup").into_response();
    }
    let html = PAGES
        .iter()
        .find(|(p, _)| *p == page)
        .map_or("", |(_, html)| html.as_str());
    let mut response = (StatusCode::OK, html.to_owned()).into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("permissions-policy"),
            PERMISSIONS_POLICY,
        ),
        // A page this one opens (or that opened it) from another site gets no handle on it.
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        // For browsers that predate the CSP's frame-ancestors.
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A plugin error here is not a reason to hide the page; the page's own API calls will report it.
async fn setup_required(state: &AppState) -> bool {
    match &state.plugin {
        Some(plugin) => plugin.call(|p| p.setup_required()).await.unwrap_or(false),
        None => false,
    }
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Small and embedded: revalidating costs nothing and an upgrade is seen at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{mode_builtin, mode_none, response};
    use axum::http::Method;

    #[tokio::test]
    async fn every_page_is_served_with_a_strict_content_security_policy() {
        for path in ["/", "/setup", "/login", "/users", "/account"] {
            let answer = response(&mode_builtin(), Method::GET, path, None, vec![]).await;
            assert_eq!(answer.status(), StatusCode::OK, "{path}");
            let headers = answer.headers();
            assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert!(
                headers[header::CONTENT_SECURITY_POLICY]
                    .to_str()
                    .is_ok_and(|csp| csp.contains("script-src 'self'"))
            );
        }
    }

    #[tokio::test]
    async fn pages_refuse_framing_openers_and_device_access() {
        for path in ["/", "/setup", "/login", "/users", "/account"] {
            let answer = response(&mode_builtin(), Method::GET, path, None, vec![]).await;
            let headers = answer.headers();
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
            assert_eq!(
                headers["cross-origin-opener-policy"], "same-origin",
                "{path}"
            );
            assert_eq!(headers["permissions-policy"], PERMISSIONS_POLICY, "{path}");
            assert!(PERMISSIONS_POLICY.contains("camera=()"));
        }
    }

    #[test]
    fn pages_embed_their_body_and_no_template_markers_are_left() {
        for (page, html) in PAGES.iter() {
            let (name, _, _) = page.parts();
            assert!(html.contains(&format!("data-page=\"{name}\"")), "{name}");
            assert!(!html.contains("{{"), "{name}");
        }
    }

    #[test]
    fn no_page_loads_anything_from_another_origin() {
        for (_, html) in PAGES.iter() {
            assert!(!html.contains("http://") && !html.contains("https://"));
        }
        assert!(!APP_JS.contains("http://") && !APP_JS.contains("https://"));
    }

    #[tokio::test]
    async fn assets_are_served_with_their_types() {
        let js = response(&mode_none(), Method::GET, "/static/app.js", None, vec![]).await;
        assert_eq!(js.headers()[header::CONTENT_TYPE], "text/javascript");
        let css = response(&mode_none(), Method::GET, "/static/app.css", None, vec![]).await;
        assert_eq!(css.headers()[header::CONTENT_TYPE], "text/css");
    }
}
