//! RP-initiated logout (OIDC RP-Initiated Logout 1.0), on both stores: with an ID token hint and a
//! registered post-logout URI, and without either.

use crate::common::browser::{callback, Browser, CALLBACK};
use crate::common::grants::{grant, refresh, server, text, BYE, CHALLENGE};
use crate::common::{Backend, TestServer};

/// The browser's session is gone: `prompt=none` now needs a login.
async fn assert_signed_out(server: &TestServer, browser: &Browser) {
    let silent = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&prompt=none&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    assert_eq!(
        callback(&browser.get(&silent).await)["error"],
        "login_required"
    );
}

/// The browser's session is still there: `prompt=none` gets a code.
async fn assert_signed_in(server: &TestServer, browser: &Browser) {
    let silent = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&prompt=none&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let params = callback(&browser.get(&silent).await);
    assert!(params.contains_key("code"), "still signed in: {params:?}");
}

/// A valid ID token of another session (here: the same person in another browser; any client of
/// ferrid can get one) does not end this browser's session unasked: a link on another site
/// carrying it only brings up the confirmation page.
async fn a_hint_from_another_session_asks_before_ending_this_one(backend: Backend) {
    let server = server(backend).await;
    let victim = Browser::new();
    grant(&server, &victim, "app", "openid").await;
    let attacker = Browser::new();
    let foreign = grant(&server, &attacker, "app", "openid").await;
    let url = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={BYE}",
        server.at("/logout"),
        text(&foreign, "id_token")
    );
    let page = victim.get(&url).await;
    assert_eq!(page.status, 200, "the person is asked first");
    assert!(page.location.is_none());
    assert!(page.body.contains("Sign out?"));
    assert_signed_in(&server, &victim).await;
}

/// An access token is not an ID token, whatever its signature (its `typ` is `at+jwt`).
async fn an_access_token_is_not_an_id_token_hint(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let tokens = grant(&server, &browser, "app", "openid").await;
    let url = format!(
        "{}?id_token_hint={}",
        server.at("/logout"),
        text(&tokens, "access_token")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    assert_signed_in(&server, &browser).await;
}

async fn logout_with_a_registered_uri_redirects_and_ends_the_session(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let online = grant(&server, &browser, "app", "openid").await;
    let offline = grant(&server, &browser, "other", "openid offline_access").await;
    let hint = text(&online, "id_token");
    let url = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri={BYE}&state=bye-state",
        server.at("/logout")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{BYE}?state=bye-state").as_str())
    );
    assert_signed_out(&server, &browser).await;
    // offline_access grants survive logout (sessions.logout_revokes = online).
    assert_eq!(
        refresh(&server, "other", &text(&offline, "refresh_token"), None)
            .await
            .status,
        200
    );
}

async fn logout_without_a_registered_uri_or_hint_asks_and_shows_a_page(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    grant(&server, &browser, "app", "openid").await;
    let url = format!(
        "{}?client_id=app&post_logout_redirect_uri=https://evil.example.com/",
        server.at("/logout")
    );
    let confirm = browser.get(&url).await;
    assert_eq!(confirm.status, 200, "no hint: the person confirms");
    assert!(confirm.location.is_none());
    let csrf = confirm.hidden("csrf_token").unwrap();
    let forged = browser
        .post(
            &server.at("/logout"),
            &[("csrf_token", "forged"), ("client_id", "app")],
        )
        .await;
    assert_eq!(forged.status, 200);
    assert!(
        forged.body.contains("Sign out?"),
        "a wrong CSRF token only asks again"
    );
    let done = browser
        .post(
            &server.at("/logout"),
            &[
                ("csrf_token", csrf.as_str()),
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://evil.example.com/"),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.location.is_none(),
        "an unregistered URI is never redirected to"
    );
    assert!(done.body.contains("Signed out"));
    assert_signed_out(&server, &browser).await;
}

for_each_backend!(
    a_hint_from_another_session_asks_before_ending_this_one,
    an_access_token_is_not_an_id_token_hint,
    logout_with_a_registered_uri_redirects_and_ends_the_session,
    logout_without_a_registered_uri_or_hint_asks_and_shows_a_page,
);

on_cluster!(
    a_hint_from_another_session_asks_before_ending_this_one,
    logout_with_a_registered_uri_redirects_and_ends_the_session,
);
