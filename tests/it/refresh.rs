//! Refresh tokens on both stores: rotation, the grace window, reuse detection confined to one
//! family, concurrency, scope narrowing, the reuse policy, expiry, and a Redis restart that loses
//! nothing acknowledged.

use std::time::Duration;

use crate::common::browser::Browser;
use crate::common::code_flow::userinfo;
use crate::common::grants::{
    alice, app_client, grant, introspect, now_clock, refresh, revoke, server, server_with, text,
};
use crate::common::{post_token, Backend, Options, RedisServer, RedisTarget, Reply, TestServer};

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
        "all succeed within the grace window: {:?}",
        replies
            .iter()
            .filter(|r| r.status != 200)
            .map(|r| &r.json)
            .collect::<Vec<_>>()
    );
    let successors: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| text(&r.json, "refresh_token"))
        .collect();
    assert_eq!(successors.len(), 1, "one rotation, one successor");
}

async fn revoking_a_family_after_concurrent_refreshes_revokes_every_access_token(backend: Backend) {
    // Fifty refreshes inside the grace window each issue an access token at the same moment;
    // revoking the family must reach every one of them.
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

/// The claims of a JWT, read without verifying it (what a resource server would see).
fn payload(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn a_revoked_family_refuses_every_access_token_it_issued_and_no_other(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let tokens = grant(&server, &browser, "app", "openid offline_access").await;
    let other = grant(&server, &browser, "app", "openid offline_access").await;
    let mut current = text(&tokens, "refresh_token");
    let mut issued = vec![text(&tokens, "access_token")];
    for _ in 0..20 {
        let reply = refresh(&server, "app", &current, None).await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        current = text(&reply.json, "refresh_token");
        issued.push(text(&reply.json, "access_token"));
    }
    // Every access token names its family, and the other grant is another family.
    let family = payload(&issued[0])["fid"].clone();
    assert!(family.is_string(), "{}", payload(&issued[0]));
    assert!(issued.iter().all(|token| payload(token)["fid"] == family));
    let other_access = text(&other, "access_token");
    assert_ne!(payload(&other_access)["fid"], family);

    revoke(&server, "app", &current, Some("refresh_token")).await;
    // A thief holding any access token of the family is refused at once, however early it was
    // issued.
    for token in &issued {
        let refused = userinfo(&server, token).await;
        assert_eq!(refused.status, 401);
        assert!(refused
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.contains("error=\"invalid_token\"")));
        assert_eq!(
            introspect(&server, "app", token).await,
            serde_json::json!({"active": false})
        );
    }
    assert_eq!(userinfo(&server, &other_access).await.status, 200);
    assert_eq!(
        introspect(&server, "app", &other_access).await["active"],
        true
    );
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

/// A refresh the request itself gets wrong (scope wider than granted, an audience the client may
/// not ask for) is refused before the token rotates: the same token still works afterwards, even
/// after the reuse grace window, and its family is not revoked.
async fn a_rejected_refresh_leaves_the_token_and_family_untouched(backend: Backend) {
    let clock = now_clock();
    let server = server_with(backend, Some(clock.clone()), |_| {}).await;
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let token = text(&tokens, "refresh_token");
    refresh(&server, "app", &token, Some("openid roles"))
        .await
        .assert_error(400, "invalid_scope");
    let secret = "app-secret";
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("resource", "https://not-registered.example.com"),
    ];
    post_token(&server, Some(("app", secret)), &form)
        .await
        .assert_error(400, "invalid_target");
    clock.advance(Duration::from_secs(60));
    let reply = refresh(&server, "app", &token, None).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(
        introspect(&server, "app", &text(&tokens, "access_token")).await["active"],
        true,
        "the family's first access token is still active"
    );
    let next = refresh(&server, "app", &text(&reply.json, "refresh_token"), None).await;
    assert_eq!(next.status, 200, "{}", next.json);
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

for_each_backend!(
    a_rotation_chain_of_five,
    no_refresh_token_without_offline_access,
    reuse_after_the_grace_window_revokes_only_that_family,
    a_replay_inside_the_grace_window_gets_the_same_successor,
    fifty_concurrent_refreshes_rotate_once_strict,
    fifty_concurrent_refreshes_share_one_successor_with_grace,
    revoking_a_family_after_concurrent_refreshes_revokes_every_access_token,
    a_revoked_family_refuses_every_access_token_it_issued_and_no_other,
    scopes_narrow_but_never_widen,
    a_rejected_refresh_leaves_the_token_and_family_untouched,
    the_reuse_policy_keeps_the_refresh_token,
    an_expired_family_no_longer_refreshes,
);

on_cluster!(
    a_rotation_chain_of_five,
    reuse_after_the_grace_window_revokes_only_that_family,
    fifty_concurrent_refreshes_rotate_once_strict,
    fifty_concurrent_refreshes_share_one_successor_with_grace,
    revoking_a_family_after_concurrent_refreshes_revokes_every_access_token,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing_acknowledged() {
    let mut redis_process = RedisServer::start_durable();
    let target = RedisTarget {
        url: redis_process.url(),
        prefix: "ferrid-durable:".into(),
    };
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let server = TestServer::start_with(options, |settings| settings.users = vec![alice()]).await;
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

/// Issue 4 asks for `invalid_grant` here; ferrid answers `invalid_client` (RFC 6749 §5.2: the
/// client is unknown, so its authentication fails before the grant is looked at).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_removed_from_the_config_can_no_longer_refresh() {
    let first = RedisTarget::new();
    let same_store = first.same();
    let options = Options {
        redis: Some(first),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let before = TestServer::start_with(options, |settings| settings.users = vec![alice()]).await;
    let tokens = grant(&before, &Browser::new(), "app", "openid offline_access").await;

    // The same store, now configured without `app`: bootstrap deletes it.
    let options = Options {
        redis: Some(same_store),
        ..Options::new(Backend::Redis).clients(vec![app_client("other")])
    };
    let after = TestServer::start_with(options, |settings| settings.users = vec![alice()]).await;
    refresh(&after, "app", &text(&tokens, "refresh_token"), None)
        .await
        .assert_error(401, "invalid_client");
}
