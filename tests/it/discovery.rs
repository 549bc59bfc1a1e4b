//! Discovery documents and the JWKS, as clients and resource servers fetch them.

use ferrid::config::ScopeConfig;

use crate::common::{http, service_client, Backend, Options, Reply, TestServer};

async fn get(server: &TestServer, path: &str) -> Reply {
    Reply::from(http().get(server.at(path)).send().await.unwrap()).await
}

async fn both_documents_list_what_exists(backend: Backend) {
    let server = TestServer::start(backend, vec![service_client("svc", &["a", "b"])]).await;
    let oidc = get(&server, "/.well-known/openid-configuration").await;
    let oauth = get(&server, "/.well-known/oauth-authorization-server").await;
    assert_eq!(oidc.status, 200);
    assert_eq!(oidc.json, oauth.json);
    let doc = &oidc.json;
    assert_eq!(doc["issuer"], server.url.as_str());
    assert_eq!(doc["token_endpoint"], server.at("/token"));
    assert_eq!(doc["jwks_uri"], server.at("/.well-known/jwks.json"));
    assert_eq!(doc["authorization_endpoint"], server.at("/authorize"));
    assert_eq!(doc["userinfo_endpoint"], server.at("/userinfo"));
    let list = |values: &[&str]| serde_json::json!(values);
    assert_eq!(
        doc["grant_types_supported"],
        list(&["authorization_code", "client_credentials", "refresh_token"])
    );
    assert_eq!(doc["revocation_endpoint"], server.at("/revoke"));
    assert_eq!(doc["introspection_endpoint"], server.at("/introspect"));
    assert_eq!(doc["end_session_endpoint"], server.at("/logout"));
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        list(&[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        list(&[
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none"
        ])
    );
    for field in [
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
    ] {
        assert_eq!(
            doc[field],
            list(&["RS256", "PS256", "ES256", "EdDSA"]),
            "{field}"
        );
    }
    assert_eq!(doc["response_types_supported"], list(&["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], list(&["S256"]));
    assert_eq!(doc["subject_types_supported"], list(&["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        list(&["RS256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    // The scope catalog: ferrid's built-in scopes, then (no `[[scopes]]` declared) those the
    // configured clients name.
    assert_eq!(
        doc["scopes_supported"],
        list(&[
            "openid",
            "profile",
            "email",
            "offline_access",
            "roles",
            "admin",
            "a",
            "b"
        ])
    );
    for claim in [
        "sub",
        "name",
        "preferred_username",
        "email",
        "email_verified",
    ] {
        assert!(
            doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }
    assert!(oidc.header("cache-control").unwrap().starts_with("public"));

    // Every advertised URL answers (the token endpoint with a protocol error, not 404/405).
    let token = Reply::from(
        http()
            .post(doc["token_endpoint"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(token.status, 400);
    let authorize = http()
        .get(doc["authorization_endpoint"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(authorize.status(), 400, "no client_id: the error page");
    for endpoint in ["revocation_endpoint", "introspection_endpoint"] {
        let response = http()
            .post(doc[endpoint].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            matches!(response.status().as_u16(), 400 | 401),
            "{endpoint}"
        );
    }
    let logout = http()
        .get(doc["end_session_endpoint"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 200, "no session: the signed-out page");
    let userinfo = http()
        .get(doc["userinfo_endpoint"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401);
    let jwks = Reply::from(
        http()
            .get(doc["jwks_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(jwks.status, 200);
    let docs = http()
        .get(doc["service_documentation"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
}

async fn jwks_is_public_cacheable_and_revalidates(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    let reply = get(&server, "/.well-known/jwks.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("public, max-age=300"));
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let keys = reply.json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = keys[0].as_object().unwrap();
    let mut members: Vec<&str> = key.keys().map(String::as_str).collect();
    members.sort();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(key["kid"], crate::common::test_key().kid.as_str());

    let etag = reply.header("etag").unwrap().to_owned();
    let again = http()
        .get(server.at("/.well-known/jwks.json"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    let stale = http()
        .get(server.at("/.well-known/jwks.json"))
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

async fn discovery_is_cacheable_and_revalidates(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let reply = get(&server, path).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("cache-control"), Some("public, max-age=3600"));
        let etag = reply.header("etag").expect("an ETag").to_owned();
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        let again = http()
            .get(server.at(path))
            .header("if-none-match", format!("\"other\", {etag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert_eq!(again.headers()["cache-control"], "public, max-age=3600");
        let stale = http()
            .get(server.at(path))
            .header("if-none-match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200);
    }
}

async fn health_endpoints_answer(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    let live = get(&server, "/healthz").await;
    assert_eq!(
        (live.status, live.json["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = get(&server, "/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.json,
        serde_json::json!({"status": "ready", "checks": {"store": "ok", "keys": "ok"}})
    );
    assert!(ready.header("x-request-id").is_some());
}

async fn request_ids_are_echoed(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    let response = http()
        .get(server.at("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
    let response = http()
        .get(server.at("/healthz"))
        .header("x-request-id", "bad id\t!")
        .send()
        .await
        .unwrap();
    assert_ne!(response.headers()["x-request-id"], "bad id\t!");
}

async fn scopes_supported_is_the_declared_catalog(backend: Backend) {
    let options = Options::new(backend).clients(vec![service_client("svc", &["invoices:read"])]);
    let server = TestServer::start_with(options, |settings| {
        settings.scopes = vec![ScopeConfig {
            name: "invoices:read".into(),
            description: Some("Read invoices".into()),
        }];
    })
    .await;
    let doc = get(&server, "/.well-known/openid-configuration").await.json;
    let scopes = doc["scopes_supported"].as_array().unwrap();
    assert_eq!(scopes.len(), 7, "{scopes:?}");
    assert_eq!(scopes[6], "invoices:read");
}

for_each_backend!(
    both_documents_list_what_exists,
    scopes_supported_is_the_declared_catalog,
    jwks_is_public_cacheable_and_revalidates,
    discovery_is_cacheable_and_revalidates,
    health_endpoints_answer,
    request_ids_are_echoed,
);
