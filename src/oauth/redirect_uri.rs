//! Redirect URIs: registered ones are absolute URIs without a fragment (RFC 6749 §3.1.2); a
//! request's `redirect_uri` must equal one of them exactly, as a string — no prefix, wildcard or
//! normalisation, which is where open redirectors come from. Responses are appended to the
//! URI's existing query.

use url::Url;

/// Checks a redirect URI from the config.
pub fn validate_registered(uri: &str) -> Result<(), String> {
    let parsed = Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URI: {err}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("`{uri}` must not contain a fragment"));
    }
    if parsed.scheme() == "http" && !is_loopback(&parsed) {
        tracing::warn!(uri, "plain-http redirect URI on a non-loopback host");
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
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
    fn registered_uris_are_absolute_without_fragment() {
        assert!(validate_registered("https://app.example.com/cb").is_ok());
        assert!(validate_registered("com.example.app:/callback").is_ok());
        assert!(validate_registered("/relative").is_err());
        assert!(validate_registered("https://app.example.com/cb#frag").is_err());
    }
}
