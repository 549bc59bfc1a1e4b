//! Client registration management (RFC 7592) from outside: the registration access token reads,
//! replaces (and is replaced by) and deletes its own client, and nothing else — a wrong token,
//! another client's token, the token from before a replacement, or any token on a client the
//! config or the admin API created is the same 401. A deleted registration's client can no
//! longer get tokens, and its refresh tokens are revoked.

use serde_json::{json, Value};

use crate::common::admin::{Admin, OPS};
use crate::common::browser::{callback, consent, log_in, Browser, CALLBACK};
use crate::common::grants::{CHALLENGE, VERIFIER};
use crate::common::{http, post_token, Backend, Reply};
use crate::registration::{assert_refused, register, start, web_app};
use ferrid::config::RegistrationMode;

/// Sends `method` to the registration client URI `uri` with `token`.
async fn manage(method: &str, uri: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
    let method = oauth2::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http().request(method, uri);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    Reply::from(request.send().await.unwrap()).await
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

fn assert_rejected(reply: &Reply) {
    assert_refused(reply, 401, "invalid_token");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.starts_with("Bearer realm=\"ferrid\"")),
        "{:?}",
        reply.header("www-authenticate")
    );
}

async fn the_registration_access_token_manages_its_own_client_only(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let a = register(&server, None, &web_app()).await.json;
    let b = register(&server, None, &web_app()).await.json;
    let (a_uri, a_token) = (
        text(&a, "registration_client_uri"),
        text(&a, "registration_access_token"),
    );
    let (b_uri, b_token) = (
        text(&b, "registration_client_uri"),
        text(&b, "registration_access_token"),
    );

    let read = manage("GET", &a_uri, Some(&a_token), None).await;
    assert_eq!(read.status, 200, "{}", read.json);
    assert_eq!(read.json["client_id"], a["client_id"]);
    assert_eq!(read.json["scope"], "openid profile offline_access");
    assert_eq!(read.header("cache-control"), Some("no-store"));
    // Secrets are shown once, at registration.
    assert!(read.json.get("client_secret").is_none());
    assert!(read.json.get("registration_access_token").is_none());

    // No token, a made-up one, B's token on A's URI, A's token on B's URI.
    let missing = manage("GET", &a_uri, None, None).await;
    assert_rejected(&missing);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"ferrid\"")
    );
    for (uri, token) in [
        (&a_uri, "made-up-token"),
        (&a_uri, b_token.as_str()),
        (&b_uri, a_token.as_str()),
    ] {
        for method in ["GET", "PUT", "DELETE"] {
            let mut body = web_app();
            body["client_id"] = json!(uri.rsplit('/').next().unwrap());
            let reply = manage(method, uri, Some(token), Some(&body)).await;
            assert_rejected(&reply);
        }
    }
    // Both registrations are intact.
    assert_eq!(
        manage("GET", &a_uri, Some(&a_token), None).await.status,
        200
    );
    assert_eq!(
        manage("GET", &b_uri, Some(&b_token), None).await.status,
        200
    );

    // An unknown client answers exactly like a wrong token: the URI tells nothing.
    let unknown = manage("GET", &server.at("/register/nobody"), Some(&a_token), None).await;
    assert_rejected(&unknown);
    let wrong = manage("GET", &a_uri, Some(&b_token), None).await;
    assert_eq!(unknown.json, wrong.json);
}

async fn a_replacement_rotates_the_token(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let registered = register(&server, None, &web_app()).await.json;
    let uri = text(&registered, "registration_client_uri");
    let old = text(&registered, "registration_access_token");
    let client_id = text(&registered, "client_id");
    let secret = text(&registered, "client_secret");

    let mut replacement = web_app();
    replacement["client_id"] = json!(client_id);
    replacement["client_name"] = json!("Photos 2");
    replacement["scope"] = json!("openid");
    let replaced = manage("PUT", &uri, Some(&old), Some(&replacement)).await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    assert_eq!(replaced.json["client_name"], "Photos 2");
    assert_eq!(replaced.json["scope"], "openid");
    assert_eq!(
        replaced.json["client_id_issued_at"],
        registered["client_id_issued_at"]
    );
    let new = text(&replaced.json, "registration_access_token");
    assert!(!new.is_empty() && new != old);
    // The secret is kept: the client still authenticates with it.
    assert!(replaced.json.get("client_secret").is_none());
    let grant = post_token(
        &server,
        Some((&client_id, &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    grant.assert_error(400, "invalid_grant");

    // The token from before the rotation is dead, for every method.
    for method in ["GET", "PUT", "DELETE"] {
        assert_rejected(&manage(method, &uri, Some(&old), Some(&replacement)).await);
    }
    assert_eq!(manage("GET", &uri, Some(&new), None).await.status, 200);

    // A replacement must name the client, and may only name its own secret.
    let mut other_id = replacement.clone();
    other_id["client_id"] = json!("someone-else");
    let mut wrong_secret = replacement.clone();
    wrong_secret["client_secret"] = json!("not-the-secret");
    let mut privileged = replacement.clone();
    privileged["skip_consent"] = json!(true);
    for (body, field) in [
        (web_app(), "client_id:"),
        (other_id, "client_id:"),
        (wrong_secret, "client_secret:"),
        (privileged, "skip_consent:"),
    ] {
        let reply = manage("PUT", &uri, Some(&new), Some(&body)).await;
        assert_refused(&reply, 400, "invalid_client_metadata");
        let description = reply.json["error_description"].as_str().unwrap();
        assert!(description.starts_with(field), "{description}");
    }
    // Refused replacements rotate nothing.
    assert_eq!(manage("GET", &uri, Some(&new), None).await.status, 200);
}

async fn clients_from_the_config_or_the_admin_api_cannot_be_managed_here(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let registered = register(&server, None, &web_app()).await.json;
    let token = text(&registered, "registration_access_token");
    let admin = Admin::new(&server).await;
    let created = admin
        .post(
            "/admin/clients",
            json!({ "client_id": "by-admin", "redirect_uris": [CALLBACK] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    for id in [OPS, "by-admin"] {
        let uri = server.at(&format!("/register/{id}"));
        for candidate in [
            token.as_str(),
            admin.token.as_deref().unwrap(),
            "ops-secret",
        ] {
            assert_rejected(&manage("GET", &uri, Some(candidate), None).await);
            assert_rejected(&manage("DELETE", &uri, Some(candidate), None).await);
        }
    }
    assert_eq!(admin.get("/admin/clients/by-admin").await.status, 200);

    // The admin API may replace a registered client; it stays manageable with its token.
    let id = text(&registered, "client_id");
    let replaced = admin
        .put(
            &format!("/admin/clients/{id}"),
            json!({ "redirect_uris": [CALLBACK] }),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    let uri = text(&registered, "registration_client_uri");
    assert_eq!(manage("GET", &uri, Some(&token), None).await.status, 200);
}

async fn a_deleted_registration_gets_no_more_tokens(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let registered = register(&server, None, &web_app()).await.json;
    let client_id = text(&registered, "client_id");
    let secret = text(&registered, "client_secret");
    let uri = text(&registered, "registration_client_uri");
    let token = text(&registered, "registration_access_token");

    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = log_in(&server, &browser, browser.get(&url).await, "wonderland").await;
    let params = callback(&consent(&server, &browser, page, "allow").await);
    let tokens = post_token(
        &server,
        Some((&client_id, &secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", params["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refresh_token = text(&tokens.json, "refresh_token");

    let deleted = manage("DELETE", &uri, Some(&token), None).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.header("cache-control"), Some("no-store"));

    let refresh = post_token(
        &server,
        Some((&client_id, &secret)),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
        ],
    )
    .await;
    refresh.assert_error(401, "invalid_client");
    // Its refresh family is revoked, with the access tokens it issued.
    let access_token = text(&tokens.json, "access_token");
    let userinfo = Reply::from(
        http()
            .get(server.at("/userinfo"))
            .bearer_auth(&access_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(userinfo.status, 401, "{}", userinfo.json);
    assert_rejected(&manage("GET", &uri, Some(&token), None).await);
    assert_rejected(&manage("DELETE", &uri, Some(&token), None).await);
}

for_each_backend!(
    the_registration_access_token_manages_its_own_client_only,
    a_replacement_rotates_the_token,
    clients_from_the_config_or_the_admin_api_cannot_be_managed_here,
    a_deleted_registration_gets_no_more_tokens,
);
