//! ferrid's browser cookies: the session cookie and the browser-binding cookie of pending
//! interactions. Both are `HttpOnly`, `SameSite=Lax` (sent on the top-level redirect back from a
//! client, never on a cross-site POST), `Path=/`; with an https issuer they are `Secure` and use
//! the `__Host-` prefix, which pins them to ferrid's exact origin.

use poem::http::header;
use poem::web::cookie::{Cookie, SameSite};
use poem::Request;

/// The two cookies, named for one issuer.
#[derive(Debug, Clone)]
pub struct CookieNames {
    secure: bool,
    session: &'static str,
    bind: &'static str,
}

impl CookieNames {
    /// Names for `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        let secure = issuer.starts_with("https://");
        if secure {
            Self {
                secure,
                session: "__Host-ferrid-session",
                bind: "__Host-ferrid-bind",
            }
        } else {
            Self {
                secure,
                session: "ferrid-session",
                bind: "ferrid-bind",
            }
        }
    }

    /// The session cookie's value in `request`.
    pub fn session<'a>(&self, request: &'a Request) -> Option<&'a str> {
        find(request, self.session)
    }

    /// The browser-binding cookie's value in `request`.
    pub fn bind<'a>(&self, request: &'a Request) -> Option<&'a str> {
        find(request, self.bind)
    }

    /// `Set-Cookie` for a new session lasting `max_age_secs`.
    pub fn set_session(&self, value: &str, max_age_secs: u64) -> String {
        self.build(self.session, value, max_age_secs)
    }

    /// `Set-Cookie` that deletes the session cookie.
    pub fn clear_session(&self) -> String {
        self.build(self.session, "", 0)
    }

    /// `Set-Cookie` for a new browser binding.
    pub fn set_bind(&self, value: &str) -> String {
        self.build(self.bind, value, 3600)
    }

    fn build(&self, name: &str, value: &str, max_age_secs: u64) -> String {
        let mut cookie = Cookie::new_with_str(name, value);
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path("/");
        cookie.set_secure(self.secure);
        cookie.set_max_age(std::time::Duration::from_secs(max_age_secs));
        cookie.to_string()
    }
}

/// The first cookie named `name` in the `Cookie` headers.
fn find<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_issuers_get_host_prefixed_secure_cookies() {
        let names = CookieNames::for_issuer("https://auth.example.com");
        let cookie = names.set_session("abc", 60);
        assert!(cookie.starts_with("__Host-ferrid-session=abc"), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=60"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        let plain = CookieNames::for_issuer("http://127.0.0.1:8080").set_bind("x");
        assert!(
            plain.starts_with("ferrid-bind=x") && !plain.contains("Secure"),
            "{plain}"
        );
    }

    #[test]
    fn cookies_are_found_among_others() {
        let request = Request::builder()
            .header(header::COOKIE, "a=1; ferrid-session=s1; ferrid-bind=b1")
            .finish();
        let names = CookieNames::for_issuer("http://x");
        assert_eq!(names.session(&request), Some("s1"));
        assert_eq!(names.bind(&request), Some("b1"));
    }
}
