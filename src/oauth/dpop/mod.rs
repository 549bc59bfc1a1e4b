//! DPoP (RFC 9449): proof-of-possession for access and refresh tokens. A client sends a proof —
//! a JWT signed by a key it holds, carrying that public key — with each request; ferrid binds
//! the tokens it issues to the key's thumbprint (`cnf.jkt`) and, where a bound token is
//! presented, demands a proof by the same key.
//!
//! `proof` verifies one proof purely (header, key, signature, `htm`, `htu`, `iat`, `ath`);
//! `jwk` parses the key and computes its thumbprint; `nonce` issues and checks stateless server
//! nonces. `check` is what endpoints call: at most one `DPoP` header, the proof verified, the
//! nonce demanded when `dpop.require_nonce` is set, and the `jti` written to the store only if
//! new, so a proof is accepted once (RFC 9449 §11.1). A DPoP request costs one signature
//! verification and one store write more than a bearer one (with `store.durability =
//! "replicated"` also a wait for a replica to hold the marker: one lost in a failover would let
//! the proof be replayed once).

pub mod jwk;
pub mod nonce;
pub mod proof;

use std::time::Duration;

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::access_token::{Confirmation, Scheme};
use crate::store::keyspace;

pub use proof::{Expected, Proof};

/// The DPoP side of an HTTP request, as the HTTP layer extracts it.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// Every `DPoP` header value the request carried (RFC 9449 §4.3: at most one).
    pub proofs: &'a [String],
    /// The request's method.
    pub method: &'a str,
    /// The endpoint's URL under the issuer, which `htu` must name.
    pub url: &'a str,
}

/// Checks the request's DPoP proof, if it carries one: verified against the request (and
/// `access_token`, where one is presented), with a valid server nonce when they are required,
/// and never seen before. `None` when the request has no `DPoP` header.
pub async fn check(
    ctx: &Context,
    request: &DpopRequest<'_>,
    access_token: Option<&str>,
) -> Result<Option<Proof>, OAuthError> {
    let proof = match request.proofs {
        [] => return Ok(None),
        [proof] => proof,
        _ => {
            return Err(OAuthError::invalid_dpop_proof(
                "send exactly one DPoP header (RFC 9449 §4.3)",
            ))
        }
    };
    let settings = &ctx.settings().dpop;
    let now = ctx.clock().now_secs();
    let expected = Expected {
        method: request.method,
        url: request.url,
        access_token,
        now,
        max_age_secs: settings.max_age_secs,
        clock_skew_secs: settings.clock_skew_secs,
    };
    let proof = proof::verify(proof, &expected)?;
    if settings.require_nonce {
        let keys = ctx.derived_keys();
        match proof.nonce.as_deref() {
            Some(given) if nonce::accept(keys, given, now) => {}
            Some(_) => {
                return Err(OAuthError::use_dpop_nonce(
                    nonce::issue(keys, now),
                    "the DPoP proof's nonce is stale or unknown; retry with the one in DPoP-Nonce",
                ))
            }
            None => {
                return Err(OAuthError::use_dpop_nonce(
                    nonce::issue(keys, now),
                    "DPoP proofs must carry a server nonce; retry with the one in DPoP-Nonce",
                ))
            }
        }
    }
    // A replayed proof's `iat` is out of the window once the marker expires, so the marker
    // lives exactly as long as the proof could otherwise be accepted.
    let ttl = Duration::from_secs(settings.max_age_secs + settings.clock_skew_secs + 1);
    let key = keyspace::dpop_proof(&proof.jkt, &proof.jti);
    if !ctx.store().put_new(&key, b"1".to_vec(), Some(ttl)).await? {
        return Err(OAuthError::invalid_dpop_proof(
            "DPoP proof: its jti was already used; make a fresh proof for every request",
        ));
    }
    // A marker lost in a failover would let the proof be replayed once.
    ctx.acknowledge_writes().await?;
    Ok(Some(proof))
}

/// At a protected resource: checks that an access token `token`, verified and carrying `cnf`,
/// was presented as its binding demands (RFC 9449 §7). A DPoP-bound token needs the `DPoP`
/// scheme and a proof by its key over this request and this token (`ath`); a bound token sent
/// as Bearer is refused (§7.2: no downgrade), and so is an unbound one sent as DPoP. Returns
/// the proof of a DPoP request. Errors carry the `DPoP` challenge.
pub async fn confirm(
    ctx: &Context,
    scheme: Scheme,
    token: &str,
    cnf: Option<&Confirmation>,
    request: &DpopRequest<'_>,
) -> Result<Option<Proof>, OAuthError> {
    let bound = match (scheme, cnf) {
        (Scheme::Bearer, None) => return Ok(None),
        (Scheme::Bearer, Some(_)) => {
            return Err(OAuthError::invalid_token(
                "the access token is DPoP-bound: present it with the DPoP scheme and a proof",
            )
            .with_dpop_challenge())
        }
        (Scheme::DPoP, None) => {
            return Err(OAuthError::invalid_token(
                "the access token is not DPoP-bound: present it with the Bearer scheme",
            )
            .with_dpop_challenge())
        }
        (Scheme::DPoP, Some(cnf)) => cnf,
    };
    let proof = check(ctx, request, Some(token))
        .await
        .map_err(OAuthError::with_dpop_challenge)?
        .ok_or_else(|| {
            OAuthError::invalid_dpop_proof("a DPoP proof is required with a DPoP access token")
                .with_dpop_challenge()
        })?;
    if proof.jkt != bound.jkt {
        return Err(OAuthError::invalid_dpop_proof(
            "the DPoP proof is signed by another key than the one the access token is bound to",
        )
        .with_dpop_challenge());
    }
    Ok(Some(proof))
}

/// The `DPoP-Nonce` to hand out with a successful answer to a DPoP request (RFC 9449 §8.2),
/// when nonces are required: the client's next proof can use it without a failed round trip.
pub fn next_nonce(ctx: &Context, proof: Option<&Proof>) -> Option<String> {
    (proof.is_some() && ctx.settings().dpop.require_nonce)
        .then(|| nonce::issue(ctx.derived_keys(), ctx.clock().now_secs()))
}

/// `ath`: the base64url SHA-256 of an access token, as a proof presenting it carries.
pub fn access_token_hash(access_token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(crate::secret::sha256(access_token.as_bytes()))
}

#[cfg(test)]
mod tests;
