//! The token endpoint's domain entry (RFC 6749 §3.2) and its grants. A grant is a unit: it names
//! its `grant_type`, reads and validates its own parameters from the request, and produces the
//! token response. `exchange` authenticates the client, finds the grant for the requested
//! `grant_type`, checks the client may use it, and hands the request over. Every rejection is
//! logged once, with its reason, inside the request's span (which carries the request id), and
//! counted by its error code (`ferrid_token_errors_total`; the HTTP layer counts the requests
//! that never get here, such as a malformed body).
//!
//! Adding a grant is one new module implementing `Grant`, its `GrantType` variant, and one line
//! in `GRANTS` (in the spirit of node-oidc-provider's `registerGrantType`).
//!
//! A DPoP proof (RFC 9449) is checked here, once, for every grant: the grant receives the
//! verified proof and binds what it issues to the proof's key.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;
pub mod user_tokens;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::access_token::Confirmation;
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::clients::Client;
use crate::oauth::dpop::{self, DpopRequest, Proof};

/// Every grant the token endpoint serves, in the order discovery lists them.
const GRANTS: [&dyn Grant; 3] = [
    &authorization_code::AuthorizationCodeGrant,
    &client_credentials::ClientCredentialsGrant,
    &refresh_token::RefreshTokenGrant,
];

/// A grant type the token endpoint serves.
#[async_trait]
pub trait Grant: Sync {
    /// The `grant_type` value this grant answers.
    fn grant_type(&self) -> GrantType;

    /// Issues tokens to `client` — authenticated, and registered for this grant — reading and
    /// validating the grant's own parameters from `params`; bound to `dpop`'s key when the
    /// request carried a valid DPoP proof.
    async fn exchange(
        &self,
        ctx: &Context,
        client: &Client,
        params: &TokenParameters,
        dpop: Option<&Proof>,
    ) -> Result<TokenSet, OAuthError>;
}

/// The grant types ferrid implements, as clients are registered for them and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.1, with PKCE (RFC 7636).
    AuthorizationCode,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 6749 §6, with rotation and reuse detection.
    RefreshToken,
}

impl GrantType {
    /// Every served grant type, as discovery lists them.
    pub fn all() -> impl Iterator<Item = GrantType> {
        GRANTS.into_iter().map(|grant| grant.grant_type())
    }

    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// Parses a `grant_type` value; `None` for anything ferrid does not serve.
    pub fn parse(name: &str) -> Option<Self> {
        Self::all().find(|grant| grant.as_str() == name)
    }
}

/// The token request's parameters by name, as the client sent them (each at most once: the HTTP
/// layer refuses a repeated parameter). `grant_type` and the client credentials are read by
/// `exchange`; everything else by the grant. `Debug` shows the names only: values include codes,
/// verifiers and refresh tokens.
#[derive(Clone, Default)]
pub struct TokenParameters {
    values: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for TokenParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl TokenParameters {
    /// Parameters from `(name, value)` pairs; absent values are skipped.
    pub fn new(pairs: impl IntoIterator<Item = (&'static str, Option<String>)>) -> Self {
        let values = pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name, value)))
            .collect();
        Self { values }
    }

    /// A parameter's value. RFC 6749 §3.1: a parameter sent without a value is treated as if it
    /// were omitted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// A required parameter's value, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// How the access token is to be presented (RFC 6749 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// RFC 6750: whoever holds the token may use it.
    Bearer,
    /// RFC 9449: the token is bound to a DPoP key; each use needs a proof by that key.
    DPoP,
}

impl TokenType {
    /// The `token_type` value of the response.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        }
    }

    /// `DPoP` for a request that carried a proof, `Bearer` otherwise.
    pub fn for_proof(dpop: Option<&Proof>) -> Self {
        if dpop.is_some() {
            Self::DPoP
        } else {
            Self::Bearer
        }
    }
}

/// The `cnf` claim binding an access token to the proof's key (RFC 9449 §6.1).
pub fn confirmation(dpop: Option<&Proof>) -> Option<Confirmation> {
    dpop.map(|proof| Confirmation {
        jkt: proof.jkt.clone(),
    })
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scope, space-separated.
    pub scope: String,
    /// OIDC ID token, for `openid` grants.
    pub id_token: Option<String>,
    /// A refresh token, for grants that get one.
    pub refresh_token: Option<String>,
    /// RFC 9449 §8.2: the nonce for the client's next DPoP proof, when nonces are required.
    pub dpop_nonce: Option<String>,
}

/// Handles one token request.
pub async fn exchange(
    ctx: &Context,
    credentials: ClientCredentials,
    grant_type: &str,
    params: &TokenParameters,
    dpop: &DpopRequest<'_>,
) -> Result<TokenSet, OAuthError> {
    let result = dispatch(ctx, credentials, grant_type, params, dpop).await;
    if let Err(err) = &result {
        crate::telemetry::metrics::token_error(err.code().as_str());
        tracing::info!(
            grant_type = %grant_type,
            error = %err.code(),
            reason = err.description().unwrap_or_default(),
            "token request rejected"
        );
    }
    result
}

async fn dispatch(
    ctx: &Context,
    credentials: ClientCredentials,
    grant_type: &str,
    params: &TokenParameters,
    dpop: &DpopRequest<'_>,
) -> Result<TokenSet, OAuthError> {
    let client = client_auth::authenticate(ctx, credentials).await?;
    let grant = GRANTS
        .into_iter()
        .find(|grant| grant.grant_type().as_str() == grant_type)
        .ok_or_else(|| {
            let supported: Vec<&str> = GrantType::all().map(GrantType::as_str).collect();
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type `{grant_type}` is not supported; supported: {}",
                    supported.join(", ")
                ),
            )
        })?;
    if !client.allows_grant(grant.grant_type()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client `{}` is not allowed to use the {grant_type} grant",
                client.client_id
            ),
        ));
    }
    let proof = dpop::check(ctx, dpop, None).await?;
    if proof.is_none() && client.dpop_bound_access_tokens {
        return Err(OAuthError::invalid_dpop_proof(format!(
            "client `{}` must send a DPoP proof with every token request \
             (dpop_bound_access_tokens)",
            client.client_id
        )));
    }
    let mut set = grant.exchange(ctx, &client, params, proof.as_ref()).await?;
    set.dpop_nonce = dpop::next_nonce(ctx, proof.as_ref());
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_type_is_served_once_and_round_trips() {
        let all: Vec<GrantType> = GrantType::all().collect();
        for grant_type in [
            GrantType::AuthorizationCode,
            GrantType::ClientCredentials,
            GrantType::RefreshToken,
        ] {
            assert_eq!(all.iter().filter(|g| **g == grant_type).count(), 1);
            assert_eq!(GrantType::parse(grant_type.as_str()), Some(grant_type));
        }
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(GrantType::parse("implicit"), None);
    }

    #[test]
    fn an_empty_parameter_counts_as_absent() {
        let params = TokenParameters::new([
            ("code", Some(String::new())),
            ("scope", Some("read".to_owned())),
            ("resource", None),
        ]);
        assert_eq!(params.get("code"), None);
        assert_eq!(params.get("scope"), Some("read"));
        assert_eq!(params.get("resource"), None);
        assert_eq!(format!("{params:?}"), r#"{"code", "scope"}"#);
        let err = params.require("code").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert_eq!(err.description(), Some("code is required"));
    }
}
