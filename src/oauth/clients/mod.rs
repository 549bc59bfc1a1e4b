//! Registered clients: what each may do (grant types, scopes, audiences, redirect URIs) and how
//! it authenticates. A client is registered from `ClientMetadata` (RFC 7591 names, `metadata`)
//! through the one validator (`validate`) — whether it comes from `[[clients]]` in the config,
//! the admin API or the CLI — and kept as a `Client` record (`store`). Secrets are kept only as
//! SHA-256 digests — client secrets are generated, high-entropy values, so a fast hash is safe
//! and keeps Argon2 off the token hot path — and compared in constant time.

pub mod cors_origins;
pub mod metadata;
pub mod store;
pub mod validate;

use serde::{Deserialize, Serialize};

use crate::oauth::grants::GrantType;
use crate::oauth::profile::Profile;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::secret::{digests_equal, random_bytes, sha256, Digest256, RandomError};

pub use metadata::ClientMetadata;
pub use store::{find, upsert};
pub use validate::{validate, MetadataError, Rules};

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
    /// A JWT signed with one of the client's registered keys (RFC 7523 §2.2, OIDC Core §9).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses an RFC 7591 `token_endpoint_auth_method`; `None` for one ferrid does not serve.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|method| method.as_str() == name)
    }

    /// Every method ferrid serves, as discovery lists them.
    pub const ALL: [Self; 4] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::None,
    ];

    /// Whether a client authenticating this way has a shared secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretBasic | Self::ClientSecretPost)
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

impl RotationPolicy {
    /// The name used in the config and the metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotate => "rotate",
            Self::Reuse => "reuse",
        }
    }
}

/// A registered client, as stored. Built only by `validate`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Browser origins allowed to call ferrid's endpoints for this client (CORS).
    #[serde(default)]
    pub allowed_cors_origins: Vec<String>,
    /// RFC 7591 `jwks`: the client's public keys (stored for `private_key_jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// RFC 7591 `jwks_uri`: where the client publishes its public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Provisioned from `[[clients]]`: the config owns it, the admin API may not change it.
    #[serde(default)]
    pub from_config: bool,
    /// When the client was registered (seconds since the epoch; 0 when unknown).
    #[serde(default)]
    pub created_at: u64,
    /// RFC 7592: SHA-256 of the registration access token that manages the client at
    /// `/register/{client_id}`. Only a client registered through `/register` has one.
    #[serde(default, with = "hex_digest", skip_serializing_if = "Option::is_none")]
    registration_token_sha256: Option<Digest256>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("auth_method", &self.auth_method)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("from_config", &self.from_config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Whether `secret` is this client's secret (constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_sha256
            .as_ref()
            .is_some_and(|expected| digests_equal(expected, &sha256(secret.as_bytes())))
    }

    /// Whether the client has a secret (a confidential client).
    pub fn has_secret(&self) -> bool {
        self.secret_sha256.is_some()
    }

    /// The client with its secret replaced by the one whose SHA-256 is `digest`.
    pub fn with_secret_sha256(mut self, digest: Option<Digest256>) -> Self {
        self.secret_sha256 = digest;
        self
    }

    /// The SHA-256 of the client's secret, to carry it over to a replacement.
    pub fn secret_sha256(&self) -> Option<Digest256> {
        self.secret_sha256
    }

    /// Whether `token` is the client's registration access token (constant time); `false` for
    /// a client not registered through `/register`.
    pub fn registration_token_matches(&self, token: &str) -> bool {
        self.registration_token_sha256
            .as_ref()
            .is_some_and(|expected| digests_equal(expected, &sha256(token.as_bytes())))
    }

    /// The SHA-256 of the registration access token, to carry it over to a replacement.
    pub fn registration_token_sha256(&self) -> Option<Digest256> {
        self.registration_token_sha256
    }

    /// The client with its registration access token replaced by the one whose SHA-256 is
    /// `digest` (`None`: the client cannot be managed through `/register`).
    pub fn with_registration_token_sha256(mut self, digest: Option<Digest256>) -> Self {
        self.registration_token_sha256 = digest;
        self
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
}

/// A new random client id: 128 bits, base64url, never starting with `-` or `_`, so that it
/// cannot read as an option on a command line (`ferrid client delete -Qx…`).
pub fn generate_id() -> Result<String, RandomError> {
    Ok(id_from(random_bytes::<16>()?))
}

fn id_from(bytes: [u8; 16]) -> String {
    let mut id = URL_SAFE_NO_PAD.encode(bytes);
    if id.starts_with(['-', '_']) {
        id.replace_range(..1, "A");
    }
    id
}

/// Id of the built-in public client Swagger UI (`/docs`) logs in with.
pub const SWAGGER_UI_CLIENT_ID: &str = "swagger-ui";

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
