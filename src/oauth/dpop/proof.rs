//! Verifying one DPoP proof JWT against the request it came with (RFC 9449 §4.3), purely: no
//! store, no clock of its own. The order is the cheap checks of the header first, then the one
//! signature verification, and only then the claims — nothing an unverified proof says is acted
//! on. What needs the store (the `jti` replay cache) and the server nonce are `dpop::check`'s.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::jwk::{ProofAlgorithm, ProofKey};
use crate::error::{OAuthError, DPOP_ALGS};

/// Longest proof accepted: an RSA-8192 `jwk` and signature fit, with room for the claims.
const MAX_PROOF_LEN: usize = 8 * 1024;
/// Longest `jti` accepted (RFC 9449 §4.2 asks for at least 96 bits of randomness; 256
/// characters is generous).
const MAX_JTI_LEN: usize = 256;

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The request's method (`htm`).
    pub method: &'a str,
    /// The endpoint's URL (`htu`, compared without query and fragment).
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
    /// ferrid's clock, seconds since the epoch.
    pub now: u64,
    /// `dpop.max_age_secs`.
    pub max_age_secs: u64,
    /// `dpop.clock_skew_secs`.
    pub clock_skew_secs: u64,
}

/// A proof that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    pub jti: String,
    pub iat: u64,
    /// The server nonce the proof carries, for the caller to judge.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: Option<String>,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<Value>,
    ath: Option<String>,
    nonce: Option<String>,
}

fn invalid(reason: impl std::fmt::Display) -> OAuthError {
    OAuthError::invalid_dpop_proof(format!("DPoP proof: {reason}"))
}

fn decode_part<T: for<'de> Deserialize<'de>>(part: &str, name: &str) -> Result<T, OAuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("the {name} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid(format!("the {name} is not a JSON object")))
}

/// Verifies `proof` for the request `expected` describes.
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, OAuthError> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(invalid(format!("longer than {MAX_PROOF_LEN} characters")));
    }
    let mut parts = proof.split('.');
    let (Some(header_part), Some(claims_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a compact JWS (three base64url parts)"));
    };
    let header: Header = decode_part(header_part, "header")?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt"))
    {
        return Err(invalid("typ must be dpop+jwt"));
    }
    if header.crit.is_some() {
        return Err(invalid("crit names extensions ferrid does not understand"));
    }
    let alg = header.alg.as_deref().unwrap_or_default();
    let alg = ProofAlgorithm::parse(alg).ok_or_else(|| {
        invalid(format!(
            "alg `{alg}` is not supported; use one of {}",
            DPOP_ALGS.join(", ")
        ))
    })?;
    let jwk = header
        .jwk
        .ok_or_else(|| invalid("the header has no jwk (the public key)"))?;
    let key = ProofKey::parse(&jwk, alg).map_err(invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| invalid("the signature is not base64url"))?;
    let signed = &proof[..header_part.len() + 1 + claims_part.len()];
    if !key.verifies(alg, signed.as_bytes(), &signature) {
        return Err(invalid(
            "the signature does not verify with the jwk in its header",
        ));
    }

    let claims: Claims = decode_part(claims_part, "payload")?;
    let jti = claims
        .jti
        .filter(|jti| !jti.is_empty())
        .ok_or_else(|| invalid("jti is missing"))?;
    if jti.len() > MAX_JTI_LEN {
        return Err(invalid(format!(
            "jti is longer than {MAX_JTI_LEN} characters"
        )));
    }
    match claims.htm.as_deref() {
        Some(htm) if htm == expected.method => {}
        Some(htm) => {
            return Err(invalid(format!(
                "htm `{htm}` is not the request's method {}",
                expected.method
            )))
        }
        None => return Err(invalid("htm is missing")),
    }
    let htu = claims.htu.ok_or_else(|| invalid("htu is missing"))?;
    if !same_target(&htu, expected.url) {
        return Err(invalid(format!(
            "htu `{htu}` is not this endpoint ({})",
            expected.url
        )));
    }
    let iat = claims
        .iat
        .as_ref()
        .and_then(Value::as_u64)
        .ok_or_else(|| invalid("iat is missing or not a number of seconds"))?;
    if iat.saturating_add(expected.max_age_secs) < expected.now {
        return Err(invalid(format!(
            "iat is more than {} seconds in the past; make a fresh proof for every request",
            expected.max_age_secs
        )));
    }
    if iat > expected.now.saturating_add(expected.clock_skew_secs) {
        return Err(invalid("iat is in the future; check the client's clock"));
    }
    if let Some(token) = expected.access_token {
        let hash = super::access_token_hash(token);
        match claims.ath.as_deref() {
            Some(ath) if bool::from(ath.as_bytes().ct_eq(hash.as_bytes())) => {}
            Some(_) => return Err(invalid("ath is not the hash of the access token presented")),
            None => {
                return Err(invalid(
                    "ath is missing: a proof sent with an access token must carry its hash",
                ))
            }
        }
    }
    Ok(Proof {
        jkt: key.thumbprint().to_owned(),
        jti,
        iat,
        nonce: claims.nonce,
    })
}

/// RFC 9449 §4.3 (9): `htu` names the request's URI, ignoring query and fragment, after the
/// syntax-based normalisation of RFC 3986 §6.2.2 and §6.2.3 (case of scheme and host, default
/// port, percent-encoding), which parsing both with `url` performs.
fn same_target(htu: &str, expected: &str) -> bool {
    let (Ok(mut htu), Ok(mut expected)) = (url::Url::parse(htu), url::Url::parse(expected)) else {
        return false;
    };
    for url in [&mut htu, &mut expected] {
        url.set_query(None);
        url.set_fragment(None);
    }
    htu == expected
}
