//! The administrative operations on the memory store with a manual clock: conflicts, the
//! config's ownership, and what deleting or changing a record ends.

use serde_json::json;

use super::*;
use crate::config::UserConfig;
use crate::oauth::clients::ClientMetadata;
use crate::oauth::codes::{self, AuthorizationCode, Issuing};
use crate::oauth::deny_list;
use crate::oauth::refresh_family::{self, NewFamily};
use crate::session;
use crate::test_support;
use crate::users::Profile;

fn web_app() -> ClientMetadata {
    serde_json::from_value(json!({
        "client_name": "Web",
        "redirect_uris": ["https://app.example.com/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access"
    }))
    .unwrap()
}

async fn family_of(
    ctx: &crate::context::Context,
    client_id: &str,
    user_id: &str,
    family_id: &str,
) -> String {
    let now = ctx.clock().now_secs();
    let new = NewFamily {
        id: family_id.to_owned(),
        client_id,
        user_id,
        scopes: &["openid".to_owned(), "offline_access".to_owned()],
        auth_time: now,
        amr: &["pwd".to_owned()],
        sid: "sid-1",
        jkt: None,
    };
    refresh_family::start_family(ctx, new).await.unwrap()
}

fn code_for(client_id: &str) -> AuthorizationCode {
    AuthorizationCode {
        client_id: client_id.into(),
        redirect_uri: "https://app.example.com/callback".into(),
        code_challenge: None,
        scopes: vec!["openid".into()],
        nonce: None,
        user_id: "user-1".into(),
        auth_time: test_support::START_MILLIS / 1000,
        amr: vec!["pwd".into()],
        sid: "sid-1".into(),
    }
}

#[tokio::test]
async fn a_created_client_gets_a_secret_once_and_its_id_only_once() {
    let t = test_support::context(|_| {});
    let actor = Actor::cli();
    let created = clients::create(&t.ctx, &actor, Some("web".into()), &web_app())
        .await
        .unwrap();
    let secret = created.client_secret.unwrap();
    assert!(created.client.secret_matches(secret.expose()));
    assert!(!created.client.from_config);
    let err = clients::create(&t.ctx, &actor, Some("web".into()), &web_app())
        .await
        .unwrap_err();
    assert_eq!(err.status(), 409);
    // Still the first one.
    let stored = clients::get(&t.ctx, "web").await.unwrap();
    assert!(stored.secret_matches(secret.expose()));
    let rotated = clients::rotate_secret(&t.ctx, &actor, "web").await.unwrap();
    let new_secret = rotated.client_secret.unwrap();
    let stored = clients::get(&t.ctx, "web").await.unwrap();
    assert!(stored.secret_matches(new_secret.expose()));
    assert!(!stored.secret_matches(secret.expose()));
    // A public client has no secret, and gets one when made confidential.
    let mut public = web_app();
    public.token_endpoint_auth_method = Some("none".into());
    let replaced = clients::replace(&t.ctx, &actor, "web", &public)
        .await
        .unwrap();
    assert!(replaced.client_secret.is_none() && !replaced.client.has_secret());
    let again = clients::replace(&t.ctx, &actor, "web", &web_app())
        .await
        .unwrap();
    assert!(again
        .client
        .secret_matches(again.client_secret.unwrap().expose()));
    let missing = clients::replace(&t.ctx, &actor, "nobody", &web_app()).await;
    assert_eq!(missing.unwrap_err().status(), 404);
}

#[tokio::test]
async fn the_config_owns_its_clients_and_users() {
    let t = test_support::context(|settings| {
        settings.clients = vec![crate::config::ClientConfig {
            id: "svc".into(),
            secret: Some("s".to_owned().into()),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        }];
        settings.users = vec![UserConfig {
            username: "alice".into(),
            password_hash: Some(crate::users::hash_password("pw").unwrap()),
            ..Default::default()
        }];
    });
    crate::bootstrap::provision_clients_and_users(&t.ctx)
        .await
        .unwrap();
    let actor = Actor::cli();
    let conflict = clients::replace(&t.ctx, &actor, "svc", &web_app())
        .await
        .unwrap_err();
    assert_eq!(conflict.status(), 409);
    assert!(conflict.description().contains("config"), "{conflict}");
    assert_eq!(
        clients::delete(&t.ctx, &actor, "svc")
            .await
            .unwrap_err()
            .status(),
        409
    );
    assert_eq!(
        clients::rotate_secret(&t.ctx, &actor, "svc")
            .await
            .unwrap_err()
            .status(),
        409
    );
    let alice = users::get_by_username(&t.ctx, "alice").await.unwrap();
    assert!(alice.from_config);
    let profile = Profile {
        username: "alicia".into(),
        ..alice.profile()
    };
    assert_eq!(
        users::replace(&t.ctx, &actor, &alice.id, profile)
            .await
            .unwrap_err()
            .status(),
        409
    );
    assert_eq!(
        users::delete(&t.ctx, &actor, &alice.id)
            .await
            .unwrap_err()
            .status(),
        409
    );
    let listed = clients::list(&t.ctx, None, None).await.unwrap();
    assert!(listed
        .items
        .iter()
        .any(|c| c.client_id == "svc" && c.from_config));
}

#[tokio::test]
async fn deleting_a_client_revokes_its_families_and_codes() {
    let t = test_support::context(|_| {});
    let actor = Actor::cli();
    clients::create(&t.ctx, &actor, Some("web".into()), &web_app())
        .await
        .unwrap();
    let refresh = family_of(&t.ctx, "web", "user-1", "family-at").await;
    let other_refresh = family_of(&t.ctx, "other", "user-1", "other-at").await;
    let unused = codes::issue(&t.ctx, &code_for("web")).await.unwrap();
    let redeemed = codes::issue(&t.ctx, &code_for("web")).await.unwrap();
    let now = t.ctx.clock().now_secs();
    let issuing = Issuing {
        client_id: "web",
        jti: "code-at",
        exp: now + 300,
        now,
        family: None,
    };
    codes::redeem(&t.ctx, &redeemed, issuing).await.unwrap();

    let removed = clients::delete(&t.ctx, &actor, "web").await.unwrap();
    assert_eq!((removed.refresh_families, removed.codes), (1, 2));
    assert!(refresh_family::inspect(&t.ctx, &refresh)
        .await
        .unwrap()
        .is_none());
    assert!(deny_list::is_family_revoked(t.ctx.store(), "family-at")
        .await
        .unwrap());
    assert!(!deny_list::is_family_revoked(t.ctx.store(), "other-at")
        .await
        .unwrap());
    assert!(deny_list::is_revoked(t.ctx.store(), "code-at", None)
        .await
        .unwrap());
    let issuing = Issuing {
        client_id: "web",
        jti: "late",
        exp: now + 300,
        now,
        family: None,
    };
    assert!(codes::redeem(&t.ctx, &unused, issuing).await.is_err());
    // Another client's family is untouched.
    assert!(refresh_family::inspect(&t.ctx, &other_refresh)
        .await
        .unwrap()
        .is_some());
    assert_eq!(clients::get(&t.ctx, "web").await.unwrap_err().status(), 404);
    assert!(clients::list(&t.ctx, None, None)
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn usernames_are_unique_and_a_new_password_ends_every_session() {
    let t = test_support::context(|_| {});
    let actor = Actor::cli();
    let password = crate::secret::SecretString::new("correct horse");
    let profile = |name: &str| Profile {
        username: name.into(),
        ..Profile::default()
    };
    let alice = users::create(&t.ctx, &actor, profile("alice"), &password)
        .await
        .unwrap();
    let bob = users::create(&t.ctx, &actor, profile("bob"), &password)
        .await
        .unwrap();
    let taken = users::create(&t.ctx, &actor, profile("alice"), &password)
        .await
        .unwrap_err();
    assert_eq!(taken.status(), 409);
    let rename = users::replace(&t.ctx, &actor, &bob.id, profile("alice"))
        .await
        .unwrap_err();
    assert_eq!(rename.status(), 409);
    // A rename frees the old name.
    users::replace(&t.ctx, &actor, &bob.id, profile("robert"))
        .await
        .unwrap();
    assert!(crate::users::find(t.ctx.store(), "bob")
        .await
        .unwrap()
        .is_none());
    users::create(&t.ctx, &actor, profile("bob"), &password)
        .await
        .unwrap();
    assert_eq!(
        users::list(&t.ctx, None, None).await.unwrap().items.len(),
        3
    );

    let (cookie, _) = session::create(&t.ctx, &alice, &["pwd"]).await.unwrap();
    let (other_cookie, _) = session::create(&t.ctx, &alice, &["pwd"]).await.unwrap();
    assert_eq!(users::sessions(&t.ctx, &alice.id).await.unwrap().len(), 2);
    let new_password = crate::secret::SecretString::new("battery staple");
    let ended = users::set_password(&t.ctx, &actor, &alice.id, &new_password)
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert!(session::load(&t.ctx, Some(&cookie))
        .await
        .unwrap()
        .is_none());
    assert!(session::load(&t.ctx, Some(&other_cookie))
        .await
        .unwrap()
        .is_none());
    let stored = users::get(&t.ctx, &alice.id).await.unwrap();
    assert!(stored.verify_password("battery staple"));
    assert!(!stored.verify_password("correct horse"));
    let empty = crate::secret::SecretString::new("");
    assert_eq!(
        users::set_password(&t.ctx, &actor, &alice.id, &empty)
            .await
            .unwrap_err()
            .status(),
        400
    );
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions_and_families() {
    let t = test_support::context(|_| {});
    let actor = Actor::cli();
    let password = crate::secret::SecretString::new("correct horse");
    let profile = Profile {
        username: "carol".into(),
        ..Profile::default()
    };
    let carol = users::create(&t.ctx, &actor, profile, &password)
        .await
        .unwrap();
    let (cookie, _) = session::create(&t.ctx, &carol, &["pwd"]).await.unwrap();
    let refresh = family_of(&t.ctx, "web", &carol.id, "carol-at").await;
    let removed = users::delete(&t.ctx, &actor, &carol.id).await.unwrap();
    assert_eq!((removed.sessions, removed.refresh_families), (1, 1));
    assert!(session::load(&t.ctx, Some(&cookie))
        .await
        .unwrap()
        .is_none());
    assert!(refresh_family::inspect(&t.ctx, &refresh)
        .await
        .unwrap()
        .is_none());
    assert!(deny_list::is_family_revoked(t.ctx.store(), "carol-at")
        .await
        .unwrap());
    assert!(crate::users::find(t.ctx.store(), "carol")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        users::get(&t.ctx, &carol.id).await.unwrap_err().status(),
        404
    );
}
