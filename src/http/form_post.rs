//! OAuth 2.0 Form Post Response Mode: the authorization response (code or error, `state`,
//! `iss`) as an HTML form that POSTs itself to the client's redirect URI — hidden fields, a
//! one-line script that submits it, and a `<noscript>` button for browsers without JavaScript.
//! The page's own CSP allows only that: no source but the script's hash, and `form-action` only
//! the redirect URI's origin, so an injected form could post nowhere else.

use std::sync::OnceLock;

use askama::Template;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use poem::http::{header, HeaderValue, StatusCode};
use poem::Response;

use super::pages::html;
use crate::oauth::response_mode::AuthorizationResponse;
use crate::secret::sha256;

/// The page's only script; its hash is the CSP's only script source.
const AUTO_SUBMIT: &str = "document.forms[0].submit();";

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    client_host: &'a str,
    params: &'a [(&'static str, String)],
    script: &'static str,
}

/// The auto-submitting form delivering `response` (200, with its own CSP).
pub fn page(response: &AuthorizationResponse) -> Response {
    let url = url::Url::parse(&response.redirect_uri).ok();
    let client_host = url
        .as_ref()
        .and_then(url::Url::host_str)
        .unwrap_or("the application");
    let page = FormPostPage {
        action: &response.redirect_uri,
        client_host,
        params: &response.params,
        script: AUTO_SUBMIT,
    };
    let mut answer = html(StatusCode::OK, page.render());
    if let Ok(csp) = HeaderValue::from_str(&policy(url.as_ref())) {
        answer
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    answer
}

/// `Content-Security-Policy` of the page: the inline styles of every ferrid page, the one
/// script by hash, and forms posting to the redirect URI's origin only (its scheme alone for a
/// private-use URI scheme, which has no host).
fn policy(redirect_uri: Option<&url::Url>) -> String {
    static SCRIPT_HASH: OnceLock<String> = OnceLock::new();
    let hash = SCRIPT_HASH.get_or_init(|| STANDARD.encode(sha256(AUTO_SUBMIT.as_bytes())));
    let form_action = match redirect_uri {
        Some(url) if url.has_host() => url.origin().ascii_serialization(),
        Some(url) => format!("{}:", url.scheme()),
        None => "'none'".to_owned(),
    };
    format!(
        "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
         form-action {form_action}; base-uri 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_script_and_the_client_origin_only() {
        let url = url::Url::parse("https://app.example.com:8443/cb?tenant=a").unwrap();
        let csp = policy(Some(&url));
        assert!(
            csp.contains("form-action https://app.example.com:8443;"),
            "{csp}"
        );
        assert!(
            csp.starts_with("default-src 'none'; script-src 'sha256-"),
            "{csp}"
        );
        let native = url::Url::parse("com.example.app:/oauth/cb").unwrap();
        assert!(policy(Some(&native)).contains("form-action com.example.app:;"));
        assert!(policy(None).contains("form-action 'none';"));
    }

    #[test]
    fn values_are_escaped_and_the_hash_matches_the_script() {
        let response = AuthorizationResponse {
            redirect_uri: "https://app.example.com/cb?a=1&b=2".into(),
            mode: crate::oauth::response_mode::ResponseMode::FormPost,
            params: vec![("state", "\"><script>alert(1)</script>".into())],
        };
        let page = FormPostPage {
            action: &response.redirect_uri,
            client_host: "app.example.com",
            params: &response.params,
            script: AUTO_SUBMIT,
        }
        .render()
        .unwrap();
        assert!(
            page.contains(r#"action="https://app.example.com/cb?a=1&#38;b=2""#)
                || page.contains(r#"action="https://app.example.com/cb?a=1&amp;b=2""#),
            "{page}"
        );
        assert!(!page.contains("<script>alert(1)"), "{page}");
        assert!(
            page.contains(&format!("<script>{AUTO_SUBMIT}</script>")),
            "{page}"
        );
    }
}
