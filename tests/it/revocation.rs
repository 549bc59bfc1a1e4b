//! Revocation (RFC 7009) and introspection (RFC 7662) of access and refresh tokens, on both
//! stores.

use crate::common::browser::Browser;
use crate::common::grants::{grant, introspect, refresh, revoke, server, text};
use crate::common::{http, post_token, service_client, Backend, Reply, TestServer};

async fn revocation_of_each_token_type_shows_at_introspection(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let tokens = grant(&server, &browser, "app", "openid offline_access").await;
    let access = text(&tokens, "access_token");
    let refresh_token = text(&tokens, "refresh_token");

    // Another client cannot revoke them; unknown tokens are fine too.
    revoke(&server, "other", &access, None).await;
    revoke(&server, "other", &refresh_token, Some("refresh_token")).await;
    revoke(&server, "app", "not-a-token", None).await;
    assert_eq!(introspect(&server, "app", &access).await["active"], true);

    revoke(&server, "app", &access, Some("access_token")).await;
    assert_eq!(
        introspect(&server, "app", &access).await,
        serde_json::json!({"active": false})
    );
    let userinfo = http()
        .get(server.at("/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);

    let second = grant(&server, &browser, "app", "openid offline_access").await;
    let (second_access, second_refresh) = (
        text(&second, "access_token"),
        text(&second, "refresh_token"),
    );
    assert_eq!(
        introspect(&server, "app", &second_refresh).await["active"],
        true
    );
    // A wrong hint is not trusted.
    revoke(&server, "app", &second_refresh, Some("access_token")).await;
    assert_eq!(
        introspect(&server, "app", &second_refresh).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&server, "app", &second_access).await["active"],
        false,
        "the family's access tokens go with it"
    );
    refresh(&server, "app", &second_refresh, None)
        .await
        .assert_error(400, "invalid_grant");
}

async fn introspection_describes_active_tokens_and_requires_client_auth(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(
        &server,
        &Browser::new(),
        "app",
        "openid profile offline_access",
    )
    .await;
    let access = text(&tokens, "access_token");
    let anonymous = Reply::from(
        http()
            .post(server.at("/introspect"))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    anonymous.assert_error(401, "invalid_client");
    let wrong = Reply::from(
        http()
            .post(server.at("/introspect"))
            .basic_auth("app", Some("nope"))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    wrong.assert_error(401, "invalid_client");

    let active = introspect(&server, "app", &access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "app");
    assert_eq!(active["scope"], "openid profile offline_access");
    assert_eq!(active["iss"], server.url.as_str());
    assert_eq!(active["token_type"], "access_token");
    for member in ["sub", "aud", "exp", "iat"] {
        assert!(!active[member].is_null(), "{member} in {active}");
    }
    let refresh_info = introspect(&server, "app", &text(&tokens, "refresh_token")).await;
    assert_eq!(refresh_info["token_type"], "refresh_token");
    assert_eq!(refresh_info["sub"], active["sub"]);
    for garbage in ["garbage", "a.b.c", &format!("{access}x")] {
        assert_eq!(
            introspect(&server, "app", garbage).await,
            serde_json::json!({"active": false})
        );
    }
}

/// Introspection tells what a token stands for only to its own client, to a resource server its
/// `aud` names, and to a trusted resource server (`introspect_any_token`); to any other
/// authenticated client, an active token is simply `{"active": false}`.
async fn introspection_discloses_a_token_only_to_those_it_concerns(backend: Backend) {
    let mut issuer = service_client("billing", &["invoices:read"]);
    issuer.audiences = vec!["invoices-api".into()];
    let mut gateway = service_client("gateway", &[]);
    gateway.introspect_any_token = true;
    let clients = vec![
        issuer,
        service_client("invoices-api", &[]),
        service_client("stranger", &[]),
        gateway,
    ];
    let server = TestServer::start(backend, clients).await;
    let reply = post_token(
        &server,
        Some(("billing", "billing-secret")),
        &[
            ("grant_type", "client_credentials"),
            ("resource", "invoices-api"),
        ],
    )
    .await;
    let token = text(&reply.json, "access_token");
    for (client, active) in [
        ("billing", true),
        ("invoices-api", true),
        ("gateway", true),
        ("stranger", false),
    ] {
        let answer = introspect(&server, client, &token).await;
        if active {
            assert_eq!(answer["active"], true, "{client}: {answer}");
            assert_eq!(answer["client_id"], "billing");
        } else {
            assert_eq!(answer, serde_json::json!({"active": false}), "{client}");
        }
    }
}

for_each_backend!(
    introspection_discloses_a_token_only_to_those_it_concerns,
    revocation_of_each_token_type_shows_at_introspection,
    introspection_describes_active_tokens_and_requires_client_auth,
);

on_cluster!(
    introspection_discloses_a_token_only_to_those_it_concerns,
    revocation_of_each_token_type_shows_at_introspection,
    introspection_describes_active_tokens_and_requires_client_auth,
);
