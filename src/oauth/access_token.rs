//! Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed RS256 by the key ring's active key.
//! No `nbf` — resource servers whose clocks run behind would reject fresh tokens — and a random
//! 128-bit `jti`, so a token can be revoked by id. A DPoP-bound token carries `cnf.jkt`
//! (RFC 9449 §6.1), which resource servers match against the proof presented with it. A token
//! issued from a refresh-token family carries the family's id (`fid`), so that revoking the
//! family revokes it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::error::OAuthError;
use crate::keys::{KeyRing, TokenType};
use crate::secret::random_bytes;

/// RFC 9068 §2.2 claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: u64,
    pub iat: u64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The user's roles, present when the `roles` scope was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// RFC 7800 / RFC 9449 §6.1: the key the token is bound to; absent for bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The refresh-token family (the grant) the token was issued from, so that revoking the
    /// family revokes it with one marker (`deny_list`); absent when the grant has no refresh
    /// tokens (client credentials, a code redeemed without `offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<String>,
}

/// The `cnf` claim of a sender-constrained token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// RFC 9449 §6.1: the RFC 7638 SHA-256 thumbprint of the DPoP key.
    pub jkt: String,
}

/// `aud`: a string for one audience, an array for several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl From<Vec<String>> for Audience {
    fn from(mut audiences: Vec<String>) -> Self {
        if audiences.len() == 1 {
            Self::One(audiences.remove(0))
        } else {
            Self::Many(audiences)
        }
    }
}

/// The `Authorization` scheme an access token was presented with at a protected resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 6750 (also the `access_token` form field of §2.2).
    Bearer,
    /// RFC 9449 §7.1, with a DPoP proof beside it.
    DPoP,
}

/// An access token as a protected resource received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub scheme: Scheme,
    pub token: String,
}

/// What to put in an access token.
pub struct AccessTokenRequest<'a> {
    /// From `new_jti`; known before signing so a code redemption can record it.
    pub jti: String,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub client_id: &'a str,
    pub audiences: Vec<String>,
    pub scopes: &'a [String],
    pub roles: Option<Vec<String>>,
    pub issued_at: u64,
    pub ttl_secs: u64,
    /// The DPoP key the token is bound to, if any.
    pub cnf: Option<Confirmation>,
    /// The refresh-token family the token comes from, if any.
    pub family: Option<&'a str>,
}

/// A signed access token and its claims.
pub struct AccessToken {
    pub token: String,
    pub claims: AccessTokenClaims,
}

/// A fresh random token id (128 bits).
pub fn new_jti() -> Result<String, OAuthError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<16>().map_err(OAuthError::server_error)?))
}

/// Signs an access token with the ring's active key.
pub fn mint(ring: &KeyRing, request: AccessTokenRequest<'_>) -> Result<AccessToken, OAuthError> {
    let jti = request.jti;
    let claims = AccessTokenClaims {
        iss: request.issuer.to_owned(),
        sub: request.subject.to_owned(),
        aud: request.audiences.into(),
        exp: request.issued_at + request.ttl_secs,
        iat: request.issued_at,
        jti,
        client_id: request.client_id.to_owned(),
        scope: request.scopes.join(" "),
        roles: request.roles,
        cnf: request.cnf,
        fid: request.family.map(str::to_owned),
    };
    let token = ring
        .sign(TokenType::AccessToken, &claims)
        .map_err(OAuthError::server_error)?;
    Ok(AccessToken { token, claims })
}

/// Verifies an access token issued by ferrid: `typ: at+jwt` (so an ID token is never accepted
/// in its place, RFC 9068 §4), RS256 signature by a key of the ring, `iss`, and `exp`. The
/// audience is the caller's to check. Expiry is judged against `now` (ferrid's clock).
pub fn verify(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    now: u64,
) -> Result<AccessTokenClaims, OAuthError> {
    let claims = verify_signature(ring, token, issuer)?;
    if claims.exp <= now {
        return Err(OAuthError::invalid_token("the access token has expired"));
    }
    Ok(claims)
}

/// The claims of an access token this ferrid signed — `typ`, signature and `iss` checked as by
/// `verify` — whether or not it has expired: who a token was issued to stays true after it
/// ends (the CORS answer to a request presenting an expired token).
pub fn verify_signature(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
) -> Result<AccessTokenClaims, OAuthError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| OAuthError::invalid_token("the access token is not a JWT"))?;
    if header.typ.as_deref() != Some("at+jwt") {
        return Err(OAuthError::invalid_token(
            "the token is not an access token (typ at+jwt)",
        ));
    }
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let claims: AccessTokenClaims = ring
        .verify(token, &validation)
        .map_err(|_| OAuthError::invalid_token("the access token is invalid"))?;
    Ok(claims)
}
