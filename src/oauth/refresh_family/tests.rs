//! Rotation, reuse detection and expiry of refresh families, on the memory store with a manual
//! clock: time moves only when a test advances it.

use std::time::Duration;

use super::*;
use crate::error::ErrorCode;
use crate::test_support::{self, TestContext};

const CLIENT: &str = "webapp";

/// Starts a family for `CLIENT`; returns its id and first refresh token.
async fn start(t: &TestContext) -> (String, String) {
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

/// Whether the access tokens of family `id` are refused.
async fn revoked(t: &TestContext, id: &str) -> bool {
    deny_list::is_family_revoked(t.ctx.store(), id)
        .await
        .unwrap()
}

#[tokio::test]
async fn rotation_returns_a_new_token_and_retires_the_presented_one() {
    let t = test_support::context(|_| {});
    let (id, first) = start(&t).await;
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
    let (id, first) = start(&t).await;
    let second = rotate(&t, &first).await.unwrap();
    // A lost response: the client presents the old token again, exactly at the window's end.
    t.clock.advance(Duration::from_secs(3));
    assert_eq!(rotate(&t, &first).await.unwrap(), second);
    assert_eq!(is_current(&t, &second).await, Some(true));
    assert!(!revoked(&t, &id).await);
}

#[tokio::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_family() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 3);
    let (id, first) = start(&t).await;
    let second = rotate(&t, &first).await.unwrap();
    assert!(!revoked(&t, &id).await);

    t.clock.advance(Duration::from_millis(3_001));
    assert_invalid_grant(rotate(&t, &first).await);
    // The successor, held by whoever rotated first, stops working too, and so does every
    // access token the family issued.
    assert_invalid_grant(rotate(&t, &second).await);
    assert_eq!(is_current(&t, &second).await, None);
    assert!(revoked(&t, &id).await);
}

#[tokio::test]
async fn the_revocation_marker_outlives_the_longest_access_token() {
    let t = test_support::context(|s| s.tokens.access_token_ttl_secs = 300);
    let (id, _) = start(&t).await;
    revoke_family(&t.ctx, &id).await.unwrap();
    t.clock.advance(
        Duration::from_secs(300) + deny_list::FAMILY_MARKER_MARGIN - Duration::from_secs(1),
    );
    assert!(revoked(&t, &id).await);
    t.clock.advance(Duration::from_secs(1));
    assert!(!revoked(&t, &id).await);
}

#[tokio::test]
async fn a_family_that_already_ended_still_revokes_its_access_tokens() {
    let t = test_support::context(|s| {
        s.tokens.refresh_token_idle_ttl_secs = 60;
        s.tokens.refresh_token_absolute_ttl_secs = 120;
    });
    let (id, _) = start(&t).await;
    t.clock.advance(Duration::from_secs(121));
    revoke_family(&t.ctx, &id).await.unwrap();
    assert!(revoked(&t, &id).await);
}

#[tokio::test]
async fn access_tokens_listed_by_an_older_ferrid_are_revoked_with_the_family() {
    let t = test_support::context(|_| {});
    let (id, _) = start(&t).await;
    let key = keyspace::refresh_family(&id);
    let mut family: Family = store::get_json(t.ctx.store(), &key).await.unwrap().unwrap();
    let exp = t.ctx.clock().now_secs() + 300;
    family.access_tokens = vec![IssuedAccessToken {
        jti: "legacy-at".into(),
        exp,
    }];
    store::put_json(t.ctx.store(), &key, &family, None)
        .await
        .unwrap();
    revoke_family(&t.ctx, &id).await.unwrap();
    assert!(deny_list::is_revoked(t.ctx.store(), "legacy-at", None)
        .await
        .unwrap());
}

#[tokio::test]
async fn a_thousand_rotations_leave_the_family_record_as_it_was() {
    let t = test_support::context(|_| {});
    let (id, mut token) = start(&t).await;
    let key = keyspace::refresh_family(&id);
    let before = t.ctx.store().get(&key).await.unwrap().unwrap();
    for _ in 0..1_000 {
        token = rotate(&t, &token).await.unwrap();
    }
    assert_eq!(t.ctx.store().get(&key).await.unwrap().unwrap(), before);
}

#[tokio::test]
async fn a_replay_after_the_successor_was_used_revokes_the_family_even_within_grace() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 3);
    let (id, first) = start(&t).await;
    let second = rotate(&t, &first).await.unwrap();
    let third = rotate(&t, &second).await.unwrap();
    assert_invalid_grant(rotate(&t, &first).await);
    assert_invalid_grant(rotate(&t, &third).await);
    assert!(revoked(&t, &id).await);
}

#[tokio::test]
async fn without_a_grace_window_any_replay_revokes_the_family() {
    let t = test_support::context(|s| s.tokens.refresh_token_reuse_grace_secs = 0);
    let (_, first) = start(&t).await;
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
    let (_, first) = start(&t).await;
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
    let (_, mut token) = start(&t).await;
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
    let (_, first) = start(&t).await;
    let other = test_support::web_client("other-app");
    let err = refresh(&t.ctx, &other, &first, |_| Ok(()))
        .await
        .err()
        .unwrap();
    assert_eq!(err.code(), ErrorCode::InvalidGrant);
    assert_eq!(is_current(&t, &first).await, Some(true));
}
