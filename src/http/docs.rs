//! ferrid's own Swagger UI page at `/docs`. poem-openapi's bundled page never calls
//! `initOAuth`, so Swagger UI would run the authorization-code login without PKCE, which ferrid
//! refuses for public clients; and it derives the OAuth redirect from the current URL, fragment
//! and all, which exact redirect-URI matching rejects. This page uses the same Swagger UI bundle,
//! enables PKCE for the built-in public `swagger-ui` client, and fixes the redirect URI to
//! `{issuer}/docs/oauth-receiver.html`, which that client registers.
//!
//! That redirect URI is built from the page's origin, so the page must be opened at the issuer's
//! origin: opened as `http://localhost:8080/docs` while the issuer is `http://127.0.0.1:8080`,
//! Authorize would end at "redirect_uri does not match". The page therefore sends a browser that
//! names this machine differently from the issuer (another loopback host name, same port) to the
//! issuer's `/docs` first. Only then: a request that reached another port came through something
//! in between (a proxy, a published container port) that may rewrite `Host`, and redirecting it
//! could loop.

use poem::endpoint::make_sync;
use poem::http::header::HOST;
use poem::web::{Html, Redirect};
use poem::{Endpoint, IntoResponse, Request, Route};
use url::Url;

use crate::config::is_loopback;
use crate::oauth::clients::SWAGGER_UI_CLIENT_ID;

/// Swagger UI's OAuth receiver page (from swagger-ui, as bundled by poem-openapi).
const OAUTH_RECEIVER: &str = include_str!("../../templates/oauth-receiver.html");

/// The page with PKCE enabled, built from poem-openapi's Swagger UI page.
pub fn page(swagger_ui_html: &str) -> String {
    swagger_ui_html
        .replace(
            "oauth2RedirectUrl: oauth2RedirectUrl,",
            "oauth2RedirectUrl: window.location.origin + \"/docs/oauth-receiver.html\",",
        )
        .replace("    SwaggerUIBundle({", "    const ui = SwaggerUIBundle({")
        .replace(
            "        deepLinking: true,\n    })",
            &format!(
                "        deepLinking: true,\n    }});\n    ui.initOAuth({{ clientId: \"{SWAGGER_UI_CLIENT_ID}\", \
                 usePkceWithAuthorizationCodeGrant: true, scopes: \"openid profile email\" }});"
            ),
        )
}

/// Where to send a browser that asked for the docs page as `host` (its `Host` header): the
/// issuer's `/docs` when the issuer and `host` are both loopback names of this machine, on the
/// same port, but not the same name (`localhost` vs `127.0.0.1`); `None` to serve the page.
pub fn issuer_redirect(issuer: &str, host: &str) -> Option<String> {
    let issuer_url = Url::parse(issuer).ok()?;
    // The request is taken to use the issuer's scheme, so that default ports compare equal.
    let requested = Url::parse(&format!("{}://{host}", issuer_url.scheme())).ok()?;
    let moved = is_loopback(&issuer_url)
        && is_loopback(&requested)
        && requested.port_or_known_default() == issuer_url.port_or_known_default()
        && requested.host() != issuer_url.host();
    moved.then(|| format!("{}/docs", issuer.trim_end_matches('/')))
}

/// The host the request was sent to: `Host` (HTTP/1.1), else the URI's authority (HTTP/2).
fn requested_host(request: &Request) -> Option<&str> {
    match request.headers().get(HOST) {
        Some(host) => host.to_str().ok(),
        None => request
            .uri()
            .authority()
            .map(|authority| authority.as_str()),
    }
}

/// `/docs` (the page, or a redirect to the issuer's) and `/docs/oauth-receiver.html`.
pub fn endpoint(swagger_ui_html: &str, issuer: &str) -> impl Endpoint {
    let html = page(swagger_ui_html);
    let issuer = issuer.to_owned();
    Route::new()
        .at(
            "/",
            make_sync(move |request| {
                match requested_host(&request).and_then(|host| issuer_redirect(&issuer, host)) {
                    Some(location) => Redirect::temporary(location).into_response(),
                    None => Html(html.clone()).into_response(),
                }
            }),
        )
        .at("/oauth-receiver.html", make_sync(|_| Html(OAUTH_RECEIVER)))
}

#[cfg(test)]
mod tests {
    use super::issuer_redirect;

    #[test]
    fn another_loopback_name_on_the_issuers_port_goes_to_the_issuer() {
        let issuer = "http://127.0.0.1:8080";
        let to_issuer = Some("http://127.0.0.1:8080/docs".to_owned());
        assert_eq!(issuer_redirect(issuer, "localhost:8080"), to_issuer);
        assert_eq!(issuer_redirect(issuer, "LOCALHOST:8080"), to_issuer);
        assert_eq!(issuer_redirect(issuer, "app.localhost:8080"), to_issuer);
        assert_eq!(issuer_redirect(issuer, "127.0.0.2:8080"), to_issuer);
        assert_eq!(issuer_redirect(issuer, "[::1]:8080"), to_issuer);
        assert_eq!(
            issuer_redirect("http://localhost:8080/", "127.0.0.1:8080").as_deref(),
            Some("http://localhost:8080/docs")
        );
        assert_eq!(
            issuer_redirect("https://localhost", "127.0.0.1").as_deref(),
            Some("https://localhost/docs")
        );
    }

    #[test]
    fn the_issuers_own_name_other_ports_and_other_hosts_are_served() {
        let issuer = "http://127.0.0.1:8080";
        assert_eq!(issuer_redirect(issuer, "127.0.0.1:8080"), None);
        // Another port: something in between, which may rewrite Host; a redirect could loop.
        assert_eq!(issuer_redirect(issuer, "localhost:9090"), None);
        assert_eq!(issuer_redirect(issuer, "localhost"), None);
        // Not loopback on either side: nothing to fix here.
        assert_eq!(issuer_redirect(issuer, "auth.example.com:8080"), None);
        assert_eq!(
            issuer_redirect("https://auth.example.com", "localhost:443"),
            None
        );
        assert_eq!(issuer_redirect(issuer, "bad host"), None);
        assert_eq!(issuer_redirect("not a url", "localhost:8080"), None);
    }
}
