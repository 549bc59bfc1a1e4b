//! The signing keys as an administrator sees them — state, kid, lifecycle times and the next
//! scheduled transition; never private material — and the emergency rotation (`rotate_now`: a
//! new key signs at once, the other instances are told).

use super::{Actor, AdminError};
use crate::context::Context;
use crate::keys::persist::Snapshot;
use crate::telemetry::AdminAction;

/// One key of the ring, public facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: &'static str,
    /// `next`, `active` or `retired`.
    pub state: &'static str,
    pub created_at: u64,
    pub activated_at: Option<u64>,
    pub retired_at: Option<u64>,
    /// The next scheduled transition and when (seconds since the epoch).
    pub next_transition: Option<(&'static str, u64)>,
}

/// The ring: its revision and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingInfo {
    pub revision: u64,
    pub keys: Vec<KeyInfo>,
}

fn describe(ctx: &Context, snapshot: &Snapshot) -> RingInfo {
    let upcoming = ctx.keys().schedule().upcoming(&snapshot.keys);
    let keys = snapshot
        .keys
        .iter()
        .zip(upcoming)
        .map(|(key, next)| KeyInfo {
            kid: key.kid.clone(),
            alg: key.alg.as_str(),
            state: key.state().as_str(),
            created_at: key.lifecycle.created_at,
            activated_at: key.lifecycle.activated_at,
            retired_at: key.lifecycle.retired_at,
            next_transition: next.map(|(what, at)| (what.as_str(), at)),
        })
        .collect();
    RingInfo {
        revision: snapshot.revision,
        keys,
    }
}

/// The persisted key ring.
pub async fn list(ctx: &Context) -> Result<RingInfo, AdminError> {
    let snapshot = ctx
        .keys()
        .persistence()
        .load()
        .await?
        .ok_or_else(|| AdminError::NotFound("no key ring has been created yet".into()))?;
    Ok(describe(ctx, &snapshot))
}

/// Replaces the signing key at once with a new one; with `withdraw_old`, the older keys also
/// leave the JWKS at once (tokens they signed stop verifying).
pub async fn rotate(
    ctx: &Context,
    actor: &Actor,
    withdraw_old: bool,
) -> Result<RingInfo, AdminError> {
    let snapshot = ctx.keys().rotate_now(withdraw_old, ctx.clock()).await?;
    actor.audit(AdminAction::KeysRotated);
    Ok(describe(ctx, &snapshot))
}
