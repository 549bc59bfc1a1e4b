//! Audience injection (OpenID Foundation advisory, 2025) from the attacker's side: another
//! authorization server that a client also uses advertises ferrid's `/token` or `/par` URL as
//! its own endpoint, receives the assertion the client signs for it, and replays it once at
//! ferrid. By default only the issuer is an accepted `aud`, alone; with
//! `private_key_jwt.accept_endpoint_audience` a plain client may name the endpoint URL (still
//! alone), a `fapi2` client never.

use ferrid::config::{ClientConfig, Settings};
use serde_json::{json, Value};

use super::{assert_refused, pkjwt_client, post_assertion};
use crate::common::browser::CALLBACK;
use crate::common::client_keys::{self, claims, ClientKey};
use crate::common::grants::CHALLENGE;
use crate::common::{Backend, Options, Reply, TestServer};

const MUST_BE_ISSUER: &str = "client assertion audience must be exactly the issuer";

/// A `private_key_jwt` client that may push authorization requests, under `profile`.
fn web_client(id: &str, key: &ClientKey, profile: Option<&str>) -> ClientConfig {
    ClientConfig {
        grant_types: vec!["client_credentials".into(), "authorization_code".into()],
        redirect_uris: vec![CALLBACK.into()],
        scopes: vec!["openid".into()],
        profile: profile.map(String::from),
        ..pkjwt_client(id, Some(client_keys::jwks(&[key])), None)
    }
}

async fn server(backend: Backend, key: &ClientKey, accept_endpoint_audience: bool) -> TestServer {
    let clients = vec![
        web_client("plain", key, None),
        web_client("bank", key, Some("fapi2")),
    ];
    TestServer::start_with(
        Options::new(backend).clients(clients),
        |settings: &mut Settings| {
            settings.private_key_jwt.accept_endpoint_audience = accept_endpoint_audience
        },
    )
    .await
}

/// `client`'s assertion with `aud`, sent to `path` with that endpoint's usual form.
async fn send(server: &TestServer, key: &ClientKey, client: &str, path: &str, aud: Value) -> Reply {
    let mut claims = claims(client, &server.url);
    claims["aud"] = aud;
    let form: &[(&str, &str)] = if path == "/par" {
        &[
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    } else {
        &[("grant_type", "client_credentials")]
    };
    post_assertion(server, path, &key.assertion_with(&claims), form).await
}

async fn injected_audiences_are_refused_by_default(backend: Backend) {
    let key = ClientKey::es256(Some("k1"));
    let server = server(backend, &key, false).await;
    // What the other server received: an assertion for ferrid's endpoint URL, or naming ferrid
    // beside itself. Each is new to ferrid (fresh jti), so only the audience can stop it.
    for (path, aud) in [
        ("/token", json!(server.at("/token"))),
        ("/par", json!(server.at("/par"))),
        ("/token", json!(server.at("/par"))),
        ("/token", json!([server.url, "https://evil.example"])),
        ("/par", json!([server.url, "https://evil.example"])),
    ] {
        for client in ["plain", "bank"] {
            let reply = send(&server, &key, client, path, aud.clone()).await;
            assert_refused(&reply, 401, "invalid_client", MUST_BE_ISSUER);
        }
    }
    let reply = send(
        &server,
        &key,
        "plain",
        "/token",
        json!(["https://evil.example", server.url]),
    )
    .await;
    assert_refused(&reply, 401, "invalid_client", "it has 2 values");
    // The issuer, as a string or an array of one, is the audience.
    let reply = send(&server, &key, "plain", "/token", json!(server.url)).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    let reply = send(&server, &key, "plain", "/par", json!([server.url])).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
}

async fn the_compatibility_switch_accepts_endpoint_urls_but_never_for_fapi2(backend: Backend) {
    let key = ClientKey::es256(Some("k1"));
    let server = server(backend, &key, true).await;
    let (token_url, par_url) = (server.at("/token"), server.at("/par"));
    // A plain client's legacy library: the endpoint called, or the token endpoint for all.
    for (path, aud, status) in [
        ("/token", json!(token_url), 200),
        ("/par", json!(par_url), 201),
        ("/par", json!([token_url]), 201),
        ("/token", json!(server.url), 200),
    ] {
        let reply = send(&server, &key, "plain", path, aud.clone()).await;
        assert_eq!(reply.status, status, "{path} {aud}: {}", reply.json);
    }
    // Still one value, and only ferrid's own endpoints.
    for (path, aud) in [
        ("/token", json!([token_url, "https://evil.example"])),
        ("/token", json!(par_url)),
        ("/token", json!(server.at("/revoke"))),
    ] {
        let reply = send(&server, &key, "plain", path, aud).await;
        assert_refused(&reply, 401, "invalid_client", MUST_BE_ISSUER);
    }
    // A FAPI 2.0 client needs the issuer alone, switch or not.
    for (path, aud) in [("/par", json!(par_url)), ("/par", json!(token_url))] {
        let reply = send(&server, &key, "bank", path, aud).await;
        assert_refused(&reply, 401, "invalid_client", MUST_BE_ISSUER);
        let description = reply.json["error_description"].as_str().unwrap_or_default();
        assert!(
            !description.contains("accept_endpoint_audience"),
            "{description}"
        );
    }
    let reply = send(&server, &key, "bank", "/par", json!(server.url)).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
}

for_each_backend!(
    injected_audiences_are_refused_by_default,
    the_compatibility_switch_accepts_endpoint_urls_but_never_for_fapi2,
);
