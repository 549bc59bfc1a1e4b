//! Redirect URIs: registered ones are absolute URIs without a fragment (RFC 6749 §3.1.2); a
//! request's `redirect_uri` must equal one of them exactly, as a string — no prefix, wildcard or
//! normalisation, which is where open redirectors come from. Responses are appended to the
//! URI's existing query.
//!
//! What may be registered (`validate_registered`, the one rule set for config, admin API and
//! registration): `https` URIs; plain `http` only on a loopback IP literal, any port, for native
//! apps (RFC 8252 §7.3: `http://127.0.0.1:<port>/…`, `http://[::1]:<port>/…`); private-use
//! schemes named after a domain the app owns, for native apps (RFC 8252 §7.1:
//! `com.example.app:/cb`). Never a fragment, a `*`, user information, or a scheme that runs or
//! embeds content in the browser (`javascript:`, `data:`, …). The one exception is ferrid's own
//! origin — the built-in Swagger UI client's callback — which is as secure as the issuer the
//! operator configured.

use url::{Host, Url};

/// Schemes that execute or embed content instead of navigating to an app.
const DANGEROUS_SCHEMES: [&str; 6] = ["javascript", "data", "vbscript", "file", "blob", "about"];

/// Checks a redirect URI a client registers; `issuer` is ferrid's own origin, always allowed.
/// The error says what is wrong, naming the URI.
pub fn validate_registered(uri: &str, issuer: &str) -> Result<(), String> {
    if uri.contains('*') {
        return Err(format!(
            "`{uri}` contains a wildcard; register every redirect URI exactly"
        ));
    }
    if uri.contains('#') {
        return Err(format!(
            "`{uri}` must not contain a fragment (RFC 6749 section 3.1.2)"
        ));
    }
    let parsed = Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URI: {err}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("`{uri}` must not contain user information"));
    }
    let scheme = parsed.scheme();
    if DANGEROUS_SCHEMES.contains(&scheme) {
        return Err(format!("`{scheme}:` URIs are never redirect targets"));
    }
    let same_origin = Url::parse(issuer).is_ok_and(|issuer| issuer.origin() == parsed.origin());
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(&parsed) || same_origin => Ok(()),
        "http" => Err(format!(
            "`{uri}` is plain http: use https, or for a native app a loopback IP literal \
             (http://127.0.0.1:<port>/... or http://[::1]:<port>/..., RFC 8252 section 7.3)"
        )),
        // RFC 8252 §7.1: a private-use scheme is a reverse domain name the app controls.
        _ if scheme.contains('.') => Ok(()),
        _ => Err(format!(
            "`{scheme}:` is not allowed: use https, a loopback http URI, or a private-use scheme \
             named after a domain the app owns such as com.example.app:/callback (RFC 8252 \
             section 7.1)"
        )),
    }
}

/// RFC 8252 §7.3: the loopback IP literals (§8.3 advises against the name `localhost`).
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

/// The redirect URI for a request: the requested one if registered, or the only registered
/// one when none was requested and `allow_default` (not an OpenID request).
pub fn resolve<'a>(
    registered: &'a [String],
    requested: Option<&str>,
    allow_default: bool,
) -> Result<&'a str, String> {
    match requested {
        Some(requested) => registered
            .iter()
            .find(|uri| uri.as_str() == requested)
            .map(String::as_str)
            .ok_or_else(|| "redirect_uri does not match any URI registered for this client".into()),
        None if allow_default && registered.len() == 1 => Ok(&registered[0]),
        None => Err("redirect_uri is required".into()),
    }
}

/// `uri` with `params` appended to its query.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(params);
            url.to_string()
        }
        // Registered URIs were validated at start-up; this branch is unreachable in practice.
        Err(_) => uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_string_match_only() {
        let registered = vec!["https://app.example.com/cb".to_owned()];
        assert!(resolve(&registered, Some("https://app.example.com/cb"), true).is_ok());
        for bad in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://APP.example.com/cb",
            "https://app.example.com/c",
        ] {
            assert!(resolve(&registered, Some(bad), true).is_err(), "{bad}");
        }
        assert!(resolve(&registered, None, true).is_ok());
        assert!(resolve(&registered, None, false).is_err());
    }

    #[test]
    fn params_are_appended_to_the_query() {
        let uri = with_params(
            "https://app.example.com/cb?tenant=a",
            &[("code", "x y"), ("state", "s&t")],
        );
        assert_eq!(
            uri,
            "https://app.example.com/cb?tenant=a&code=x+y&state=s%26t"
        );
    }

    #[test]
    fn registered_uris_follow_rfc_8252() {
        const ISSUER: &str = "https://auth.example.com";
        for good in [
            "https://app.example.com/cb",
            "https://app.example.com/cb?tenant=a",
            "http://127.0.0.1:51004/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/callback",
            "https://auth.example.com/docs/oauth-receiver.html",
        ] {
            assert!(validate_registered(good, ISSUER).is_ok(), "{good}");
        }
        for bad in [
            "/relative",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb#",
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "http://app.example.com/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.2/cb",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "myapp:/cb",
            "https://user:pw@app.example.com/cb",
        ] {
            assert!(validate_registered(bad, ISSUER).is_err(), "{bad}");
        }
        // ferrid's own origin, even over plain http (an issuer the operator allowed).
        assert!(validate_registered("http://auth.lan/docs/cb", "http://auth.lan").is_ok());
        assert!(validate_registered("http://auth.lan:81/cb", "http://auth.lan").is_err());
    }
}
