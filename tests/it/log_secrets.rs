//! No secret reaches the logs (checklist S30). One run of the flows a deployment sees — client
//! credentials, a failed and a successful login, consent, code redemption and replay, refresh
//! and refresh reuse, userinfo, introspection, revocation, logout, the admin API creating a
//! client and a user and changing their secret and password, and malformed or forged
//! requests — on both stores, with logging at `debug` through ferrid's own subscriber and JSON
//! format. Every secret the run handled is then looked for in every line: client secrets, the
//! password and its hash, the system secret, codes, the PKCE verifier, access, refresh and ID
//! tokens, cookie values and the Authorization headers sent.
//!
//! The subscriber is this thread's default and the runtime runs on this thread only, so every
//! line the servers write during the run is captured, and no other test's.

use base64::Engine;
use ferrid::config::LogSettings;
use serde_json::json;

use crate::common::admin::Admin;
use crate::common::browser::{callback, Browser, CALLBACK};
use crate::common::grants::{app_client, introspect, refresh, revoke, text, CHALLENGE, VERIFIER};
use crate::common::logs::Captured;
use crate::common::{
    cheap_password_hash, http, post_token, service_client, Backend, Options, Reply, TestServer,
    SYSTEM_SECRET,
};

fn basic(id: &str, secret: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
}

/// Runs every flow against a fresh server on `backend`; returns the secrets it handled.
async fn exercise(backend: Backend) -> Vec<String> {
    let options = Options::new(backend).clients(vec![
        app_client("app"),
        service_client("billing", &["invoices:read"]),
        service_client("ops", &["admin"]),
    ]);
    let server = TestServer::start_with(options, |settings| {
        let mut alice = crate::common::grants::alice();
        alice.password_hash = Some(cheap_password_hash("wonderland"));
        settings.users = vec![alice];
        // Every replay of a rotated refresh token counts as reuse.
        settings.tokens.refresh_token_reuse_grace_secs = 0;
    })
    .await;
    let mut secrets = vec![
        "app-secret".to_owned(),
        "billing-secret".to_owned(),
        "wonderland".to_owned(),
        cheap_password_hash("wonderland"),
        SYSTEM_SECRET.to_owned(),
        VERIFIER.to_owned(),
        basic("app", "app-secret"),
        basic("billing", "billing-secret"),
        basic("billing", "wrong-secret"),
    ];

    // Client credentials: issued, then refused with a wrong secret and a malformed header.
    let issued = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    secrets.push(text(&issued.json, "access_token"));
    post_token(
        &server,
        Some(("billing", "wrong-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(401, "invalid_client");
    let malformed = http()
        .post(server.at("/token"))
        .header("authorization", "Basic !!not-base64!!")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 401);

    // The code flow: a wrong password, then the right one.
    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let start = browser.get(&url).await;
    let form = browser
        .get(&server.at(start.location.as_deref().unwrap()))
        .await;
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    secrets.push(csrf.clone());
    for password in ["not-the-password", "wonderland"] {
        browser
            .post(
                &server.at("/login"),
                &[
                    ("interaction", &interaction),
                    ("csrf_token", &csrf),
                    ("username", "alice"),
                    ("password", password),
                ],
            )
            .await;
    }
    secrets.push("not-the-password".to_owned());
    let page = browser.get(&url).await;
    let code = callback(&page)["code"].clone();
    secrets.push(code.clone());
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post_token(&server, Some(("app", "app-secret")), &redeem).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(text(&tokens.json, name));
    }
    // Replaying the code is refused (and revokes what it issued).
    post_token(&server, Some(("app", "app-secret")), &redeem)
        .await
        .assert_error(400, "invalid_grant");

    // A second grant to refresh, reuse and revoke.
    let page = browser.get(&url).await;
    let code = callback(&page)["code"].clone();
    secrets.push(code.clone());
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let second = post_token(&server, Some(("app", "app-secret")), &redeem).await;
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(text(&second.json, name));
    }
    let refresh_token = text(&second.json, "refresh_token");
    let rotated = refresh(&server, "app", &refresh_token, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    for name in ["access_token", "refresh_token", "id_token"] {
        secrets.push(text(&rotated.json, name));
    }
    refresh(&server, "app", "made-up-refresh-token", None)
        .await
        .assert_error(400, "invalid_grant");
    // A third grant whose rotated refresh token is replayed: reuse detection.
    let page = browser.get(&url).await;
    let code = callback(&page)["code"].clone();
    secrets.push(code.clone());
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let third = post_token(&server, Some(("app", "app-secret")), &redeem).await;
    let replayed = text(&third.json, "refresh_token");
    secrets.push(replayed.clone());
    let successor = refresh(&server, "app", &replayed, None).await;
    secrets.push(text(&successor.json, "refresh_token"));
    secrets.push(text(&successor.json, "access_token"));
    refresh(&server, "app", &replayed, None)
        .await
        .assert_error(400, "invalid_grant");
    let access = text(&rotated.json, "access_token");
    let userinfo = Reply::from(
        http()
            .get(server.at("/userinfo"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(userinfo.status, 200, "{}", userinfo.json);
    let forged = http()
        .get(server.at("/userinfo"))
        .bearer_auth(format!("{access}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(introspect(&server, "app", &access).await["active"], true);
    revoke(
        &server,
        "app",
        &text(&rotated.json, "refresh_token"),
        Some("refresh_token"),
    )
    .await;
    revoke(&server, "app", &access, None).await;

    // The admin API: a client and a user created, their secret and password changed.
    let admin = Admin::new(&server).await;
    secrets.push("ops-secret".to_owned());
    secrets.push(admin.token.clone().unwrap());
    let created = admin
        .post(
            "/admin/clients",
            json!({"client_id": "made", "grant_types": ["client_credentials"], "scope": "invoices:read"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    secrets.push(text(&created.json, "client_secret"));
    let rotated_secret = admin.post("/admin/clients/made/secret", json!({})).await;
    secrets.push(text(&rotated_secret.json, "client_secret"));
    let user = admin
        .post(
            "/admin/users",
            json!({"username": "made-user", "password": "first-admin-password"}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.json);
    secrets.push("first-admin-password".to_owned());
    let path = format!("/admin/users/{}/password", text(&user.json, "id"));
    let changed = admin
        .put(&path, json!({"password": "second-admin-password"}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.json);
    secrets.push("second-admin-password".to_owned());

    // Logout with the ID token as hint.
    secrets.extend(browser.cookie_values());
    let logout = format!(
        "{}?id_token_hint={}",
        server.at("/logout"),
        text(&tokens.json, "id_token")
    );
    browser.get(&logout).await;
    secrets.extend(
        browser
            .cookie_values()
            .into_iter()
            .filter(|v| !v.is_empty()),
    );
    secrets
}

#[test]
fn no_secret_reaches_the_logs_at_debug() {
    let captured = Captured::default();
    let settings = LogSettings {
        format: "json".into(),
        level: "debug".into(),
    };
    let guard = tracing::subscriber::set_default(ferrid::telemetry::subscriber(
        &settings,
        captured.clone(),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut secrets = Vec::new();
    for backend in [Backend::Memory, Backend::Redis] {
        secrets.extend(runtime.block_on(exercise(backend)));
    }
    drop(runtime);
    drop(guard);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The run was logged, at debug, errors included: the check below looks at real lines.
    assert!(logs.lines().count() > 40, "{logs}");
    for expected in [
        "\"level\":\"DEBUG\"",
        "token request rejected",
        "\"event\":\"token_issued\"",
        "\"event\":\"refresh_reuse_detected\"",
        "\"event\":\"client_secret_rotated\"",
        "\"event\":\"user_password_set\"",
    ] {
        assert!(
            logs.contains(expected),
            "no {expected} in the logs:\n{logs}"
        );
    }
    let secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 8).collect();
    assert!(secrets.len() > 30, "{secrets:?}");
    for secret in &secrets {
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("a secret reached the logs: {secret:?} in\n{line}");
        }
    }
}
