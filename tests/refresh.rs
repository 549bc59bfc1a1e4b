//! Refresh tokens, revocation, introspection and logout, on both stores: rotation, the grace
//! window, reuse detection confined to one family, concurrency, scope narrowing, expiry, and a
//! Redis restart that loses nothing acknowledged.

mod common;

use std::time::Duration;

use common::browser::{callback, log_in, Browser, CALLBACK};
use common::{http, post_token, Backend, Options, RedisServer, RedisTarget, Reply, TestServer};
use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::config::{ClientConfig, Settings, UserConfig};
use serde_json::Value;

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BYE: &str = "https://app.example.com/bye";

fn app_client(id: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        name: Some(format!("{id} app")),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec![BYE.into()],
        skip_consent: true,
        ..ClientConfig::default()
    }
}

fn now_clock() -> ManualClock {
    ManualClock::at_millis(SystemClock.now_millis())
}

async fn server_with(
    backend: Backend,
    clock: Option<ManualClock>,
    configure: impl FnOnce(&mut Settings),
) -> TestServer {
    let mut reuse = app_client("keeper");
    reuse.refresh_token_rotation = Some("reuse".into());
    let options = Options {
        clock,
        ..Options::new(backend).clients(vec![app_client("app"), app_client("other"), reuse])
    };
    TestServer::start_with(options, |settings| {
        settings.users = vec![UserConfig {
            username: "alice".into(),
            password: Some("wonderland".to_owned().into()),
            ..UserConfig::default()
        }];
        configure(settings);
    })
    .await
}

async fn server(backend: Backend) -> TestServer {
    server_with(backend, None, |_| {}).await
}

/// Runs the code flow in `browser` and redeems the code: the token response.
async fn grant(server: &TestServer, browser: &Browser, client_id: &str, scope: &str) -> Value {
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope={scope}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let mut page = browser.get(&url).await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/login"))
    {
        page = log_in(server, browser, page, "wonderland").await;
    }
    let params = callback(&page);
    let secret = format!("{client_id}-secret");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let reply = post_token(server, Some((client_id, &secret)), &form).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

async fn refresh(server: &TestServer, client_id: &str, token: &str, scope: Option<&str>) -> Reply {
    let secret = format!("{client_id}-secret");
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_token(server, Some((client_id, &secret)), &form).await
}

async fn introspect(server: &TestServer, client_id: &str, token: &str) -> Value {
    let reply = Reply::from(
        http()
            .post(server.at("/introspect"))
            .basic_auth(client_id, Some(format!("{client_id}-secret")))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

async fn revoke(server: &TestServer, client_id: &str, token: &str, hint: Option<&str>) {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let response = http()
        .post(server.at("/revoke"))
        .basic_auth(client_id, Some(format!("{client_id}-secret")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {value}"))
        .to_owned()
}

async fn a_rotation_chain_of_five(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let mut current = text(&tokens, "refresh_token");
    for _ in 0..5 {
        let reply = refresh(&server, "app", &current, None).await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        let next = text(&reply.json, "refresh_token");
        assert_ne!(next, current);
        assert!(
            reply.json["id_token"].is_string(),
            "OpenID grants get a new ID token"
        );
        assert_eq!(
            introspect(&server, "app", &text(&reply.json, "access_token")).await["active"],
            true
        );
        current = next;
    }
    assert_eq!(
        introspect(&server, "app", &current).await["token_type"],
        "refresh_token"
    );
}

async fn no_refresh_token_without_offline_access(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(&server, &Browser::new(), "app", "openid").await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

async fn reuse_after_the_grace_window_revokes_only_that_family(backend: Backend) {
    let clock = now_clock();
    let server = server_with(backend, Some(clock.clone()), |_| {}).await;
    let browser = Browser::new();
    let first = grant(&server, &browser, "app", "openid offline_access").await;
    let second = grant(&server, &browser, "app", "openid offline_access").await;
    let old = text(&first, "refresh_token");
    let rotated = refresh(&server, "app", &old, None).await;
    let newest = text(&rotated.json, "refresh_token");
    let newest_access = text(&rotated.json, "access_token");

    clock.advance(Duration::from_secs(5));
    refresh(&server, "app", &old, None)
        .await
        .assert_error(400, "invalid_grant");
    refresh(&server, "app", &newest, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        introspect(&server, "app", &newest_access).await,
        serde_json::json!({"active": false})
    );
    assert_eq!(
        introspect(&server, "app", &text(&first, "access_token")).await["active"],
        false
    );
    // The same user's other grant is untouched.
    assert_eq!(
        refresh(&server, "app", &text(&second, "refresh_token"), None)
            .await
            .status,
        200
    );
}

async fn a_replay_inside_the_grace_window_gets_the_same_successor(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let presented = text(&tokens, "refresh_token");
    let first = refresh(&server, "app", &presented, None).await;
    let replay = refresh(&server, "app", &presented, None).await;
    assert_eq!(replay.status, 200, "{}", replay.json);
    assert_eq!(
        text(&replay.json, "refresh_token"),
        text(&first.json, "refresh_token")
    );
    assert_eq!(
        refresh(&server, "app", &text(&first.json, "refresh_token"), None)
            .await
            .status,
        200
    );
}

async fn concurrent_refreshes(
    backend: Backend,
    grace_secs: u64,
) -> (std::sync::Arc<TestServer>, Vec<Reply>) {
    let server = server_with(backend, None, |s| {
        s.tokens.refresh_token_reuse_grace_secs = grace_secs
    })
    .await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let presented = text(&tokens, "refresh_token");
    let server = std::sync::Arc::new(server);
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let server = server.clone();
            let presented = presented.clone();
            tokio::spawn(async move { refresh(&server, "app", &presented, None).await })
        })
        .collect();
    let mut replies = Vec::new();
    for request in requests {
        replies.push(request.await.unwrap());
    }
    (server, replies)
}

async fn fifty_concurrent_refreshes_rotate_once_strict(backend: Backend) {
    let (_, replies) = concurrent_refreshes(backend, 0).await;
    let successes = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(successes, 1, "grace 0: exactly one refresh succeeds");
    assert!(replies
        .iter()
        .filter(|r| r.status != 200)
        .all(|r| r.json["error"] == "invalid_grant"));
}

async fn fifty_concurrent_refreshes_share_one_successor_with_grace(backend: Backend) {
    let (_, replies) = concurrent_refreshes(backend, 3).await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "all succeed within the grace window"
    );
    let successors: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| text(&r.json, "refresh_token"))
        .collect();
    assert_eq!(successors.len(), 1, "one rotation, one successor");
}

async fn revoking_a_family_after_concurrent_refreshes_revokes_every_access_token(backend: Backend) {
    // Fifty refreshes inside the grace window each issue an access token and record it in the
    // family at the same moment; none of those records may be lost.
    let (server, replies) = concurrent_refreshes(backend, 3).await;
    assert!(replies.iter().all(|r| r.status == 200));
    revoke(
        &server,
        "app",
        &text(&replies[0].json, "refresh_token"),
        None,
    )
    .await;
    for reply in &replies {
        assert_eq!(
            introspect(&server, "app", &text(&reply.json, "access_token")).await,
            serde_json::json!({"active": false})
        );
    }
}

async fn scopes_narrow_but_never_widen(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(
        &server,
        &Browser::new(),
        "app",
        "openid profile offline_access",
    )
    .await;
    let narrowed = refresh(
        &server,
        "app",
        &text(&tokens, "refresh_token"),
        Some("openid"),
    )
    .await;
    assert_eq!(narrowed.json["scope"], "openid");
    // The family keeps its grant: the next refresh may ask for profile again.
    let again = refresh(
        &server,
        "app",
        &text(&narrowed.json, "refresh_token"),
        Some("openid profile"),
    )
    .await;
    assert_eq!(again.json["scope"], "openid profile");
    let widened = refresh(
        &server,
        "app",
        &text(&again.json, "refresh_token"),
        Some("openid email"),
    )
    .await;
    widened.assert_error(400, "invalid_scope");
}

async fn the_reuse_policy_keeps_the_refresh_token(backend: Backend) {
    let server = server(backend).await;
    let tokens = grant(&server, &Browser::new(), "keeper", "openid offline_access").await;
    let token = text(&tokens, "refresh_token");
    for _ in 0..3 {
        let reply = refresh(&server, "keeper", &token, None).await;
        assert_eq!(reply.status, 200);
        assert_eq!(text(&reply.json, "refresh_token"), token);
    }
}

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

async fn an_expired_family_no_longer_refreshes(backend: Backend) {
    let clock = now_clock();
    let server = server_with(backend, Some(clock.clone()), |s| {
        s.tokens.refresh_token_absolute_ttl_secs = 3600;
        s.tokens.refresh_token_idle_ttl_secs = 3600;
    })
    .await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    clock.advance(Duration::from_secs(3601));
    refresh(&server, "app", &text(&tokens, "refresh_token"), None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        introspect(&server, "app", &text(&tokens, "refresh_token")).await,
        serde_json::json!({"active": false})
    );
}

async fn logout_with_a_registered_uri_redirects_and_ends_the_session(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let online = grant(&server, &browser, "app", "openid").await;
    let offline = grant(&server, &browser, "other", "openid offline_access").await;
    let hint = text(&online, "id_token");
    let url = format!(
        "{}?id_token_hint={hint}&post_logout_redirect_uri={BYE}&state=bye-state",
        server.at("/logout")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("{BYE}?state=bye-state").as_str())
    );
    // The session is gone: prompt=none now needs a login.
    let silent = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&prompt=none&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    assert_eq!(
        callback(&browser.get(&silent).await)["error"],
        "login_required"
    );
    // offline_access grants survive logout (sessions.logout_revokes = online).
    assert_eq!(
        refresh(&server, "other", &text(&offline, "refresh_token"), None)
            .await
            .status,
        200
    );
}

async fn logout_without_a_registered_uri_or_hint_asks_and_shows_a_page(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    grant(&server, &browser, "app", "openid").await;
    let url = format!(
        "{}?client_id=app&post_logout_redirect_uri=https://evil.example.com/",
        server.at("/logout")
    );
    let confirm = browser.get(&url).await;
    assert_eq!(confirm.status, 200, "no hint: the person confirms");
    assert!(confirm.location.is_none());
    let csrf = confirm.hidden("csrf_token").unwrap();
    let forged = browser
        .post(
            &server.at("/logout"),
            &[("csrf_token", "forged"), ("client_id", "app")],
        )
        .await;
    assert_eq!(forged.status, 200);
    assert!(
        forged.body.contains("Sign out?"),
        "a wrong CSRF token only asks again"
    );
    let done = browser
        .post(
            &server.at("/logout"),
            &[
                ("csrf_token", csrf.as_str()),
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://evil.example.com/"),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.location.is_none(),
        "an unregistered URI is never redirected to"
    );
    assert!(done.body.contains("Signed out"));
    let silent = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&prompt=none&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    assert_eq!(
        callback(&browser.get(&silent).await)["error"],
        "login_required"
    );
}

for_each_backend!(
    a_rotation_chain_of_five,
    no_refresh_token_without_offline_access,
    reuse_after_the_grace_window_revokes_only_that_family,
    a_replay_inside_the_grace_window_gets_the_same_successor,
    fifty_concurrent_refreshes_rotate_once_strict,
    fifty_concurrent_refreshes_share_one_successor_with_grace,
    revoking_a_family_after_concurrent_refreshes_revokes_every_access_token,
    scopes_narrow_but_never_widen,
    the_reuse_policy_keeps_the_refresh_token,
    revocation_of_each_token_type_shows_at_introspection,
    introspection_describes_active_tokens_and_requires_client_auth,
    an_expired_family_no_longer_refreshes,
    logout_with_a_registered_uri_redirects_and_ends_the_session,
    logout_without_a_registered_uri_or_hint_asks_and_shows_a_page,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing_acknowledged() {
    let mut redis_process = RedisServer::start_durable();
    let target = RedisTarget {
        url: redis_process.url(),
        prefix: "ferrid-durable:".into(),
        server: None,
    };
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![UserConfig {
            username: "alice".into(),
            password: Some("wonderland".to_owned().into()),
            ..UserConfig::default()
        }];
    })
    .await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let rotated = refresh(&server, "app", &text(&tokens, "refresh_token"), None).await;
    assert_eq!(rotated.status, 200);

    redis_process.kill();
    refresh(&server, "app", &text(&rotated.json, "refresh_token"), None)
        .await
        .assert_error(503, "temporarily_unavailable");
    redis_process.run();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let reply = refresh(&server, "app", &text(&rotated.json, "refresh_token"), None).await;
        if reply.status == 200 {
            break;
        }
        assert!(
            reply.status == 503,
            "only unavailability while Redis restarts: {}",
            reply.json
        );
        assert!(
            std::time::Instant::now() < deadline,
            "ferrid did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
