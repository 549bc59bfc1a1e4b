//! `response_mode=form_post` on both stores, as the browser sees it: instead of a 303 carrying
//! the code in its query, an HTML page whose form POSTs `code`, `state` and `iss` (or `error`,
//! `error_description`, `state`, `iss`) to the redirect URI — submitted by a script the page's
//! CSP allows by hash, or by a `<noscript>` button — with `form-action` limited to the client's
//! origin. Success and error responses alike, pushed requests too; discovery advertises it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::common::browser::{callback, log_in, Browser, Page, CALLBACK};
use crate::common::grants::{server, text, CHALLENGE, VERIFIER};
use crate::common::{http, post_token, Backend, Reply, TestServer};

fn authorize_url(server: &TestServer, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&response_mode=form_post{extra}",
        server.at("/authorize")
    )
}

/// Asserts `page` is the form post of an authorization response and returns its fields.
fn form_post(page: &Page) -> std::collections::HashMap<String, String> {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.location.is_none(),
        "no redirect: the response is in the page"
    );
    assert!(
        page.body
            .contains(&format!(r#"<form method="post" action="{CALLBACK}">"#)),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<noscript>"),
        "a button without JavaScript"
    );
    assert!(page.body.contains(r#"<button type="submit">"#));
    let header = |name: &str| page.headers[name].to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with("text/html"));
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    // The CSP allows exactly the page's script (by hash) and posting to the client's origin.
    let script = page
        .body
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the auto-submit script");
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        csp.contains(&format!("script-src 'sha256-{hash}'")),
        "{csp}"
    );
    assert!(
        csp.contains("form-action https://app.example.com;"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));
    ["code", "error", "error_description", "state", "iss"]
        .into_iter()
        .filter_map(|name| page.hidden(name).map(|value| (name.to_owned(), value)))
        .collect()
}

async fn the_code_comes_back_in_a_self_posting_form(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let page = browser.get(&authorize_url(&server, "")).await;
    let page = log_in(&server, &browser, page, "wonderland").await;
    let fields = form_post(&page);
    assert_eq!(fields["state"], "xyz");
    assert_eq!(fields["iss"], server.url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", fields["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post_token(&server, Some(("app", "app-secret")), &form).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);

    // Signed in already: /authorize answers with the form at once.
    let again = browser.get(&authorize_url(&server, "")).await;
    let fields = form_post(&again);
    assert!(fields.contains_key("code"));
}

async fn errors_come_back_in_the_same_mode(backend: Backend) {
    let server = server(backend).await;
    // Before any login: prompt=none cannot be met.
    let page = Browser::new()
        .get(&authorize_url(&server, "&prompt=none"))
        .await;
    let fields = form_post(&page);
    assert_eq!(fields["error"], "login_required");
    assert_eq!(fields["state"], "xyz");
    assert_eq!(fields["iss"], server.url);
    assert!(!fields.contains_key("code"));
    // A request error found by validation.
    let page = Browser::new()
        .get(&authorize_url(&server, "&max_age=soon"))
        .await;
    let fields = form_post(&page);
    assert_eq!(fields["error"], "invalid_request");
    assert!(fields["error_description"].contains("max_age"));
    // An unknown mode is reported in the default one.
    let page = Browser::new()
        .get(&authorize_url(&server, "").replace("form_post", "fragment"))
        .await;
    let params = callback(&page);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("form_post"));
    // Untrusted redirect URIs are still an error page, never a form to them.
    let page = Browser::new()
        .get(&authorize_url(&server, "").replace(CALLBACK, "https://evil.example.com/cb"))
        .await;
    assert_eq!(page.status, 400);
    assert!(!page
        .body
        .contains("<form method=\"post\" action=\"https://evil"));
}

async fn a_pushed_request_can_ask_for_form_post(backend: Backend) {
    let server = server(backend).await;
    let pushed = http()
        .post(server.at("/par"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
            ("state", "pushed"),
            ("response_mode", "form_post"),
        ])
        .send()
        .await
        .unwrap();
    let pushed = Reply::from(pushed).await;
    assert_eq!(pushed.status, 201, "{}", pushed.json);
    let browser = Browser::new();
    let url = format!(
        "{}?client_id=app&request_uri={}",
        server.at("/authorize"),
        text(&pushed.json, "request_uri")
    );
    let page = log_in(&server, &browser, browser.get(&url).await, "wonderland").await;
    assert_eq!(form_post(&page)["state"], "pushed");

    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.json["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
}

for_each_backend!(
    the_code_comes_back_in_a_self_posting_form,
    errors_come_back_in_the_same_mode,
    a_pushed_request_can_ask_for_form_post,
);
