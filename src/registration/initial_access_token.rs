//! Initial access tokens (RFC 7591 §3): what the operator hands a developer so that they can
//! register one client (or a few) while `registration.mode` is `initial_access_token`. Minted
//! by the admin API and the CLI, each with an expiry and an optional number of uses; shown once
//! and stored only as its SHA-256 (`keyspace::initial_access_token`), expiring with itself. A
//! use is taken atomically on both stores — a compare-and-swap of the use count, or a
//! delete-if-unchanged of the last use — so a token good for N registrations serves N, however
//! many registrations race for it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::secret::{random_token, RandomError, SecretString};
use crate::store::{self, keyspace, StoreError};

/// Longest lifetime of an initial access token: a year.
pub const MAX_LIFETIME_SECS: u64 = 365 * 86_400;

/// How often `consume` re-reads a token that concurrent registrations keep using.
const ATTEMPTS: usize = 64;

/// A minted token, shown once.
#[derive(Debug)]
pub struct Minted {
    /// The token itself: `Authorization: Bearer <token>` at `/register`.
    pub token: SecretString,
    /// When it stops working (seconds since the epoch).
    pub expires_at: u64,
    /// How many registrations it allows; `None`: any number until it expires.
    pub uses: Option<u32>,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("expires_in must be between 1 and {MAX_LIFETIME_SECS} seconds")]
    Lifetime,
    #[error("uses must be at least 1")]
    Uses,
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The stored record of a token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    created_at: u64,
    expires_at: u64,
    /// Registrations left; `None`: unlimited until `expires_at`.
    uses_left: Option<u32>,
}

impl Record {
    fn ttl(&self, now: u64) -> Duration {
        Duration::from_secs(self.expires_at.saturating_sub(now).max(1))
    }
}

/// Mints a token valid for `expires_in_secs` and, when `uses` is given, that many registrations.
pub async fn mint(
    ctx: &Context,
    expires_in_secs: u64,
    uses: Option<u32>,
) -> Result<Minted, MintError> {
    if !(1..=MAX_LIFETIME_SECS).contains(&expires_in_secs) {
        return Err(MintError::Lifetime);
    }
    if uses == Some(0) {
        return Err(MintError::Uses);
    }
    let token = SecretString::new(random_token()?);
    let now = ctx.clock().now_secs();
    let record = Record {
        created_at: now,
        expires_at: now + expires_in_secs,
        uses_left: uses,
    };
    let key = keyspace::initial_access_token(token.expose());
    store::put_json(ctx.store(), &key, &record, Some(record.ttl(now))).await?;
    // Not handed out before a replica holds it: a token lost in a failover would be refused.
    ctx.acknowledge_writes().await?;
    Ok(Minted {
        token,
        expires_at: record.expires_at,
        uses,
    })
}

/// Reads the live record of `token`: unknown, expired and used-up tokens are `None`.
async fn live(ctx: &Context, key: &str) -> Result<Option<(Vec<u8>, Record)>, StoreError> {
    let Some(raw) = ctx.store().get(key).await? else {
        return Ok(None);
    };
    let record: Record = store::decode(key, &raw)?;
    let now = ctx.clock().now_secs();
    if record.expires_at <= now || record.uses_left == Some(0) {
        return Ok(None);
    }
    Ok(Some((raw, record)))
}

/// Whether `token` is a live initial access token, without using it.
pub async fn is_valid(ctx: &Context, token: &str) -> Result<bool, StoreError> {
    Ok(live(ctx, &keyspace::initial_access_token(token))
        .await?
        .is_some())
}

/// Takes one use of `token`; `false` when it is unknown, expired or used up (also when a
/// concurrent registration took its last use first).
pub async fn consume(ctx: &Context, token: &str) -> Result<bool, StoreError> {
    let key = keyspace::initial_access_token(token);
    for _ in 0..ATTEMPTS {
        let Some((raw, record)) = live(ctx, &key).await? else {
            return Ok(false);
        };
        let taken = match record.uses_left {
            None => return Ok(true),
            Some(1) => ctx.store().delete_if(&key, &raw).await?,
            Some(left) => {
                let next = Record {
                    uses_left: Some(left - 1),
                    ..record.clone()
                };
                let ttl = next.ttl(ctx.clock().now_secs());
                ctx.store()
                    .compare_and_swap(&key, &raw, store::encode(&next)?, Some(ttl))
                    .await?
            }
        };
        if taken {
            // A use lost in a failover would come back: one more registration than allowed.
            ctx.acknowledge_writes().await?;
            return Ok(true);
        }
    }
    Err(StoreError::Backend(format!(
        "{key}: still changing after {ATTEMPTS} attempts"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::context;

    #[tokio::test]
    async fn a_token_serves_as_many_registrations_as_it_allows() {
        let t = context(|_| {});
        let minted = mint(&t.ctx, 3600, Some(2)).await.unwrap();
        let token = minted.token.expose();
        assert!(is_valid(&t.ctx, token).await.unwrap());
        assert!(consume(&t.ctx, token).await.unwrap());
        assert!(consume(&t.ctx, token).await.unwrap());
        assert!(!consume(&t.ctx, token).await.unwrap());
        assert!(!is_valid(&t.ctx, token).await.unwrap());
    }

    #[tokio::test]
    async fn a_token_without_a_count_serves_until_it_expires() {
        let t = context(|_| {});
        let minted = mint(&t.ctx, 60, None).await.unwrap();
        let token = minted.token.expose();
        for _ in 0..5 {
            assert!(consume(&t.ctx, token).await.unwrap());
        }
        t.clock.advance(Duration::from_secs(60));
        assert!(!is_valid(&t.ctx, token).await.unwrap());
        assert!(!consume(&t.ctx, token).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_tokens_and_bad_requests_are_refused() {
        let t = context(|_| {});
        assert!(!consume(&t.ctx, "made-up").await.unwrap());
        assert!(matches!(
            mint(&t.ctx, 0, None).await,
            Err(MintError::Lifetime)
        ));
        assert!(matches!(
            mint(&t.ctx, MAX_LIFETIME_SECS + 1, None).await,
            Err(MintError::Lifetime)
        ));
        assert!(matches!(
            mint(&t.ctx, 60, Some(0)).await,
            Err(MintError::Uses)
        ));
    }

    #[tokio::test]
    async fn only_the_digest_is_stored() {
        let t = context(|_| {});
        let minted = mint(&t.ctx, 60, Some(1)).await.unwrap();
        let key = keyspace::initial_access_token(minted.token.expose());
        let raw = t.store.get(&key).await.unwrap().unwrap();
        let text = String::from_utf8(raw).unwrap();
        assert!(!text.contains(minted.token.expose()), "{text}");
        assert!(!key.contains(minted.token.expose()));
    }
}
