//! Single use, replay revocation and expiry of authorization codes, on the memory store with a
//! manual clock.

use std::time::Duration;

use super::*;
use crate::error::ErrorCode;
use crate::oauth::refresh_family::NewFamily;
use crate::test_support::{self, TestContext};

fn grant() -> AuthorizationCode {
    AuthorizationCode {
        client_id: "webapp".into(),
        redirect_uri: "https://app.example.com/callback".into(),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        scopes: vec!["openid".into(), "offline_access".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        user_id: "user-1".into(),
        auth_time: test_support::START_MILLIS / 1000,
        amr: vec!["pwd".into()],
        sid: "sid-1".into(),
    }
}

/// Redeems `code` as the token endpoint would, issuing access token `jti` and, when given,
/// starting refresh family `family`.
async fn redeem_as(
    t: &TestContext,
    code: &str,
    jti: &str,
    family: Option<&str>,
) -> Result<AuthorizationCode, OAuthError> {
    let now = t.ctx.clock().now_secs();
    let issuing = Issuing {
        client_id: "app",
        jti,
        exp: now + 300,
        now,
        family,
    };
    redeem(&t.ctx, code, issuing).await
}

fn assert_invalid_grant(result: Result<AuthorizationCode, OAuthError>) {
    match result {
        Ok(_) => panic!("the redemption must fail"),
        Err(err) => assert_eq!(err.code(), ErrorCode::InvalidGrant),
    }
}

async fn revoked(t: &TestContext, jti: &str) -> bool {
    deny_list::is_revoked(t.ctx.store(), jti, None)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_code_redeems_once_for_what_it_was_issued_for() {
    let t = test_support::context(|_| {});
    let code = issue(&t.ctx, &grant()).await.unwrap();
    assert_eq!(redeem_as(&t, &code, "at-1", None).await.unwrap(), grant());
}

#[tokio::test]
async fn a_replayed_code_fails_and_revokes_what_the_first_redemption_issued() {
    let t = test_support::context(|_| {});
    let code = issue(&t.ctx, &grant()).await.unwrap();
    let family_id = refresh_family::new_family_id().unwrap();
    let redeemed = redeem_as(&t, &code, "at-1", Some(&family_id))
        .await
        .unwrap();
    let family = NewFamily {
        id: family_id.clone(),
        client_id: &redeemed.client_id,
        user_id: &redeemed.user_id,
        scopes: &redeemed.scopes,
        auth_time: redeemed.auth_time,
        amr: &redeemed.amr,
        sid: &redeemed.sid,
        jkt: None,
    };
    let refresh_token = refresh_family::start_family(&t.ctx, family).await.unwrap();
    assert!(!revoked(&t, "at-1").await);

    t.clock.advance(Duration::from_secs(5));
    assert_invalid_grant(redeem_as(&t, &code, "at-2", None).await);
    assert!(revoked(&t, "at-1").await);
    assert!(deny_list::is_family_revoked(t.ctx.store(), &family_id)
        .await
        .unwrap());
    assert!(refresh_family::inspect(&t.ctx, &refresh_token)
        .await
        .unwrap()
        .is_none());
    let client = test_support::web_client("webapp");
    let refreshed = refresh_family::refresh(&t.ctx, &client, &refresh_token, |_| Ok(())).await;
    assert_eq!(
        refreshed.err().map(|err| err.code()),
        Some(ErrorCode::InvalidGrant)
    );
    // The replay issued nothing, and later replays keep failing.
    assert!(!revoked(&t, "at-2").await);
    assert_invalid_grant(redeem_as(&t, &code, "at-3", None).await);
}

#[tokio::test]
async fn a_replay_revokes_the_access_token_when_no_family_was_started() {
    let t = test_support::context(|_| {});
    let code = issue(&t.ctx, &grant()).await.unwrap();
    redeem_as(&t, &code, "at-1", None).await.unwrap();
    assert_invalid_grant(redeem_as(&t, &code, "at-2", None).await);
    assert!(revoked(&t, "at-1").await);
}

#[tokio::test]
async fn a_code_is_still_good_just_before_sixty_seconds() {
    let t = test_support::context(|_| {});
    let code = issue(&t.ctx, &grant()).await.unwrap();
    t.clock.advance(CODE_TTL - Duration::from_secs(1));
    assert_eq!(redeem_as(&t, &code, "at-1", None).await.unwrap(), grant());
}

#[tokio::test]
async fn an_expired_code_fails() {
    let t = test_support::context(|_| {});
    let code = issue(&t.ctx, &grant()).await.unwrap();
    t.clock.advance(CODE_TTL + Duration::from_secs(1));
    assert_invalid_grant(redeem_as(&t, &code, "at-1", None).await);
    // The failed attempt leaves nothing behind that a later attempt could redeem or replay.
    assert_invalid_grant(redeem_as(&t, &code, "at-2", None).await);
    assert!(!revoked(&t, "at-1").await);
}

#[tokio::test]
async fn an_unknown_code_fails() {
    let t = test_support::context(|_| {});
    assert_invalid_grant(redeem_as(&t, "no-such-code", "at-1", None).await);
}
