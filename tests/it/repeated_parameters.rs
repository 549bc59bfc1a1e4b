//! RFC 6749 §3.1 at `/authorize`: "Request and response parameters MUST NOT be included more
//! than once". A repeated `client_id` or `redirect_uri` leaves ferrid unsure where the person
//! would be sent, so it gets the HTML error page, never a redirect; any other repeated parameter
//! goes back to the (verified) redirect URI as `invalid_request`, naming the parameter, with
//! `state` when it is unambiguous and `iss`. Both GET (query) and POST (form body); repeated
//! parameters ferrid does not know are ignored like any unknown parameter.

use std::collections::HashMap;

use crate::common::browser::{callback, Browser, Page, CALLBACK};
use crate::common::code_flow::*;
use crate::common::{Backend, TestServer};

/// A valid authorization request for `webapp` as a client library builds it, as pairs.
fn request_pairs(server: &TestServer) -> (Vec<(String, String)>, String) {
    let start = start(
        &oauth_client(server, "webapp", Some("webapp-secret")),
        &["openid", "email"],
        "n-1",
        &[],
    );
    let pairs = url::Url::parse(&start.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    (pairs, start.state)
}

/// Sends the pairs as GET (query) or POST (form body).
async fn send(server: &TestServer, pairs: &[(String, String)], post: bool) -> Page {
    let browser = Browser::new();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    if post {
        browser.post(&server.at("/authorize"), &pairs).await
    } else {
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        browser
            .get(&format!("{}?{query}", server.at("/authorize")))
            .await
    }
}

fn with(pairs: &[(String, String)], extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs = pairs.to_vec();
    pairs.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    pairs
}

fn assert_error_page(page: &Page, what: &str) {
    assert_eq!(page.status, 400, "{what}: {}", page.body);
    assert!(page.location.is_none(), "{what} must not redirect");
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.body.contains("more than once"),
        "{what}: {}",
        page.body
    );
}

fn assert_invalid_request(page: &Page, name: &str, what: &str) -> HashMap<String, String> {
    let params = callback(page);
    assert_eq!(params["error"], "invalid_request", "{what}: {params:?}");
    assert!(
        params["error_description"].contains(&format!("`{name}`")),
        "{what}: {params:?}"
    );
    params
}

async fn repeated_parameters_go_back_to_the_client_as_invalid_request(backend: Backend) {
    let server = server(backend).await;
    let (pairs, state) = request_pairs(&server);
    for post in [false, true] {
        let what = if post { "POST" } else { "GET" };
        for (name, value) in [
            ("scope", "openid profile"),
            ("nonce", "n-2"),
            ("response_type", "code"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ] {
            let page = send(&server, &with(&pairs, &[(name, value)]), post).await;
            let what = format!("{what} {name} twice");
            let params = assert_invalid_request(&page, name, &what);
            assert_eq!(params["state"], state, "{what}");
            assert_eq!(params["iss"], server.url, "{what}");
        }
        // Two values of `state`: which one the client expects is unknown, so none is echoed.
        let page = send(&server, &with(&pairs, &[("state", "other")]), post).await;
        let params = assert_invalid_request(&page, "state", what);
        assert!(!params.contains_key("state"), "{what}: {params:?}");
        assert_eq!(params["iss"], server.url);
        // Even the same value twice is a repeat.
        let page = send(&server, &with(&pairs, &[("state", &state)]), post).await;
        assert_invalid_request(&page, "state", what);
    }
}

async fn a_repeated_client_id_or_redirect_uri_gets_an_error_page(backend: Backend) {
    let server = server(backend).await;
    let (pairs, _) = request_pairs(&server);
    for post in [false, true] {
        let what = if post { "POST" } else { "GET" };
        for extra in [
            ("client_id", "webapp"),
            ("client_id", "spa"),
            ("redirect_uri", CALLBACK),
            ("redirect_uri", "https://evil.example.com/cb"),
        ] {
            let page = send(&server, &with(&pairs, &[extra]), post).await;
            assert_error_page(&page, &format!("{what} {extra:?}"));
        }
        // Also when other parameters are repeated too: the page wins over the redirect.
        let page = send(
            &server,
            &with(&pairs, &[("state", "x"), ("client_id", "webapp")]),
            post,
        )
        .await;
        assert_error_page(&page, what);
    }
}

async fn unknown_repeated_parameters_are_ignored(backend: Backend) {
    let server = server(backend).await;
    let (pairs, _) = request_pairs(&server);
    for post in [false, true] {
        let page = send(
            &server,
            &with(&pairs, &[("ui_locales", "en"), ("ui_locales", "fr")]),
            post,
        )
        .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let location = page.location.unwrap();
        assert!(location.starts_with("/login?interaction="), "{location}");
    }
}

for_each_backend!(
    repeated_parameters_go_back_to_the_client_as_invalid_request,
    a_repeated_client_id_or_redirect_uri_gets_an_error_page,
    unknown_repeated_parameters_are_ignored,
);
