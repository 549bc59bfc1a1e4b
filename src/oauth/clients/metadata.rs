//! `ClientMetadata`: what a client is registered with, under the RFC 7591 §2 names (plus
//! `post_logout_redirect_uris` from OpenID Connect RP-Initiated Logout and `allowed_cors_origins`)
//! and ferrid's own fields. It is the one input of `validate`: the config's `[[clients]]` entries
//! map onto it, the admin API and the CLI take it as JSON, and dynamic registration reads it
//! from the RFC 7591 request as it is. `Client::metadata` renders a stored client back.

use serde::{Deserialize, Serialize};

use super::{AuthMethod, Client};

/// RFC 7591 client metadata and ferrid's own registration fields. Absent fields take the
/// RFC 7591 defaults: `grant_types` `["authorization_code"]`, `response_types` `["code"]` (with
/// the authorization_code grant), `token_endpoint_auth_method` `client_secret_basic`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientMetadata {
    /// Shown to people on the login and consent pages; the client id when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Where authorization responses may be sent (exact match).
    pub redirect_uris: Vec<String>,
    /// Where people may be sent after logging out (exact match).
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `client_credentials`, `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// `code`, exactly when the authorization_code grant is registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Space-separated scopes the client may request, each from the scope catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` (with `jwks` or
    /// `jwks_uri`), or `none` for a public client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set, no private members) that verify its `private_key_jwt`
    /// assertions; not with `jwks_uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set (https; plain http only on a loopback host); not
    /// with `jwks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Browser origins (`https://app.example.com`) allowed to call ferrid for this client.
    pub allowed_cors_origins: Vec<String>,
    /// ferrid: space-separated scopes granted when a request names none (default: `scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_scope: Option<String>,
    /// ferrid: audiences (`resource` / `audience`) the client may request tokens for.
    pub audiences: Vec<String>,
    /// ferrid: a first-party app whose users are not asked for consent.
    pub skip_consent: bool,
    /// ferrid: refresh tokens even without `offline_access` (needs the refresh_token grant).
    pub issue_refresh_tokens: bool,
    /// ferrid: `rotate` (default) or `reuse` (confidential clients only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_rotation: Option<String>,
    /// ferrid: a trusted resource server that may introspect any active token.
    pub introspect_any_token: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof. Implied by `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126 §6: authorization requests must be pushed to `/par`. Implied by `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// ferrid: `fapi2` holds the client to the FAPI 2.0 Security Profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl Client {
    /// The metadata this client was registered with, with every default spelled out.
    pub fn metadata(&self) -> ClientMetadata {
        let code = self
            .grant_types
            .contains(&crate::oauth::grants::GrantType::AuthorizationCode);
        ClientMetadata {
            client_name: Some(self.name.clone()),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: Some(
                self.grant_types
                    .iter()
                    .map(|grant| grant.as_str().to_owned())
                    .collect(),
            ),
            response_types: Some(if code { vec!["code".into()] } else { vec![] }),
            scope: Some(self.scopes.join(" ")),
            token_endpoint_auth_method: Some(self.auth_method.as_str().to_owned()),
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            allowed_cors_origins: self.allowed_cors_origins.clone(),
            default_scope: Some(self.default_scopes.join(" ")),
            audiences: self.audiences.clone(),
            skip_consent: self.skip_consent,
            issue_refresh_tokens: self.issue_refresh_tokens,
            refresh_token_rotation: Some(self.refresh_token_rotation.as_str().to_owned()),
            introspect_any_token: self.introspect_any_token,
            dpop_bound_access_tokens: Some(self.dpop_bound_access_tokens),
            require_pushed_authorization_requests: Some(self.require_pushed_authorization_requests),
            profile: (self.profile == crate::oauth::profile::Profile::Fapi2)
                .then(|| "fapi2".to_owned()),
        }
    }

    /// Whether the client is public (authenticates with `client_id` alone).
    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Whether every authorization request of the client needs PKCE: a public client's, and a
    /// FAPI 2.0 client's.
    pub fn requires_pkce(&self) -> bool {
        self.is_public() || self.profile == crate::oauth::profile::Profile::Fapi2
    }
}
