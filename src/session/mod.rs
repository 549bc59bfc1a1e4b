//! Browser sessions (single sign-on). A session is a random 256-bit id in a cookie; the store
//! keeps, under the id's SHA-256, who logged in, when (`auth_time`), how (`amr`), the session's
//! public id (`sid`, for ID tokens) and the clients it signed into. The record's TTL is the idle
//! timeout, renewed on use but never past the absolute timeout. Each user's sessions are indexed
//! (by cookie digest) so that removing the user ends them all.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::OAuthError;
use crate::secret::random_token;
use crate::store::{self, index, keyspace, StoreError};
use crate::users::User;

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Public session id, safe to put in tokens.
    pub sid: String,
    pub user_id: String,
    pub username: String,
    pub auth_time: u64,
    pub amr: Vec<String>,
    pub clients: Vec<String>,
    /// Absolute end, seconds since the epoch.
    pub expires_at: u64,
}

fn ttl(ctx: &Context, session: &Session) -> Duration {
    let now = ctx.clock().now_secs();
    let idle = ctx.settings().sessions.idle_ttl_secs;
    Duration::from_secs(idle.min(session.expires_at.saturating_sub(now)).max(1))
}

/// Starts a session for `user` who just authenticated with `amr`; returns the cookie value.
pub async fn create(
    ctx: &Context,
    user: &User,
    amr: &[&str],
) -> Result<(String, Session), OAuthError> {
    let cookie = random_token().map_err(OAuthError::server_error)?;
    let now = ctx.clock().now_secs();
    let session = Session {
        sid: random_token().map_err(OAuthError::server_error)?,
        user_id: user.id.clone(),
        username: user.username.clone(),
        auth_time: now,
        amr: amr.iter().map(|m| m.to_string()).collect(),
        clients: Vec::new(),
        expires_at: now + ctx.settings().sessions.absolute_ttl_secs,
    };
    save(ctx, &cookie, &session).await?;
    index::add(
        ctx.store(),
        &keyspace::user_sessions(&user.id),
        &keyspace::digest(&cookie),
        session.expires_at,
        now,
    )
    .await?;
    // The cookie is a credential: with `store.durability = "replicated"` it is set only once a
    // replica has the session.
    ctx.acknowledge_writes().await?;
    Ok((cookie, session))
}

/// The live session behind `cookie`, its idle timeout renewed.
pub async fn load(ctx: &Context, cookie: Option<&str>) -> Result<Option<Session>, StoreError> {
    let Some(cookie) = cookie.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let Some(session) = store::get_json::<Session>(ctx.store(), &keyspace::session(cookie)).await?
    else {
        return Ok(None);
    };
    if session.expires_at <= ctx.clock().now_secs() {
        return Ok(None);
    }
    save(ctx, cookie, &session).await?;
    Ok(Some(session))
}

/// Records that `client_id` signed in through this session.
pub async fn add_client(
    ctx: &Context,
    cookie: &str,
    session: &mut Session,
    client_id: &str,
) -> Result<(), StoreError> {
    if !session.clients.iter().any(|c| c == client_id) {
        session.clients.push(client_id.to_owned());
        save(ctx, cookie, session).await?;
    }
    Ok(())
}

/// Ends the session behind `cookie`, returning it if it was live.
pub async fn end(ctx: &Context, cookie: &str) -> Result<Option<Session>, StoreError> {
    let key = keyspace::session(cookie);
    match ctx.store().take(&key).await? {
        Some(bytes) => store::decode(&key, &bytes).map(Some),
        None => Ok(None),
    }
}

/// Ends every session of `user_id` (a user removed or deleted, a password changed, an
/// administrator logging them out everywhere); returns those that were live.
pub async fn end_all_of_user(ctx: &Context, user_id: &str) -> Result<Vec<Session>, StoreError> {
    let now = ctx.clock().now_secs();
    let key = keyspace::user_sessions(user_id);
    let mut ended = Vec::new();
    for digest in index::ids(ctx.store(), &key, now).await? {
        let session_key = keyspace::session_by_digest(&digest);
        if let Some(raw) = ctx.store().take(&session_key).await? {
            ended.push(store::decode(&session_key, &raw)?);
        }
    }
    ctx.store().delete(&key).await?;
    Ok(ended)
}

/// The live sessions of `user_id`, oldest login first.
pub async fn of_user(ctx: &Context, user_id: &str) -> Result<Vec<Session>, StoreError> {
    let now = ctx.clock().now_secs();
    let key = keyspace::user_sessions(user_id);
    let mut sessions: Vec<Session> = Vec::new();
    for digest in index::ids(ctx.store(), &key, now).await? {
        let session =
            store::get_json::<Session>(ctx.store(), &keyspace::session_by_digest(&digest))
                .await?
                .filter(|session| session.expires_at > now);
        sessions.extend(session);
    }
    sessions.sort_by_key(|session| session.auth_time);
    Ok(sessions)
}

async fn save(ctx: &Context, cookie: &str, session: &Session) -> Result<(), StoreError> {
    store::put_json(
        ctx.store(),
        &keyspace::session(cookie),
        session,
        Some(ttl(ctx, session)),
    )
    .await
}
