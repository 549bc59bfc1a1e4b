//! Users managed at runtime: list, show, create, replace, delete, set a password, list and end
//! sessions. A username is unique (409 otherwise); a user the config provisioned is the config's.
//! Passwords arrive in clear only to be hashed with Argon2id on a blocking thread, and are never
//! returned or logged. Deleting a user ends their sessions and revokes their refresh-token
//! families (the same removal start-up applies to users dropped from the config); a new password
//! ends every session, as does logging a user out everywhere, and each ended session's refresh
//! families are revoked as a logout would (`sessions.logout_revokes`). With
//! `store.durability = "replicated"`, a new password, ended sessions and a deletion are
//! answered only once a replica holds them (a password change lost in a failover would bring
//! the old, perhaps leaked, password back); a 503 means the change may or may not survive a
//! failover, and the operator retries it.

use super::{Actor, AdminError, DEFAULT_PAGE};
use crate::context::Context;
use crate::oauth::refresh_family;
use crate::secret::SecretString;
use crate::session::{self, Session};
use crate::store::registry::Page;
use crate::store::StoreError;
use crate::telemetry::AdminAction;
use crate::users::records;
use crate::users::{self, Profile, User};

/// What deleting a user ended.
#[derive(Debug)]
pub struct Removed {
    pub user: Option<User>,
    pub sessions: usize,
    pub refresh_families: usize,
}

fn owned_by_config(user: &User) -> AdminError {
    AdminError::Conflict(format!(
        "user `{}` is provisioned by the config file ([[users]]); change it there and restart \
         ferrid",
        user.username
    ))
}

fn invalid(field: &str, message: impl std::fmt::Display) -> AdminError {
    AdminError::InvalidRequest(format!("{field}: {message}"))
}

async fn hash(password: &SecretString) -> Result<String, AdminError> {
    users::validate_password(password.expose()).map_err(|message| invalid("password", message))?;
    Ok(users::hash_in_background(password.clone()).await?)
}

/// A page of users in id order.
pub async fn list(
    ctx: &Context,
    after: Option<&str>,
    limit: Option<usize>,
) -> Result<Page<User>, AdminError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    Ok(records::list(ctx.store(), after, limit).await?)
}

/// User `id`.
pub async fn get(ctx: &Context, id: &str) -> Result<User, AdminError> {
    users::find_by_id(ctx.store(), id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user has the id `{id}`")))
}

/// The user called `username`.
pub async fn get_by_username(ctx: &Context, username: &str) -> Result<User, AdminError> {
    users::find(ctx.store(), username)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user is called `{username}`")))
}

/// Creates a user with a fresh id; a taken username is a conflict.
pub async fn create(
    ctx: &Context,
    actor: &Actor,
    profile: Profile,
    password: &SecretString,
) -> Result<User, AdminError> {
    users::validate_profile(&profile).map_err(|(field, message)| invalid(field, message))?;
    let password_hash = hash(password).await?;
    let id = users::new_user_id()?;
    let user = User::new(id, profile, password_hash, ctx.clock().now_secs());
    records::create(ctx.store(), &user).await?;
    actor.audit_user(AdminAction::UserCreated, &user.id, Some(&user.username));
    Ok(user)
}

/// Replaces the profile of user `id` (everything but the password).
pub async fn replace(
    ctx: &Context,
    actor: &Actor,
    id: &str,
    profile: Profile,
) -> Result<User, AdminError> {
    users::validate_profile(&profile).map_err(|(field, message)| invalid(field, message))?;
    let user = records::replace(ctx.store(), id, |current: User| {
        if current.from_config {
            return Err(owned_by_config(&current));
        }
        Ok::<_, AdminError>(current.with_profile(profile.clone()))
    })
    .await?;
    actor.audit_user(AdminAction::UserUpdated, &user.id, Some(&user.username));
    Ok(user)
}

/// Sets the password of user `id` and ends every session of theirs; returns how many ended.
pub async fn set_password(
    ctx: &Context,
    actor: &Actor,
    id: &str,
    password: &SecretString,
) -> Result<usize, AdminError> {
    let current = get(ctx, id).await?;
    if current.from_config {
        return Err(owned_by_config(&current));
    }
    let password_hash = hash(password).await?;
    records::replace(ctx.store(), id, |current: User| {
        if current.from_config {
            return Err(owned_by_config(&current));
        }
        Ok::<_, AdminError>(current.with_password_hash(password_hash.clone()))
    })
    .await?;
    let ended = log_out_everywhere(ctx, id).await?;
    ctx.acknowledge_writes().await?;
    actor.audit_user(AdminAction::UserPasswordSet, id, None);
    Ok(ended)
}

/// The live browser sessions of user `id`.
pub async fn sessions(ctx: &Context, id: &str) -> Result<Vec<Session>, AdminError> {
    get(ctx, id).await?;
    Ok(session::of_user(ctx, id).await?)
}

/// Ends every browser session of user `id`; returns how many were live.
pub async fn end_sessions(ctx: &Context, actor: &Actor, id: &str) -> Result<usize, AdminError> {
    get(ctx, id).await?;
    let ended = log_out_everywhere(ctx, id).await?;
    ctx.acknowledge_writes().await?;
    actor.audit_user(AdminAction::UserSessionsEnded, id, None);
    Ok(ended)
}

/// Ends every session of `id` as a logout would: the session, and the refresh families started
/// in it that `sessions.logout_revokes` names.
async fn log_out_everywhere(ctx: &Context, id: &str) -> Result<usize, StoreError> {
    let ended = session::end_all_of_user(ctx, id).await?;
    let policy = ctx.settings().sessions.logout_revokes.as_str();
    for session in &ended {
        for family in refresh_family::families_of_session(ctx, &session.sid).await? {
            let offline = family.scopes.iter().any(|s| s == "offline_access");
            if policy == "all" || (policy == "online" && !offline) {
                refresh_family::revoke_family(ctx, &family.id).await?;
            }
        }
    }
    Ok(ended.len())
}

/// Deletes user `id`, ending their sessions and revoking their refresh tokens.
pub async fn delete(ctx: &Context, actor: &Actor, id: &str) -> Result<Removed, AdminError> {
    let current = get(ctx, id).await?;
    if current.from_config {
        return Err(owned_by_config(&current));
    }
    let removed = remove(ctx, id).await?;
    ctx.acknowledge_writes().await?;
    actor.audit_user(AdminAction::UserDeleted, id, Some(&current.username));
    Ok(removed)
}

/// Removes user `id` whoever provisioned them: their browser sessions end, their refresh-token
/// families (and the access tokens they issued) are revoked, then the user is deleted. The user
/// goes last: if this stops half-way, running it again finds everything still listed.
pub async fn remove(ctx: &Context, id: &str) -> Result<Removed, StoreError> {
    let sessions = session::end_all_of_user(ctx, id).await?.len();
    let refresh_families = refresh_family::revoke_all_of_user(ctx, id).await?;
    let user = users::delete(ctx.store(), id).await?;
    Ok(Removed {
        user,
        sessions,
        refresh_families,
    })
}
