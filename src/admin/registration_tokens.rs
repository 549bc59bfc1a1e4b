//! Initial access tokens for dynamic client registration, minted by an administrator (admin API
//! or CLI) for a developer who will register a client at `/register` while
//! `registration.mode` is `initial_access_token`. The token is returned once, stored only as its
//! SHA-256 and never logged; the audit event names who minted it, not the token.

use super::{Actor, AdminError};
use crate::context::Context;
use crate::registration::initial_access_token::{self, MintError, Minted};
use crate::telemetry::AdminAction;

impl From<MintError> for AdminError {
    fn from(err: MintError) -> Self {
        match err {
            MintError::Lifetime | MintError::Uses => Self::InvalidRequest(err.to_string()),
            MintError::Random(err) => Self::server(err),
            MintError::Store(err) => err.into(),
        }
    }
}

/// Mints an initial access token valid for `expires_in_secs` and, when `uses` is given, that
/// many registrations.
pub async fn create(
    ctx: &Context,
    actor: &Actor,
    expires_in_secs: u64,
    uses: Option<u32>,
) -> Result<Minted, AdminError> {
    let minted = initial_access_token::mint(ctx, expires_in_secs, uses).await?;
    actor.audit(AdminAction::RegistrationTokenCreated);
    Ok(minted)
}
