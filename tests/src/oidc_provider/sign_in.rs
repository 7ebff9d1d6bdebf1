//! Signing in at the provider without a browser: its redirects, login form and consent form
//! driven over plain HTTP with a small cookie jar, for tests and benchmarks that need an
//! authorization code but not Chromium.

use std::collections::BTreeMap;

use super::OidcProvider;
use crate::http::Response;

/// More redirects and forms than one sign-in takes (authorize, login, resume, consent, resume).
const MAX_STEPS: usize = 12;

/// The provider's cookies for one user agent. Browsers scope cookies by path; here every cookie
/// goes with every request, which the provider tolerates: it reads each cookie by name, and a
/// later interaction's cookie replaces the earlier one of the same name.
#[derive(Default)]
struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl CookieJar {
    fn take_from(&mut self, response: &Response) {
        let set_cookies = response
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"));
        for (_, set_cookie) in set_cookies {
            let mut attributes = set_cookie.split(';');
            let Some((name, value)) = attributes.next().and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            let expired = attributes.any(|attribute| {
                let attribute = attribute.trim().to_ascii_lowercase();
                attribute == "max-age=0" || attribute.starts_with("expires=thu, 01 jan 1970")
            });
            if expired || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.join("; ")
    }
}

/// What the provider asked for in the page it answered with.
enum Page {
    Login,
    Consent,
}

fn page_of(response: &Response) -> Option<Page> {
    let body = response.text();
    if body.contains("id=\"login-form\"") {
        Some(Page::Login)
    } else if body.contains("id=\"consent-form\"") {
        Some(Page::Consent)
    } else {
        None
    }
}

impl OidcProvider {
    /// Follows `authorization_url` (the relying party's redirect to the provider) as a fresh
    /// user agent would: signs in as `username` with `password`, consents, and returns the URL
    /// the provider sends the user agent back to (the redirect URI with `code` and `state`, or
    /// with `error`). Panics when the provider refuses the credentials or answers otherwise.
    pub fn sign_in_over_http(
        &self,
        authorization_url: &str,
        username: &str,
        password: &str,
    ) -> String {
        let origin = self.client().base_url().to_owned();
        let mut jar = CookieJar::default();
        let mut path = authorization_url
            .strip_prefix(&origin)
            .unwrap_or_else(|| panic!("{authorization_url} is not on the provider's origin"))
            .to_owned();
        let mut form: Option<String> = None;
        let mut signed_in = false;
        for _ in 0..MAX_STEPS {
            let cookie = jar.header();
            let mut headers = vec![("Cookie", cookie.as_str())];
            let response = match &form {
                Some(body) => {
                    headers.push(("Content-Type", "application/x-www-form-urlencoded"));
                    self.client()
                        .send("POST", &path, &headers, Some(body.as_bytes()))
                }
                None => self.client().send("GET", &path, &headers, None),
            };
            jar.take_from(&response);
            match response.status {
                302 | 303 => {
                    let location = response
                        .header("location")
                        .unwrap_or_else(|| panic!("{}: a redirect without Location", path));
                    if let Some(rest) = location.strip_prefix(&origin) {
                        path = rest.to_owned();
                    } else if location.starts_with('/') {
                        path = location.to_owned();
                    } else {
                        return location.to_owned();
                    }
                    form = None;
                }
                200 => match page_of(&response) {
                    Some(Page::Login) => {
                        assert!(
                            !signed_in,
                            "the provider refused {username}'s password: {}",
                            response.text()
                        );
                        signed_in = true;
                        // The interaction's page posts to its own path plus the step.
                        let interaction = path.split('?').next().unwrap_or_default().to_owned();
                        path = format!("{interaction}/login");
                        form = Some(super::relying_party::form(&[
                            ("username", username),
                            ("password", password),
                        ]));
                    }
                    Some(Page::Consent) => {
                        let interaction = path.split('?').next().unwrap_or_default().to_owned();
                        path = format!("{interaction}/confirm");
                        form = Some(String::new());
                    }
                    None => panic!("{path}: an unexpected page: {}", response.text()),
                },
                status => panic!("{path}: status {status}: {}", response.text()),
            }
        }
        panic!("no redirect back to the relying party within {MAX_STEPS} steps (at {path})");
    }
}
