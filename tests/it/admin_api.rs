//! The admin API's clients, from outside: who may call it, what it refuses (from an attacker's
//! side), pagination, the config's ownership, and what deleting a client ends.

use serde_json::json;

use crate::common::admin::{assert_admin_error, code_grant, log_in_as, server, token, Admin, OPS};
use crate::common::browser::{Browser, CALLBACK};
use crate::common::{http, post_token, Backend, Reply, TestServer};

async fn bearer(server: &TestServer, header: Option<&str>) -> Reply {
    let mut request = http().get(server.at("/admin/clients"));
    if let Some(header) = header {
        request = request.header("authorization", header);
    }
    Reply::from(request.send().await.unwrap()).await
}

async fn only_admin_tokens_of_this_ferrid_get_in(backend: Backend) {
    let server = server(backend, vec![]).await;
    let missing = bearer(&server, None).await;
    assert_admin_error(&missing, 401, "invalid_token");
    assert!(
        missing
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.starts_with("Bearer realm=\"ferrid\"")),
        "{:?}",
        missing.header("www-authenticate")
    );

    let without_admin = token(&server, "svc").await;
    let forbidden = bearer(&server, Some(&format!("Bearer {without_admin}"))).await;
    assert_admin_error(&forbidden, 403, "insufficient_scope");
    assert!(forbidden
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));

    for header in ["Bearer not-a-jwt", "Basic b3BzOm9wcy1zZWNyZXQ=", "Bearer"] {
        let reply = bearer(&server, Some(header)).await;
        assert_admin_error(&reply, 401, "invalid_token");
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer"));
    }

    // A token with the right scope, signed with the same key, but issued by another ferrid.
    let elsewhere = crate::common::admin::server(backend, vec![]).await;
    let foreign = token(&elsewhere, OPS).await;
    let reply = bearer(&server, Some(&format!("Bearer {foreign}"))).await;
    assert_admin_error(&reply, 401, "invalid_token");

    // A forged token: this ferrid's token with its payload changed keeps no valid signature.
    let own = token(&server, "svc").await;
    let parts: Vec<&str> = own.split('.').collect();
    let forged_payload = {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: serde_json::Value =
            serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["scope"] = json!("admin");
        engine.encode(serde_json::to_vec(&claims).unwrap())
    };
    let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
    let reply = bearer(&server, Some(&format!("Bearer {forged}"))).await;
    assert_admin_error(&reply, 401, "invalid_token");

    // A revoked admin token stops working at once.
    let admin = token(&server, OPS).await;
    assert_eq!(
        bearer(&server, Some(&format!("Bearer {admin}")))
            .await
            .status,
        200
    );
    let revoked = http()
        .post(server.at("/revoke"))
        .basic_auth(OPS, Some("ops-secret"))
        .form(&[("token", admin.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let reply = bearer(&server, Some(&format!("Bearer {admin}"))).await;
    assert_admin_error(&reply, 401, "invalid_token");
}

/// A person's token does not make them an administrator, even through a client that holds
/// `admin`; and a DPoP-bound admin token is not accepted as a plain bearer token (RFC 9449 §7.2).
async fn only_a_clients_own_unbound_token_administers(backend: Backend) {
    let mut console = crate::common::grants::app_client("console");
    console.scopes = vec!["openid".into(), "admin".into()];
    let server = server(backend, vec![console]).await;
    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id=console&redirect_uri={CALLBACK}&scope=openid%20admin&state=s&code_challenge={}&code_challenge_method=S256",
        server.at("/authorize"),
        crate::common::grants::CHALLENGE
    );
    let page = browser.get(&url).await;
    let page = log_in_as(&server, &browser, &page, "alice", "wonderland").await;
    let code = crate::common::browser::callback(&page)["code"].clone();
    let person = post_token(
        &server,
        Some(("console", "console-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", crate::common::grants::VERIFIER),
        ],
    )
    .await;
    assert_eq!(person.json["scope"], "openid admin", "{}", person.json);
    let access = person.json["access_token"].as_str().unwrap().to_owned();
    let reply = bearer(&server, Some(&format!("Bearer {access}"))).await;
    assert_admin_error(&reply, 403, "insufficient_scope");

    let key = crate::common::dpop::DpopKey::new();
    let proof = key.proof("POST", &server.at("/token"), None);
    let bound = Reply::from(
        http()
            .post(server.at("/token"))
            .basic_auth(OPS, Some("ops-secret"))
            .header("DPoP", proof)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bound.json["token_type"], "DPoP", "{}", bound.json);
    let bound = bound.json["access_token"].as_str().unwrap().to_owned();
    let reply = bearer(&server, Some(&format!("Bearer {bound}"))).await;
    assert_admin_error(&reply, 401, "invalid_token");
}

async fn attacker_metadata_is_refused_naming_the_field(backend: Backend) {
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let cases = [
        (
            json!({"redirect_uris": ["https://app.example.com/cb#x"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["https://*.example.com/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": ["data:text/html,<script>alert(1)</script>"]}),
            "invalid_redirect_uri",
            "redirect_uris",
        ),
        (
            json!({"redirect_uris": [CALLBACK], "scope": "openid payroll:write"}),
            "invalid_client_metadata",
            "scope",
        ),
        (
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
            "grant_types",
        ),
        (
            json!({"client_id": "a{b}", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "client_id",
        ),
    ];
    for (body, error, field) in cases {
        let reply = admin.post("/admin/clients", body.clone()).await;
        assert_admin_error(&reply, 400, error);
        let description = reply.json["error_description"].as_str().unwrap();
        assert!(description.starts_with(field), "{body}: {description}");
    }
    // Unknown fields (a typo such as `redirect_uri`) and malformed JSON are refused too.
    let typo = admin
        .post("/admin/clients", json!({"redirect_uri": CALLBACK}))
        .await;
    assert_admin_error(&typo, 400, "invalid_request");
    let listed = admin.get("/admin/clients?limit=500").await;
    assert_admin_error(&listed, 400, "invalid_request");
    let listed = admin.get("/admin/clients").await;
    let ids: Vec<&str> = listed.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ops", "svc", "swagger-ui"], "nothing was registered");
}

async fn clients_are_created_once_listed_by_page_and_never_show_a_secret_again(backend: Backend) {
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let mut secrets = Vec::new();
    for i in 0..5 {
        let created = admin
            .post(
                "/admin/clients",
                json!({"client_id": format!("batch-{i}"), "grant_types": ["client_credentials"], "scope": "read"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.json);
        assert_eq!(created.header("cache-control"), Some("no-store"));
        assert_eq!(created.json["from_config"], false);
        assert_eq!(created.json["client_secret_expires_at"], 0);
        secrets.push(created.json["client_secret"].as_str().unwrap().to_owned());
    }
    // The secret works at once, and is never shown again.
    let issued = post_token(
        &server,
        Some(("batch-0", &secrets[0])),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    let shown = admin.get("/admin/clients/batch-0").await;
    assert_eq!(shown.status, 200);
    assert!(shown.json.get("client_secret").is_none(), "{}", shown.json);
    assert!(!shown.json.to_string().contains(&secrets[0]));

    let duplicate = admin
        .post(
            "/admin/clients",
            json!({"client_id": "batch-0", "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_admin_error(&duplicate, 409, "conflict");
    let still = post_token(
        &server,
        Some(("batch-0", &secrets[0])),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(still.status, 200, "a duplicate never overwrites");

    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(after) => format!("/admin/clients?limit=3&after={after}"),
            None => "/admin/clients?limit=3".to_owned(),
        };
        let page = admin.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.json);
        let items = page.json["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|c| c["client_id"].as_str().unwrap().to_owned()),
        );
        match page.json["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let expected = [
        "batch-0",
        "batch-1",
        "batch-2",
        "batch-3",
        "batch-4",
        "ops",
        "svc",
        "swagger-ui",
    ];
    assert_eq!(seen, expected);

    let rotated = admin.post("/admin/clients/batch-1/secret", json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let new_secret = rotated.json["client_secret"].as_str().unwrap();
    let old = post_token(
        &server,
        Some(("batch-1", &secrets[1])),
        &[("grant_type", "client_credentials")],
    )
    .await;
    old.assert_error(401, "invalid_client");
    let new = post_token(
        &server,
        Some(("batch-1", new_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(new.status, 200);

    let replaced = admin
        .put(
            "/admin/clients/batch-2",
            json!({"client_name": "Renamed", "grant_types": ["client_credentials"], "scope": "read admin"}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    assert_eq!(replaced.json["client_name"], "Renamed");
    assert_eq!(replaced.json["scope"], "read admin");
    assert!(replaced.json.get("client_secret").is_none());

    // An id with a space and a colon (RFC 6749 VSCHAR) is addressed percent-encoded.
    let odd = admin
        .post(
            "/admin/clients",
            json!({"client_id": "odd id:1", "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(odd.status, 201, "{}", odd.json);
    let shown = admin.get("/admin/clients/odd%20id%3A1").await;
    assert_eq!(shown.json["client_id"], "odd id:1", "{}", shown.json);
    assert_eq!(
        admin.delete("/admin/clients/odd%20id%3A1").await.status,
        200
    );

    let deleted = admin.delete("/admin/clients/batch-3").await;
    assert_eq!(deleted.status, 200, "{}", deleted.json);
    assert_admin_error(&admin.get("/admin/clients/batch-3").await, 404, "not_found");
    let gone = post_token(
        &server,
        Some(("batch-3", &secrets[3])),
        &[("grant_type", "client_credentials")],
    )
    .await;
    gone.assert_error(401, "invalid_client");
}

async fn config_clients_belong_to_the_config(backend: Backend) {
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let body = json!({"grant_types": ["client_credentials"], "scope": "read"});
    for reply in [
        admin.put("/admin/clients/svc", body.clone()).await,
        admin.delete("/admin/clients/svc").await,
        admin.post("/admin/clients/svc/secret", json!({})).await,
    ] {
        assert_admin_error(&reply, 409, "conflict");
        assert!(reply.json["error_description"]
            .as_str()
            .unwrap()
            .contains("config"));
    }
    let shown = admin.get("/admin/clients/svc").await;
    assert_eq!(shown.json["from_config"], true);
    assert!(!token(&server, "svc").await.is_empty());
}

async fn deleting_a_client_revokes_its_refresh_tokens(backend: Backend) {
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let body = json!({
        "client_id": "webapp",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access",
        "skip_consent": true
    });
    let created = admin.post("/admin/clients", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let secret = created.json["client_secret"].as_str().unwrap().to_owned();
    let browser = Browser::new();
    let tokens = code_grant(
        &server,
        &browser,
        ("webapp", &secret),
        "alice",
        "wonderland",
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let refresh_token = tokens.json["refresh_token"].as_str().unwrap().to_owned();

    let deleted = admin.delete("/admin/clients/webapp").await;
    assert_eq!(deleted.status, 200, "{}", deleted.json);
    assert_eq!(deleted.json["refresh_families_revoked"], 1);
    assert!(deleted.json["codes_revoked"].as_u64().unwrap() >= 1);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    post_token(&server, Some(("webapp", &secret)), &form)
        .await
        .assert_error(401, "invalid_client");

    // Registered again under the same id, it does not inherit the old grant.
    let again = admin.post("/admin/clients", body).await;
    assert_eq!(again.status, 201, "{}", again.json);
    let secret = again.json["client_secret"].as_str().unwrap();
    post_token(&server, Some(("webapp", secret)), &form)
        .await
        .assert_error(400, "invalid_grant");
}

async fn a_client_that_lost_admin_loses_the_api(backend: Backend) {
    // An admin client created at runtime, then replaced without the scope.
    let server = server(backend, vec![]).await;
    let admin = Admin::new(&server).await;
    let created = admin
        .post(
            "/admin/clients",
            json!({"client_id": "deputy", "grant_types": ["client_credentials"], "scope": "admin"}),
        )
        .await;
    let secret = created.json["client_secret"].as_str().unwrap().to_owned();
    let issued = post_token(
        &server,
        Some(("deputy", &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let deputy_token = issued.json["access_token"].as_str().unwrap().to_owned();
    let deputy = Admin {
        server: &server,
        token: Some(deputy_token),
    };
    assert_eq!(deputy.get("/admin/clients").await.status, 200);
    let demoted = admin
        .put(
            "/admin/clients/deputy",
            json!({"grant_types": ["client_credentials"], "scope": "read"}),
        )
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.json);
    assert_admin_error(
        &deputy.get("/admin/clients").await,
        403,
        "insufficient_scope",
    );
    admin.delete("/admin/clients/deputy").await;
    assert_admin_error(&deputy.get("/admin/clients").await, 401, "invalid_token");
}

for_each_backend!(
    only_a_clients_own_unbound_token_administers,
    only_admin_tokens_of_this_ferrid_get_in,
    attacker_metadata_is_refused_naming_the_field,
    clients_are_created_once_listed_by_page_and_never_show_a_secret_again,
    config_clients_belong_to_the_config,
    deleting_a_client_revokes_its_refresh_tokens,
    a_client_that_lost_admin_loses_the_api,
);
