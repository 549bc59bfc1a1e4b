//! Registered clients: what each may do (grant types, scopes, audiences, redirect URIs) and how
//! it authenticates. Secrets are kept only as SHA-256 digests — client secrets are generated,
//! high-entropy values, so a fast hash is safe and keeps Argon2 off the token hot path — and
//! compared in constant time. Bootstrap clients come from `[[clients]]` in the config.

use serde::{Deserialize, Serialize};

use crate::config::{ClientConfig, ConfigError};
use crate::oauth::grants::GrantType;
use crate::oauth::profile::{self, Profile};
use crate::oauth::{redirect_uri, scope};
use crate::secret::{digests_equal, sha256, Digest256};
use crate::store::{self, keyspace, Store, StoreError};

/// How a client proves its identity at the token endpoint (RFC 7591 names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the request body.
    ClientSecretPost,
    /// A public client: `client_id` only (PKCE protects its grants).
    None,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None]
            .into_iter()
            .find(|method| method.as_str() == name)
    }
}

/// What a refresh does to the refresh token presented.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationPolicy {
    /// Every refresh returns a new refresh token and retires the presented one.
    #[default]
    Rotate,
    /// The refresh token stays valid and is returned again.
    Reuse,
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    /// Shown to people on the login and consent pages.
    pub name: String,
    #[serde(with = "hex_digest")]
    secret_sha256: Option<Digest256>,
    pub auth_method: AuthMethod,
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Scopes granted when a request names none.
    pub default_scopes: Vec<String>,
    /// Audiences (`resource` / `audience`) the client may request tokens for.
    pub audiences: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub skip_consent: bool,
    /// Refresh tokens without `offline_access` (still only with the refresh_token grant).
    #[serde(default)]
    pub issue_refresh_tokens: bool,
    #[serde(default)]
    pub refresh_token_rotation: RotationPolicy,
    /// May introspect any active token (a trusted resource server).
    #[serde(default)]
    pub introspect_any_token: bool,
    /// RFC 9449 §5.2: every token request must carry a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6: `/authorize` serves only requests pushed to `/par`.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// The security profile the client is held to (`fapi2`).
    #[serde(default)]
    pub profile: Profile,
}

impl Client {
    /// Builds a client from its config entry; the error names the offending field.
    pub fn from_config(config: &ClientConfig) -> Result<Self, (String, String)> {
        let fail = |field: &str, message: String| Err((field.to_owned(), message));
        if config.id.trim().is_empty() || config.id.chars().any(|c| c.is_control()) {
            return fail(
                "id",
                "must be a non-empty string without control characters".into(),
            );
        }
        let secret_sha256 = match (&config.secret, &config.secret_sha256) {
            (Some(_), Some(_)) => {
                return fail(
                    "secret",
                    "give `secret` or `secret_sha256`, not both".into(),
                )
            }
            (Some(secret), None) if secret.is_empty() => {
                return fail("secret", "must not be empty".into())
            }
            (Some(secret), None) => Some(sha256(secret.expose().as_bytes())),
            (None, Some(hex_digest)) => match hex::decode(hex_digest.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
            {
                Some(digest) => Some(digest),
                None => {
                    return fail(
                        "secret_sha256",
                        "must be 64 hex digits (a SHA-256 digest)".into(),
                    )
                }
            },
            (None, None) => None,
        };
        let auth_method = match (&config.token_endpoint_auth_method, config.public) {
            (Some(name), _) => match AuthMethod::parse(name) {
                Some(method) => method,
                None => {
                    return fail(
                        "token_endpoint_auth_method",
                        format!(
                            "`{name}` is not one of client_secret_basic, client_secret_post, none"
                        ),
                    )
                }
            },
            (None, true) => AuthMethod::None,
            (None, false) => AuthMethod::ClientSecretBasic,
        };
        if config.public != (auth_method == AuthMethod::None) {
            return fail(
                "token_endpoint_auth_method",
                "`none` is for public clients, and public clients must use `none`".into(),
            );
        }
        if config.public && secret_sha256.is_some() {
            return fail("secret", "a public client has no secret".into());
        }
        if !config.public && secret_sha256.is_none() {
            return fail(
                "secret",
                "a confidential client needs `secret` or `secret_sha256` (or set `public = true`)"
                    .into(),
            );
        }
        let mut grant_types = Vec::new();
        for name in &config.grant_types {
            match GrantType::parse(name) {
                Some(grant) if !grant_types.contains(&grant) => grant_types.push(grant),
                Some(_) => {}
                None => {
                    return fail(
                        "grant_types",
                        format!(
                            "`{name}` is not a grant type this ferrid implements ({})",
                            GrantType::all()
                                .map(GrantType::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                }
            }
        }
        if config.public && grant_types.contains(&GrantType::ClientCredentials) {
            return fail(
                "grant_types",
                "public clients cannot use client_credentials".into(),
            );
        }
        for uri in config
            .redirect_uris
            .iter()
            .chain(&config.post_logout_redirect_uris)
        {
            if let Err(message) = redirect_uri::validate_registered(uri) {
                return fail("redirect_uris", message);
            }
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && config.redirect_uris.is_empty() {
            return fail(
                "redirect_uris",
                "the authorization_code grant needs at least one redirect URI".into(),
            );
        }
        for name in &config.scopes {
            if !scope::is_valid_token(name) {
                return fail(
                    "scopes",
                    format!("`{name}` is not a valid scope token (RFC 6749 §3.3)"),
                );
            }
        }
        let refresh_token_rotation = match config.refresh_token_rotation.as_deref() {
            None | Some("rotate") => RotationPolicy::Rotate,
            // RFC 9700 §4.14.2: a public client's refresh tokens must be sender-constrained or
            // rotate; they are bound to a key only when every request carries a DPoP proof.
            Some("reuse") if config.public && config.dpop_bound_access_tokens != Some(true) => {
                return fail(
                    "refresh_token_rotation",
                    format!(
                        "client `{}` is public: its refresh tokens must rotate (RFC 9700 §4.14.2); \
                         remove `reuse`, make the client confidential, or bind its tokens with \
                         dpop_bound_access_tokens = true",
                        config.id
                    ),
                )
            }
            Some("reuse") => RotationPolicy::Reuse,
            Some(other) => {
                return fail(
                    "refresh_token_rotation",
                    format!("`{other}` is not `rotate` or `reuse`"),
                )
            }
        };
        let default_scopes = config
            .default_scopes
            .clone()
            .unwrap_or_else(|| config.scopes.clone());
        if let Some(extra) = default_scopes.iter().find(|s| !config.scopes.contains(s)) {
            return fail("default_scopes", format!("`{extra}` is not in `scopes`"));
        }
        let resolved = profile::resolve(config)?;
        Ok(Self {
            client_id: config.id.clone(),
            name: config.name.clone().unwrap_or_else(|| config.id.clone()),
            secret_sha256,
            auth_method,
            grant_types,
            scopes: config.scopes.clone(),
            default_scopes,
            audiences: config.audiences.clone(),
            redirect_uris: config.redirect_uris.clone(),
            post_logout_redirect_uris: config.post_logout_redirect_uris.clone(),
            skip_consent: config.skip_consent,
            issue_refresh_tokens: config.issue_refresh_tokens,
            refresh_token_rotation,
            introspect_any_token: config.introspect_any_token,
            dpop_bound_access_tokens: resolved.dpop_bound_access_tokens,
            require_pushed_authorization_requests: resolved.require_pushed_authorization_requests,
            profile: resolved.profile,
        })
    }

    /// Whether `secret` is this client's secret (constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_sha256
            .as_ref()
            .is_some_and(|expected| digests_equal(expected, &sha256(secret.as_bytes())))
    }

    /// Whether a grant of `scopes` gets a refresh token: the client may use the refresh_token
    /// grant, and asked for `offline_access` or is configured to always get one.
    pub fn gets_refresh_token(&self, scopes: &[String]) -> bool {
        self.allows_grant(GrantType::RefreshToken)
            && (self.issue_refresh_tokens || scopes.iter().any(|s| s == "offline_access"))
    }

    /// Whether the client may use `grant`.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether every authorization request of the client needs PKCE: a public client's, and a
    /// FAPI 2.0 client's.
    pub fn requires_pkce(&self) -> bool {
        self.auth_method == AuthMethod::None || self.profile == Profile::Fapi2
    }
}

/// Checks every `[[clients]]` entry, naming the first bad one.
pub fn validate_configs(configs: &[ClientConfig]) -> Result<(), ConfigError> {
    for (index, config) in configs.iter().enumerate() {
        Client::from_config(config).map_err(|(field, message)| {
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

/// Id of the built-in public client Swagger UI (`/docs`) logs in with.
pub const SWAGGER_UI_CLIENT_ID: &str = "swagger-ui";

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

/// Writes (or replaces) a client.
pub async fn upsert(store: &dyn Store, client: &Client) -> Result<(), StoreError> {
    store::put_json(store, &keyspace::client(&client.client_id), client, None).await
}

/// Makes the store's config-provisioned clients exactly `configured`: upserts each, and deletes
/// those an earlier start provisioned that the config no longer lists (their refresh tokens and
/// sessions then stop working, as the operator meant).
pub async fn sync_bootstrap(store: &dyn Store, configured: &[Client]) -> Result<(), StoreError> {
    let previous: Vec<String> = store::get_json(store, keyspace::BOOTSTRAP_CLIENTS)
        .await?
        .unwrap_or_default();
    for client in configured {
        upsert(store, client).await?;
    }
    for stale in previous
        .iter()
        .filter(|id| !configured.iter().any(|c| &c.client_id == *id))
    {
        store.delete(&keyspace::client(stale)).await?;
        tracing::info!(client_id = %stale, "client removed from the config: deleted");
    }
    let ids: Vec<&str> = configured.iter().map(|c| c.client_id.as_str()).collect();
    store::put_json(store, keyspace::BOOTSTRAP_CLIENTS, &ids, None).await
}

/// Looks a client up by id.
pub async fn find(store: &dyn Store, client_id: &str) -> Result<Option<Client>, StoreError> {
    store::get_json(store, &keyspace::client(client_id)).await
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::secret::Digest256;

    pub fn serialize<S: Serializer>(digest: &Option<Digest256>, s: S) -> Result<S::Ok, S::Error> {
        match digest {
            Some(digest) => s.serialize_some(&hex::encode(digest)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Digest256>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let bytes = hex::decode(text).map_err(serde::de::Error::custom)?;
        let digest = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("secret digest must be 32 bytes"))?;
        Ok(Some(digest))
    }
}

#[cfg(test)]
mod tests;
