//! The authorization code flow as third-party apps and people drive it: the `oauth2` crate as the
//! client app, a small cookie-keeping form driver as the browser, `jsonwebtoken` and the served
//! JWKS as the resource server — on both stores.

use crate::common::browser::{callback, consent, log_in, Browser, CALLBACK};
use crate::common::code_flow::*;
use crate::common::{http, Backend, Reply};
use jsonwebtoken::{Algorithm, Validation};
use oauth2::{PkceCodeVerifier, TokenResponse};
use serde_json::Value;

async fn confidential_client_full_flow(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (start, params) = authorize(
        &server,
        &browser,
        &client,
        &["openid", "profile", "email", "roles"],
    )
    .await;
    assert_eq!(params["state"], start.state);
    assert_eq!(params["iss"], server.url);

    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    assert_eq!(tokens.scopes().unwrap().len(), 4);
    let access = tokens.access_token().secret();
    let id_token = tokens
        .extra_fields()
        .id_token
        .clone()
        .expect("an ID token for openid");
    let claims = verify_id_token(&server, &id_token, "webapp").await;
    let user = ferrid::users::find(server.ctx.store(), "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_ne!(
        claims["sub"], "alice",
        "sub is the stable id, not the username"
    );
    assert_eq!(claims["azp"], "webapp");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        claims["at_hash"],
        ferrid::oidc::id_token::at_hash(access).as_str()
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["auth_time"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap());
    assert!(claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()));

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[&server.url]);
    let access_claims =
        jsonwebtoken::decode::<Value>(access, &jwks_key(&server, access).await, &validation)
            .unwrap()
            .claims;
    assert_eq!(
        jsonwebtoken::decode_header(access).unwrap().typ.as_deref(),
        Some("at+jwt")
    );
    assert_eq!(access_claims["sub"], user.id.as_str());
    assert_eq!(access_claims["client_id"], "webapp");
    assert_eq!(access_claims["roles"], serde_json::json!(["admin"]));

    let info = userinfo(&server, access).await;
    assert_eq!(info.status, 200, "{}", info.json);
    assert_eq!(info.json["sub"], user.id.as_str());
    assert_eq!(info.json["preferred_username"], "alice");
    assert_eq!(info.json["name"], "Alice Liddell");
    assert_eq!(info.json["email"], "alice@example.com");
    assert_eq!(info.json["roles"], serde_json::json!(["admin"]));
    let posted = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(posted.json, info.json);
}

async fn public_client_full_flow_with_pkce(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "spa", None);
    let (start, params) = authorize(&server, &browser, &client, &["openid", "email"]).await;
    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    let claims = verify_id_token(
        &server,
        tokens.extra_fields().id_token.as_ref().unwrap(),
        "spa",
    )
    .await;
    assert_eq!(claims["aud"], "spa");
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(info.json["email"], "alice@example.com");
    assert!(info.json.get("name").is_none(), "profile was not granted");
}

async fn a_logged_in_person_is_not_asked_again(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    authorize(
        &server,
        &browser,
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
    )
    .await;

    // SSO: another client (first-party, no consent) gets a code without a login page.
    let portal = oauth_client(&server, "portal", Some("portal-secret"));
    let start_portal = start(&portal, &["openid"], "n2", &[]);
    let params = callback(&browser.get(&start_portal.url).await);
    assert_eq!(params["state"], start_portal.state);
    exchange(&portal, &params["code"], start_portal.verifier)
        .await
        .unwrap();

    // Remembered consent: the same client and scopes go straight back with a code.
    let webapp = oauth_client(&server, "webapp", Some("webapp-secret"));
    let again = start(&webapp, &["openid"], "n3", &[]);
    assert!(callback(&browser.get(&again.url).await).contains_key("code"));

    // A new scope needs consent; prompt=login needs a login despite the session.
    let wider = browser
        .get(&start(&webapp, &["openid", "email"], "n4", &[]).url)
        .await;
    assert!(wider.location.unwrap().starts_with("/consent?"));
    let forced = browser
        .get(&start(&webapp, &["openid"], "n5", &[("prompt", "login")]).url)
        .await;
    assert!(forced.location.clone().unwrap().starts_with("/login?"));
    let params = callback(&log_in(&server, &browser, forced, "wonderland").await);
    assert!(params.contains_key("code"));
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let server = server(backend).await;
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let start = start(&client, &["openid"], "n", &[("prompt", "none")]);
    let params = callback(&Browser::new().get(&start.url).await);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], start.state);
    assert_eq!(params["iss"], server.url);
}

async fn prompt_none_without_consent_is_consent_required(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    authorize(
        &server,
        &browser,
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
    )
    .await;
    let spa = oauth_client(&server, "spa", None);
    let params = callback(
        &browser
            .get(&start(&spa, &["openid"], "n", &[("prompt", "none")]).url)
            .await,
    );
    assert_eq!(params["error"], "consent_required");
}

async fn denying_consent_is_access_denied(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let start = start(&client, &["openid"], "n", &[]);
    let page = log_in(
        &server,
        &browser,
        browser.get(&start.url).await,
        "wonderland",
    )
    .await;
    let params = callback(&consent(&server, &browser, page, "deny").await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], start.state);
}

async fn a_replayed_code_fails_and_revokes_its_tokens(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (start, params) = authorize(&server, &browser, &client, &["openid", "profile"]).await;
    let verifier = start.verifier.secret().clone();
    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    assert_eq!(
        userinfo(&server, tokens.access_token().secret())
            .await
            .status,
        200
    );

    let replay = exchange(&client, &params["code"], PkceCodeVerifier::new(verifier))
        .await
        .unwrap_err();
    assert_eq!(replay, "invalid_grant");
    let revoked = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(revoked.status, 401);
    assert!(revoked
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
}

async fn pkce_is_enforced(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (_, params) = authorize(&server, &browser, &client, &["openid"]).await;
    let wrong = PkceCodeVerifier::new("a".repeat(43));
    assert_eq!(
        exchange(&client, &params["code"], wrong).await.unwrap_err(),
        "invalid_grant"
    );

    // plain is refused at /authorize, and public clients must send a challenge.
    let spa = oauth_client(&server, "spa", None);
    let plain = start(&spa, &["openid"], "n", &[])
        .url
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let params = callback(&browser.get(&plain).await);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("plain"));
    let url = format!(
        "{}?response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=s1",
        server.at("/authorize"),
        CALLBACK
    );
    let params = callback(&browser.get(&url).await);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("PKCE"));
    assert_eq!(params["state"], "s1");
}

for_each_backend!(
    confidential_client_full_flow,
    public_client_full_flow_with_pkce,
    a_logged_in_person_is_not_asked_again,
    prompt_none_without_a_session_is_login_required,
    prompt_none_without_consent_is_consent_required,
    denying_consent_is_access_denied,
    a_replayed_code_fails_and_revokes_its_tokens,
    pkce_is_enforced,
);

on_cluster!(
    confidential_client_full_flow,
    public_client_full_flow_with_pkce,
    a_replayed_code_fails_and_revokes_its_tokens,
);
