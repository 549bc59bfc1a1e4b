//! ferrid's login and consent pages and the protections around them: error pages instead of
//! redirects for untrusted clients, CSRF tokens bound to the browser, no user enumeration,
//! throttling, security headers and cookie attributes, and userinfo's RFC 6750 errors.

use crate::common::browser::{callback, consent, Browser, CALLBACK};
use crate::common::code_flow::*;
use crate::common::{http, Backend, Reply, TestServer};
use oauth2::reqwest::header::SET_COOKIE;

async fn untrusted_clients_and_redirects_get_an_error_page_never_a_redirect(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    for query in [
        "response_type=code&client_id=webapp&redirect_uri=https://evil.example.com/cb&scope=openid&state=s".to_string(),
        format!("response_type=code&client_id=webapp&redirect_uri={CALLBACK}/extra&scope=openid"),
        format!("response_type=code&client_id=nobody&redirect_uri={CALLBACK}&scope=openid"),
        format!("response_type=code&redirect_uri={CALLBACK}"),
        "response_type=code&client_id=webapp&scope=openid".to_string(),
    ] {
        let page = browser.get(&format!("{}?{query}", server.at("/authorize"))).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.location.is_none(), "{query} must not redirect");
        assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.body.contains("Cannot continue"));
    }
    let other = browser
        .get(&format!(
            "{}?response_type=token&client_id=webapp&redirect_uri={CALLBACK}&state=z",
            server.at("/authorize")
        ))
        .await;
    let params = callback(&other);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "z");
}

async fn forms_without_their_csrf_token_are_refused(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let start = start(
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
        "n",
        &[],
    );
    let page = browser.get(&start.url).await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let interaction = form.hidden("interaction").unwrap();
    let login = [
        ("interaction", interaction.as_str()),
        ("username", "alice"),
        ("password", "wonderland"),
    ];
    let refused = browser.post(&server.at("/login"), &login).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("could not be verified"));
    assert!(
        !browser.cookie_header().contains("ferrid-session"),
        "no session without a valid CSRF token"
    );
    // A valid token from another browser (no binding cookie) is refused too.
    let csrf = form.hidden("csrf_token").unwrap();
    let stranger = Browser::new();
    let mut with_token = login.to_vec();
    with_token.push(("csrf_token", &csrf));
    assert_eq!(
        stranger
            .post(&server.at("/login"), &with_token)
            .await
            .status,
        400
    );
}

async fn wrong_passwords_and_unknown_users_look_the_same(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let start = start(
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
        "n",
        &[],
    );
    let page = browser.get(&start.url).await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let (interaction, csrf) = (
        form.hidden("interaction").unwrap(),
        form.hidden("csrf_token").unwrap(),
    );
    let attempt = async |username: &str, password: &str| {
        let fields = [
            ("interaction", interaction.as_str()),
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        browser.post(&server.at("/login"), &fields).await
    };
    let wrong_password = attempt("alice", "nope").await;
    let unknown_user = attempt("mallory", "nope").await;
    assert_eq!(wrong_password.status, 200);
    assert_eq!(unknown_user.status, wrong_password.status);
    assert!(wrong_password.body.contains("Wrong username or password."));
    assert_eq!(
        unknown_user.body.replace("mallory", "alice"),
        wrong_password.body
    );
    // The request is still alive: the right password continues the flow with the same state.
    let page = attempt("alice", "wonderland").await;
    let params = callback(&consent(&server, &browser, page, "allow").await);
    assert_eq!(params["state"], start.state);
}

async fn pages_carry_security_headers_and_cookies_are_locked_down(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let page = browser
        .get(&start(&client, &["openid"], "n", &[]).url)
        .await;
    let set_bind = page
        .headers
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_bind.contains("HttpOnly") && set_bind.contains("SameSite=Lax"),
        "{set_bind}"
    );
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    assert_eq!(form.headers["x-frame-options"], "DENY");
    assert!(form.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(form.headers["referrer-policy"], "no-referrer");
    assert_eq!(form.headers["cache-control"], "no-store");
    assert!(
        form.body.contains("webapp app"),
        "the client's name is shown"
    );
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    let logged_in = browser
        .post(
            &server.at("/login"),
            &[
                ("interaction", &interaction),
                ("csrf_token", &csrf),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    let session_cookie = logged_in.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        session_cookie.starts_with("ferrid-session="),
        "{session_cookie}"
    );
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
}

async fn userinfo_rejects_bad_tokens(backend: Backend) {
    let server = server(backend).await;
    let none = Reply::from(http().get(server.at("/userinfo")).send().await.unwrap()).await;
    assert_eq!(none.status, 401);
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    // RFC 6750 §3.1: no credentials, no error code in the challenge (see `userinfo`).
    assert!(!none.header("www-authenticate").unwrap().contains("error="));
    for token in ["garbage", "a.b.c"] {
        assert_eq!(userinfo(&server, token).await.status, 401);
    }
    let basic = Reply::from(
        http()
            .get(server.at("/userinfo"))
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, 401);
    // A client-credentials token has no openid scope.
    let reply = crate::common::post_token(
        &server,
        Some(("svc", "svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let forbidden = userinfo(&server, reply.json["access_token"].as_str().unwrap()).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json["error"], "insufficient_scope");
    assert!(forbidden
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
}

for_each_backend!(
    untrusted_clients_and_redirects_get_an_error_page_never_a_redirect,
    forms_without_their_csrf_token_are_refused,
    wrong_passwords_and_unknown_users_look_the_same,
    pages_carry_security_headers_and_cookies_are_locked_down,
    userinfo_rejects_bad_tokens,
);

#[tokio::test]
async fn repeated_login_attempts_are_throttled() {
    let options = crate::common::Options::new(Backend::Memory).clients(vec![web_app("webapp")]);
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.sessions.login_attempts_per_minute = 2;
    })
    .await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let page = browser
        .get(&start(&client, &["openid"], "n", &[]).url)
        .await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let (interaction, csrf) = (
        form.hidden("interaction").unwrap(),
        form.hidden("csrf_token").unwrap(),
    );
    let attempt = async |password: &str| {
        let fields = [
            ("interaction", interaction.as_str()),
            ("csrf_token", csrf.as_str()),
            ("username", "alice"),
            ("password", password),
        ];
        browser.post(&server.at("/login"), &fields).await
    };
    assert_eq!(attempt("guess-1").await.status, 200);
    assert_eq!(attempt("guess-2").await.status, 200);
    let throttled = attempt("wonderland").await;
    assert_eq!(
        throttled.status, 429,
        "the third attempt within a minute is refused unchecked"
    );
    assert!(throttled.body.contains("Too many sign-in attempts"));
    assert!(!browser.cookie_header().contains("ferrid-session"));
}
