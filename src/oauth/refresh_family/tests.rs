//! Rotation, reuse detection and expiry of refresh families, on the memory store with a manual
//! clock: time moves only when a test advances it.

use std::time::Duration;

use super::*;
use crate::error::ErrorCode;
use crate::test_support::{self, TestContext};

const CLIENT: &str = "webapp";

/// Starts a family for `CLIENT` whose first access token is `jti`; returns its id and token.
async fn start(t: &TestContext, jti: &str) -> (String, String) {
    let id = new_family_id().unwrap();
    let now = t.ctx.clock().now_secs();
    let new = NewFamily {
        id: id.clone(),
        client_id: CLIENT,
        user_id: "user-1",
        scopes: &["openid".to_owned(), "offline_access".to_owned()],
        auth_time: now,
        amr: &["pwd".to_owned()],
        sid: "sid-1",
        access_token: IssuedAccessToken {
            jti: jti.to_owned(),
            exp: now + 300,
        },
        jkt: None,
    };
    let token = start_family(&t.ctx, new).await.unwrap();
    (id, token)
}

async fn rotate(t: &TestContext, token: &str) -> Result<String, OAuthError> {
    let client = test_support::web_client(CLIENT);
    refresh(&t.ctx, &client, token, |_| Ok(()))
        .await
        .map(|(refreshed, ())| refreshed.refresh_token)
}

fn assert_invalid_grant(result: Result<String, OAuthError>) {
    match result {
        Ok(_) => panic!("the refresh must fail"),
        Err(err) => assert_eq!(err.code(), ErrorCode::InvalidGrant),
    }
}

async fn is_current(t: &TestContext, token: &str) -> Option<bool> {
    inspect(&t.ctx, token)
        .await
        .unwrap()
        .map(|(_, current)| current)
}

async fn revoked(t: &TestContext, jti: &str) -> bool {
    deny_list::is_revoked(t.ctx.store(), jti).await.unwrap()
}

#[tokio::test]
async fn rotation_returns_a_new_token_and_retires_the_presented_one() {
    let t = test_support::context(|_| {});
    let (id, first) = start(&t, "at-1").await;
    let second = rotate(&t, &first).await.unwrap();
    assert_ne!(second, first);
    assert_eq!(is_current(&t, &first).await, Some(false));
    assert_eq!(is_current(&t, &second).await, Some(true));
    let (family, _) = inspect(&t.ctx, &second).await.unwrap().unwrap();
    assert_eq!(family.id, id);
    // The successor rotates in turn.
    let third = rotate(&t, &second).await.unwrap();
    assert_ne!(third, second);
    assert_eq!(is_current(&t, &third).await, Some(true));
}

#[tokio::test]
async fn a_replay_within_the_grace_window_gets_the_same_successor() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 3);
    let (_, first) = start(&t, "at-1").await;
    let second = rotate(&t, &first).await.unwrap();
    // A lost response: the client presents the old token again, exactly at the window's end.
    t.clock.advance(Duration::from_secs(3));
    assert_eq!(rotate(&t, &first).await.unwrap(), second);
    assert_eq!(is_current(&t, &second).await, Some(true));
    assert!(!revoked(&t, "at-1").await);
}

#[tokio::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_family() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 3);
    let (_, first) = start(&t, "at-1").await;
    let second = rotate(&t, &first).await.unwrap();
    let (family, _) = inspect(&t.ctx, &second).await.unwrap().unwrap();
    let now = t.ctx.clock().now_secs();
    let issued = IssuedAccessToken {
        jti: "at-2".into(),
        exp: now + 300,
    };
    record_access_token(&t.ctx, &family, issued).await.unwrap();

    t.clock.advance(Duration::from_millis(3_001));
    assert_invalid_grant(rotate(&t, &first).await);
    // The successor, held by whoever rotated first, stops working too.
    assert_invalid_grant(rotate(&t, &second).await);
    assert_eq!(is_current(&t, &second).await, None);
    assert!(revoked(&t, "at-1").await);
    assert!(revoked(&t, "at-2").await);
}

#[tokio::test]
async fn a_replay_after_the_successor_was_used_revokes_the_family_even_within_grace() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 3);
    let (_, first) = start(&t, "at-1").await;
    let second = rotate(&t, &first).await.unwrap();
    let third = rotate(&t, &second).await.unwrap();
    assert_invalid_grant(rotate(&t, &first).await);
    assert_invalid_grant(rotate(&t, &third).await);
    assert!(revoked(&t, "at-1").await);
}

#[tokio::test]
async fn without_a_grace_window_any_replay_revokes_the_family() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 0);
    let (_, first) = start(&t, "at-1").await;
    let second = rotate(&t, &first).await.unwrap();
    assert_invalid_grant(rotate(&t, &first).await);
    assert_invalid_grant(rotate(&t, &second).await);
}

#[tokio::test]
async fn an_idle_token_expires_and_each_rotation_renews_the_idle_timeout() {
    let t = test_support::context(|s| {
        s.tokens.refresh_token_idle_ttl_secs = 60;
        s.tokens.refresh_token_absolute_ttl_secs = 3600;
    });
    let (_, first) = start(&t, "at-1").await;
    t.clock.advance(Duration::from_secs(59));
    let second = rotate(&t, &first).await.unwrap();
    t.clock.advance(Duration::from_secs(59));
    let third = rotate(&t, &second).await.unwrap();
    t.clock.advance(Duration::from_secs(60));
    assert_invalid_grant(rotate(&t, &third).await);
    assert_eq!(is_current(&t, &third).await, None);
}

#[tokio::test]
async fn a_family_ends_at_its_absolute_expiry_however_often_it_is_used() {
    let t = test_support::context(|s| {
        s.tokens.refresh_token_idle_ttl_secs = 60;
        s.tokens.refresh_token_absolute_ttl_secs = 120;
    });
    let (_, mut token) = start(&t, "at-1").await;
    for _ in 0..2 {
        t.clock.advance(Duration::from_secs(50));
        token = rotate(&t, &token).await.unwrap();
    }
    t.clock.advance(Duration::from_secs(19));
    token = rotate(&t, &token).await.unwrap();
    // 120 s after the family started.
    t.clock.advance(Duration::from_secs(1));
    assert_invalid_grant(rotate(&t, &token).await);
}

#[tokio::test]
async fn a_token_presented_by_another_client_is_refused_and_stays_current() {
    let t = test_support::context(|_| {});
    let (_, first) = start(&t, "at-1").await;
    let other = test_support::web_client("other-app");
    let err = refresh(&t.ctx, &other, &first, |_| Ok(()))
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), ErrorCode::InvalidGrant);
    assert_eq!(is_current(&t, &first).await, Some(true));
}
