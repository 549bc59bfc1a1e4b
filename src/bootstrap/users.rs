//! The config's `[[users]]` made true in the store: each listed user upserted (keeping its id),
//! and each user an earlier start provisioned that the config no longer lists removed — its
//! browser sessions ended, its refresh-token families (and the access tokens they issued)
//! revoked, then the user deleted — so that removing a user from the config locks them out.
//! Users created any other way are not in the provisioned list and are never touched.

use super::StartError;
use crate::admin;
use crate::context::Context;
use crate::telemetry::{self, AuditEvent};
use crate::users;

/// Upserts the configured users and removes those the config dropped since the last start.
pub(super) async fn sync(ctx: &Context) -> Result<(), StartError> {
    let store = ctx.store();
    let previous = users::provisioned_ids(store).await?;
    let mut ids = Vec::with_capacity(ctx.settings().users.len());
    for config in &ctx.settings().users {
        ids.push(users::upsert_from_config(store, config).await?.id);
    }
    for stale in previous.iter().filter(|id| !ids.contains(id)) {
        let removed = admin::users::remove(ctx, stale).await?;
        tracing::info!(
            sessions = removed.sessions,
            refresh_families = removed.refresh_families,
            "user removed from the config"
        );
        telemetry::record(AuditEvent::UserRemoved {
            sub: stale,
            username: removed
                .user
                .as_ref()
                .map_or("", |user| user.username.as_str()),
        });
    }
    users::record_provisioned_ids(store, &ids).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::UserConfig;
    use crate::oauth::deny_list;
    use crate::oauth::refresh_family;
    use crate::oauth::refresh_family::NewFamily;
    use crate::session;
    use crate::test_support;

    fn user(username: &str, hash: &str) -> UserConfig {
        UserConfig {
            username: username.into(),
            password_hash: Some(hash.to_owned()),
            ..UserConfig::default()
        }
    }

    /// Starts refresh family `family_id` for `user_id`; returns its token.
    async fn family_of(ctx: &Context, user_id: &str, family_id: &str) -> String {
        let now = ctx.clock().now_secs();
        let new = NewFamily {
            id: family_id.to_owned(),
            client_id: "webapp",
            user_id,
            scopes: &["openid".to_owned(), "offline_access".to_owned()],
            auth_time: now,
            amr: &["pwd".to_owned()],
            sid: "sid-1",
            jkt: None,
        };
        refresh_family::start_family(ctx, new).await.unwrap()
    }

    #[tokio::test]
    async fn a_user_removed_from_the_config_is_deleted_with_its_sessions_and_families() {
        let hash = users::hash_password("pw").unwrap();
        let (alice, bob) = (user("alice", &hash), user("bob", &hash));
        let (keep, drop) = (alice.clone(), bob.clone());
        let t = test_support::context(move |settings| settings.users = vec![keep, drop]);
        sync(&t.ctx).await.unwrap();
        let store = t.ctx.store();
        let alice_id = users::find(store, "alice").await.unwrap().unwrap().id;
        let bob_user = users::find(store, "bob").await.unwrap().unwrap();
        let (bob_cookie, _) = session::create(&t.ctx, &bob_user, &["pwd"]).await.unwrap();
        let bob_refresh = family_of(&t.ctx, &bob_user.id, "bob-at").await;
        let alice_user = users::find(store, "alice").await.unwrap().unwrap();
        let (alice_cookie, _) = session::create(&t.ctx, &alice_user, &["pwd"])
            .await
            .unwrap();
        let alice_refresh = family_of(&t.ctx, &alice_id, "alice-at").await;
        // Created some other way than by the config (an admin API, later): never touched.
        let carol = users::upsert_from_config(store, &user("carol", &hash))
            .await
            .unwrap();

        let restarted = t.restarted(move |settings| settings.users = vec![alice]);
        sync(&restarted).await.unwrap();

        assert!(users::find(store, "bob").await.unwrap().is_none());
        assert!(users::find_by_id(store, &bob_user.id)
            .await
            .unwrap()
            .is_none());
        assert!(session::load(&restarted, Some(&bob_cookie))
            .await
            .unwrap()
            .is_none());
        assert!(refresh_family::inspect(&restarted, &bob_refresh)
            .await
            .unwrap()
            .is_none());
        assert!(deny_list::is_family_revoked(store, "bob-at").await.unwrap());

        assert_eq!(
            users::find(store, "alice").await.unwrap().unwrap().id,
            alice_id
        );
        assert!(session::load(&restarted, Some(&alice_cookie))
            .await
            .unwrap()
            .is_some());
        assert!(refresh_family::inspect(&restarted, &alice_refresh)
            .await
            .unwrap()
            .is_some());
        assert!(!deny_list::is_family_revoked(store, "alice-at")
            .await
            .unwrap());
        assert_eq!(
            users::find(store, "carol").await.unwrap().map(|u| u.id),
            Some(carol.id)
        );
        assert_eq!(users::provisioned_ids(store).await.unwrap(), vec![alice_id]);
    }
}
