//! The audit trail of dynamic registration: minting an initial access token names the
//! administrator; a registration, a replacement and a deletion each write one line with
//! `actor` `registration` and the client; a call with another client's registration access
//! token writes a warning. No line carries a secret or a token.
//!
//! The subscriber is this thread's default and the runtime runs on this thread only, so every
//! line the server writes is captured, and no other test's.

use ferrid::config::{LogSettings, RegistrationMode};
use serde_json::{json, Value};

use crate::common::admin::Admin;
use crate::common::logs::Captured;
use crate::common::{http, Backend, Reply};
use crate::registration::{register, start, web_app};

/// The audit lines written since the last call, by event name, which must be `expected`.
fn expect(captured: &Captured, read: &mut usize, expected: &[&str]) -> Vec<Value> {
    let bytes = captured.0.lock().unwrap();
    let text = String::from_utf8(bytes[*read..].to_vec()).unwrap();
    *read = bytes.len();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["target"] == "ferrid::audit")
        .collect();
    let names: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(names, expected, "{lines:#?}");
    lines
}

async fn send(method: &str, uri: &str, token: &str, body: Option<Value>) -> Reply {
    let method = oauth2::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http().request(method, uri).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    Reply::from(request.send().await.unwrap()).await
}

async fn registration_changes_are_audited(captured: &Captured) {
    let mut read = 0;
    let server = start(Backend::Memory, RegistrationMode::InitialAccessToken, None).await;
    expect(captured, &mut read, &[]);
    let admin = Admin::new(&server).await;
    let minted = admin
        .post("/admin/registration-tokens", json!({ "expires_in": 60 }))
        .await;
    let lines = expect(
        captured,
        &mut read,
        &["token_issued", "registration_token_created"],
    );
    assert_eq!(lines[1]["actor"], "admin_api");
    assert_eq!(lines[1]["actor_client_id"], "ops");
    let initial = minted.json["initial_access_token"].as_str().unwrap();

    let a = register(&server, Some(initial), &web_app()).await.json;
    let b = register(&server, Some(initial), &web_app()).await.json;
    let lines = expect(
        captured,
        &mut read,
        &["client_registered", "client_registered"],
    );
    assert_eq!(lines[0]["actor"], "registration");
    assert_eq!(lines[0]["reason"], "initial_access_token");
    assert_eq!(lines[0]["client_id"], a["client_id"]);

    let a_uri = a["registration_client_uri"].as_str().unwrap();
    let a_token = a["registration_access_token"].as_str().unwrap();
    let b_token = b["registration_access_token"].as_str().unwrap();
    assert_eq!(send("GET", a_uri, b_token, None).await.status, 401);
    let line = expect(captured, &mut read, &["registration_token_rejected"]).remove(0);
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["client_id"], a["client_id"]);

    // Reading is not a change.
    assert_eq!(send("GET", a_uri, a_token, None).await.status, 200);
    expect(captured, &mut read, &[]);

    let mut body = web_app();
    body["client_id"] = a["client_id"].clone();
    let replaced = send("PUT", a_uri, a_token, Some(body)).await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    let line = expect(captured, &mut read, &["client_registration_replaced"]).remove(0);
    assert_eq!(line["actor"], "registration");
    let new_token = replaced.json["registration_access_token"].as_str().unwrap();
    assert_eq!(send("DELETE", a_uri, new_token, None).await.status, 204);
    expect(captured, &mut read, &["client_registration_deleted"]);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for secret in [initial, a_token, b_token, new_token] {
        assert!(!text.contains(secret), "a token was logged");
    }
    assert!(!text.contains(a["client_secret"].as_str().unwrap()));
}

#[test]
fn registration_changes_write_one_audit_line_each() {
    let captured = Captured::default();
    let settings = LogSettings {
        format: "json".into(),
        level: "info".into(),
    };
    let guard = tracing::subscriber::set_default(ferrid::telemetry::subscriber(
        &settings,
        captured.clone(),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(registration_changes_are_audited(&captured));
    drop(runtime);
    drop(guard);
}
