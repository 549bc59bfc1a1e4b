//! `[[clients]]` and `[[scopes]]`. A client entry keeps the keys operators already use (`id`,
//! `name`, `secret` / `secret_sha256`, `public`, `scopes`, …) and maps onto the RFC 7591
//! `ClientMetadata` that the one client validator checks (`oauth::clients::validate`); a failure
//! names the entry's own key (`clients[2].scopes`). Only the secret is the config's own concern:
//! given in clear (hashed here) or as its SHA-256.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::oauth::clients::{
    self, AuthMethod, Client, ClientMetadata, Rules, SWAGGER_UI_CLIENT_ID,
};
use crate::oauth::scope;
use crate::oauth::scope_catalog::{ScopeCatalog, BUILT_IN};
use crate::secret::{sha256, Digest256, SecretString};

/// A `[[clients]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    pub id: String,
    pub name: Option<String>,
    pub secret: Option<SecretString>,
    pub secret_sha256: Option<String>,
    pub public: bool,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub default_scopes: Option<Vec<String>>,
    pub audiences: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub skip_consent: bool,
    /// Issue refresh tokens even without the `offline_access` scope (needs the
    /// `refresh_token` grant type).
    pub issue_refresh_tokens: bool,
    /// `rotate` (default: every refresh returns a new refresh token) or `reuse` (the refresh
    /// token stays the same, for platforms that keep old ones).
    pub refresh_token_rotation: Option<String>,
    /// A trusted resource server that may introspect any active token, not only those issued
    /// to it or naming it in `aud`.
    pub introspect_any_token: bool,
    /// Browser origins (`https://app.example.com`) allowed to call ferrid for this client.
    pub allowed_cors_origins: Vec<String>,
    /// The client's public keys (RFC 7591 `jwks`, a JWK Set) for `private_key_jwt`; not with
    /// `jwks_uri`.
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys (RFC 7591 `jwks_uri`).
    pub jwks_uri: Option<String>,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof (access tokens are always
    /// DPoP-bound). Implied by `profile = "fapi2"`.
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126 §6: authorization requests must be pushed to `/par` first. Implied by
    /// `profile = "fapi2"`.
    pub require_pushed_authorization_requests: Option<bool>,
    /// `fapi2`: hold the client to the FAPI 2.0 Security Profile (see `oauth::profile`).
    pub profile: Option<String>,
}

/// A `[[scopes]]` entry: a scope the operator's clients may be given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeConfig {
    /// The scope token, e.g. `invoices:read`.
    pub name: String,
    /// What it grants, for people.
    pub description: Option<String>,
}

impl ClientConfig {
    /// The entry as RFC 7591 metadata. The authentication method follows `public` unless
    /// `token_endpoint_auth_method` names one; `grant_types` is exactly the list given.
    pub fn metadata(&self) -> ClientMetadata {
        let method = match (&self.token_endpoint_auth_method, self.public) {
            (Some(method), _) => method.clone(),
            (None, true) => AuthMethod::None.as_str().to_owned(),
            (None, false) => AuthMethod::ClientSecretBasic.as_str().to_owned(),
        };
        ClientMetadata {
            client_name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            grant_types: Some(self.grant_types.clone()),
            response_types: None,
            scope: Some(self.scopes.join(" ")),
            token_endpoint_auth_method: Some(method),
            jwks: self.jwks.clone(),
            jwks_uri: self.jwks_uri.clone(),
            allowed_cors_origins: self.allowed_cors_origins.clone(),
            default_scope: self.default_scopes.as_ref().map(|scopes| scopes.join(" ")),
            audiences: self.audiences.clone(),
            skip_consent: self.skip_consent,
            issue_refresh_tokens: self.issue_refresh_tokens,
            refresh_token_rotation: self.refresh_token_rotation.clone(),
            introspect_any_token: self.introspect_any_token,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            profile: self.profile.clone(),
        }
    }

    /// The SHA-256 of the entry's secret; the error names the key at fault.
    fn secret_digest(&self) -> Result<Option<Digest256>, (&'static str, String)> {
        match (&self.secret, &self.secret_sha256) {
            (Some(_), Some(_)) => Err((
                "secret",
                "give `secret` or `secret_sha256`, not both".into(),
            )),
            (Some(secret), None) if secret.is_empty() => {
                Err(("secret", "must not be empty".into()))
            }
            (Some(secret), None) => Ok(Some(sha256(secret.expose().as_bytes()))),
            (None, Some(hex_digest)) => hex::decode(hex_digest.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .map(Some)
                .ok_or((
                    "secret_sha256",
                    "must be 64 hex digits (a SHA-256 digest)".into(),
                )),
            (None, None) => Ok(None),
        }
    }

    /// The client this entry provisions, checked by the one client validator; the error is
    /// `(key, message)` with the entry's own key name.
    pub fn to_client(&self, rules: &Rules<'_>) -> Result<Client, (String, String)> {
        let fail = |key: &str, message: String| Err((key.to_owned(), message));
        let secret = match self.secret_digest() {
            Ok(secret) => secret,
            Err((key, message)) => return fail(key, message),
        };
        let metadata = self.metadata();
        let method = metadata.token_endpoint_auth_method.as_deref();
        let public_method = method == Some(AuthMethod::None.as_str());
        if self.public != public_method && method.is_some_and(|m| AuthMethod::parse(m).is_some()) {
            return fail(
                "token_endpoint_auth_method",
                "`none` is for public clients, and public clients must use `none`".into(),
            );
        }
        let parsed = AuthMethod::parse(method.unwrap_or_default());
        match (self.public, secret.is_some()) {
            (true, true) => return fail("secret", "a public client has no secret".into()),
            (false, true) if parsed == Some(AuthMethod::PrivateKeyJwt) => {
                return fail(
                    "secret",
                    "a private_key_jwt client has no secret; it signs with a key of its `jwks` \
                     or `jwks_uri`"
                        .into(),
                )
            }
            (false, false) if parsed.is_some_and(AuthMethod::uses_secret) => {
                return fail(
                    "secret",
                    "a confidential client needs `secret` or `secret_sha256` (or set \
                     `public = true`)"
                        .into(),
                )
            }
            _ => {}
        }
        let mut client = clients::validate(&self.id, &metadata, secret, rules)
            .map_err(|err| (config_key(err.field).to_owned(), err.description))?;
        client.from_config = true;
        Ok(client)
    }
}

impl ClientConfig {
    /// The client this entry provisions on its own (tests, benchmarks): its scopes are its
    /// catalog, and redirect URIs are checked against the default issuer.
    pub fn to_client_alone(&self) -> Result<Client, (String, String)> {
        let named = self
            .scopes
            .iter()
            .chain(self.default_scopes.iter().flatten())
            .map(String::as_str);
        let catalog = ScopeCatalog::new([], named);
        let issuer = super::Settings::default().issuer;
        self.to_client(&Rules {
            catalog: &catalog,
            issuer: &issuer,
        })
    }
}

/// The config key of a metadata field.
fn config_key(field: &str) -> &str {
    match field {
        "client_id" => "id",
        "client_name" => "name",
        "scope" => "scopes",
        "default_scope" => "default_scopes",
        other => other,
    }
}

/// Checks every `[[clients]]` entry against `catalog`, naming the first bad key.
pub fn validate_clients(
    configs: &[ClientConfig],
    catalog: &ScopeCatalog,
    issuer: &str,
) -> Result<(), ConfigError> {
    let rules = Rules { catalog, issuer };
    for (index, config) in configs.iter().enumerate() {
        config.to_client(&rules).map_err(|(field, message)| {
            ConfigError::new(format!("clients[{index}].{field}"), message)
        })?;
        if configs[..index].iter().any(|other| other.id == config.id) {
            return Err(ConfigError::new(
                format!("clients[{index}].id"),
                format!("`{}` is listed twice", config.id),
            ));
        }
    }
    Ok(())
}

/// Checks every `[[scopes]]` entry: a valid scope token, declared once, not a built-in one.
pub fn validate_scopes(scopes: &[ScopeConfig]) -> Result<(), ConfigError> {
    for (index, declared) in scopes.iter().enumerate() {
        let key = format!("scopes[{index}].name");
        if !scope::is_valid_token(&declared.name) {
            return Err(ConfigError::new(
                key,
                format!(
                    "`{}` is not a valid scope token (RFC 6749 §3.3)",
                    declared.name
                ),
            ));
        }
        if BUILT_IN.iter().any(|(name, _)| *name == declared.name) {
            return Err(ConfigError::new(
                key,
                format!(
                    "`{}` is built in; declare only your own scopes",
                    declared.name
                ),
            ));
        }
        if scopes[..index]
            .iter()
            .any(|other| other.name == declared.name)
        {
            return Err(ConfigError::new(
                key,
                format!("`{}` is declared twice", declared.name),
            ));
        }
    }
    Ok(())
}

/// The built-in Swagger UI client: public (PKCE), redirecting only to ferrid's own docs page,
/// asking consent like any third-party client. A `[[clients]]` entry with the same id replaces it.
pub fn swagger_ui_client(issuer: &str) -> ClientConfig {
    ClientConfig {
        id: SWAGGER_UI_CLIENT_ID.into(),
        name: Some("ferrid API docs (Swagger UI)".into()),
        public: true,
        grant_types: vec!["authorization_code".into()],
        scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
        redirect_uris: vec![format!("{issuer}/docs/oauth-receiver.html")],
        ..ClientConfig::default()
    }
}

#[cfg(test)]
mod tests;
