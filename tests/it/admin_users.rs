//! The admin API's users and keys, from outside: creation, conflicts, the config's ownership,
//! sessions listed and ended, a new password ending every session, deletion ending everything.

use serde_json::json;

use crate::common::admin::{assert_admin_error, code_grant, log_in_as, server, Admin, OPS};
use crate::common::browser::{Browser, CALLBACK};
use crate::common::grants::app_client;
use crate::common::Backend;

async fn users_are_managed_and_a_new_password_ends_their_sessions(backend: Backend) {
    let server = server(backend, vec![app_client("app")]).await;
    let admin = Admin::new(&server).await;
    let created = admin
        .post(
            "/admin/users",
            json!({"username": "carol", "password": "first passphrase", "name": "Carol", "email": "carol@example.com", "roles": ["editor"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert!(created.json.get("password").is_none() && created.json.get("password_hash").is_none());
    assert!(!created.json.to_string().contains("argon2"));
    let id = created.json["id"].as_str().unwrap().to_owned();
    let taken = admin
        .post(
            "/admin/users",
            json!({"username": "carol", "password": "x"}),
        )
        .await;
    assert_admin_error(&taken, 409, "conflict");
    let alice_taken = admin
        .post(
            "/admin/users",
            json!({"username": "alice", "password": "x"}),
        )
        .await;
    assert_admin_error(&alice_taken, 409, "conflict");
    let empty = admin
        .post("/admin/users", json!({"username": "dave", "password": ""}))
        .await;
    assert_admin_error(&empty, 400, "invalid_request");

    // Carol logs in twice (two browsers).
    let (first, second) = (Browser::new(), Browser::new());
    for browser in [&first, &second] {
        let tokens = code_grant(
            &server,
            browser,
            ("app", "app-secret"),
            "carol",
            "first passphrase",
        )
        .await;
        assert_eq!(tokens.status, 200, "{}", tokens.json);
    }
    let sessions = admin.get(&format!("/admin/users/{id}/sessions")).await;
    assert_eq!(sessions.status, 200, "{}", sessions.json);
    assert_eq!(sessions.json.as_array().unwrap().len(), 2);
    assert!(sessions.json[0]["clients"]
        .as_array()
        .unwrap()
        .contains(&json!("app")));

    let changed = admin
        .put(
            &format!("/admin/users/{id}/password"),
            json!({"password": "second passphrase"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.json);
    assert_eq!(changed.json["sessions_ended"], 2);
    let sessions = admin.get(&format!("/admin/users/{id}/sessions")).await;
    assert_eq!(sessions.json, json!([]));
    // Both browsers must log in again, and only the new password works.
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={}&code_challenge_method=S256",
        server.at("/authorize"),
        crate::common::grants::CHALLENGE
    );
    let page = first.get(&url).await;
    assert!(
        page.location.as_deref().unwrap().starts_with("/login"),
        "{:?}",
        page.location
    );
    let refused = log_in_as(&server, &first, &page, "carol", "first passphrase").await;
    assert_eq!(refused.status, 200, "the login page again");
    let tokens = code_grant(
        &server,
        &second,
        ("app", "app-secret"),
        "carol",
        "second passphrase",
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);

    let renamed = admin
        .put(
            &format!("/admin/users/{id}"),
            json!({"username": "caroline", "roles": []}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.json);
    assert_eq!(renamed.json["username"], "caroline");
    assert!(renamed.json.get("email").is_none());
    let clash = admin
        .put(&format!("/admin/users/{id}"), json!({"username": "alice"}))
        .await;
    assert_admin_error(&clash, 409, "conflict");

    let listed = admin.get("/admin/users?limit=1").await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1);
    let next = listed.json["next"].as_str().unwrap();
    let rest = admin.get(&format!("/admin/users?after={next}")).await;
    assert_eq!(rest.json["items"].as_array().unwrap().len(), 1);
    assert!(rest.json.get("next").is_none());
}

async fn deleting_a_user_ends_their_sessions_and_refresh_tokens(backend: Backend) {
    let server = server(backend, vec![app_client("app")]).await;
    let admin = Admin::new(&server).await;
    let created = admin
        .post(
            "/admin/users",
            json!({"username": "erin", "password": "erin passphrase"}),
        )
        .await;
    let id = created.json["id"].as_str().unwrap().to_owned();
    let browser = Browser::new();
    let tokens = code_grant(
        &server,
        &browser,
        ("app", "app-secret"),
        "erin",
        "erin passphrase",
    )
    .await;
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap().to_owned();
    let deleted = admin.delete(&format!("/admin/users/{id}")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.json);
    assert_eq!(deleted.json["sessions_ended"], 1);
    assert_eq!(deleted.json["refresh_families_revoked"], 1);
    let refreshed = crate::common::grants::refresh(&server, "app", &refresh_token, None).await;
    refreshed.assert_error(400, "invalid_grant");
    assert_admin_error(
        &admin.get(&format!("/admin/users/{id}")).await,
        404,
        "not_found",
    );
    // The config's own user cannot be changed here.
    let listed = admin.get("/admin/users").await;
    let alice = &listed.json["items"][0];
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["from_config"], true);
    let alice_id = alice["id"].as_str().unwrap();
    for reply in [
        admin.delete(&format!("/admin/users/{alice_id}")).await,
        admin
            .put(
                &format!("/admin/users/{alice_id}"),
                json!({"username": "alicia"}),
            )
            .await,
        admin
            .put(
                &format!("/admin/users/{alice_id}/password"),
                json!({"password": "new one"}),
            )
            .await,
    ] {
        assert_admin_error(&reply, 409, "conflict");
    }
    // Ending someone's sessions needs no ownership: logging alice out everywhere is allowed.
    let ended = admin
        .delete(&format!("/admin/users/{alice_id}/sessions"))
        .await;
    assert_eq!(ended.status, 200, "{}", ended.json);
}

async fn keys_are_listed_and_rotated(backend: Backend) {
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let listed = admin.get("/admin/keys").await;
    assert_eq!(listed.status, 200, "{}", listed.json);
    let keys = listed.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["state"], "active");
    assert!(!listed.json.to_string().contains("pkcs8"));
    let rotated = admin.post("/admin/keys", json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let keys = rotated.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let active: Vec<_> = keys.iter().filter(|k| k["state"] == "active").collect();
    assert_eq!(active.len(), 1);
    assert_ne!(active[0]["kid"], listed.json["keys"][0]["kid"]);
    // Tokens are now signed with the new key.
    let token = crate::common::admin::token(&server, OPS).await;
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), active[0]["kid"].as_str());
}

for_each_backend!(
    users_are_managed_and_a_new_password_ends_their_sessions,
    deleting_a_user_ends_their_sessions_and_refresh_tokens,
    keys_are_listed_and_rotated,
);
