//! The wire types of `/admin/clients`: the request body (RFC 7591 metadata and ferrid's own
//! fields) and the client as answered.

use poem_openapi::Object;

use crate::admin::clients::{Registered, Removed};
use crate::oauth::clients::{Client, ClientMetadata};

/// Client metadata (RFC 7591 §2 names, and ferrid's own fields). Absent fields take the RFC 7591
/// defaults; unknown fields are refused.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "ClientRequest", example, deny_unknown_fields)]
pub struct ClientRequest {
    /// The client id (create only): 1 to 255 printable ASCII characters without `{` or `}`;
    /// a random one when absent.
    pub client_id: Option<String>,
    /// Shown to people on the login and consent pages; the client id when absent.
    pub client_name: Option<String>,
    /// Where authorization responses may go: https, `http://127.0.0.1:<port>` /
    /// `http://[::1]:<port>` (native apps) or a private-use scheme such as
    /// `com.example.app:/cb`; never a fragment or a wildcard.
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    /// Where people may be sent after logging out; the same rules.
    #[oai(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code` (default), `client_credentials`, `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// `["code"]` with the authorization_code grant (the default then).
    pub response_types: Option<Vec<String>>,
    /// Space-separated scopes the client may request, from the scope catalog
    /// (`scopes_supported` in discovery).
    pub scope: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post`, `private_key_jwt` (with `jwks` or
    /// `jwks_uri`; no secret is issued), or `none` for a public client.
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set, no private members) that verify its `private_key_jwt`
    /// assertions; not with `jwks_uri`.
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set (https; plain http only on a loopback host); not
    /// with `jwks`.
    pub jwks_uri: Option<String>,
    /// Browser origins allowed to call ferrid for this client, e.g. `https://app.example.com`.
    #[oai(default)]
    pub allowed_cors_origins: Vec<String>,
    /// ferrid: space-separated scopes granted when a request names none (default: `scope`).
    pub default_scope: Option<String>,
    /// ferrid: audiences the client may request tokens for (`resource` / `audience`).
    #[oai(default)]
    pub audiences: Vec<String>,
    /// ferrid: a first-party app whose users are not asked for consent.
    #[oai(default)]
    pub skip_consent: bool,
    /// ferrid: refresh tokens even without `offline_access`.
    #[oai(default)]
    pub issue_refresh_tokens: bool,
    /// ferrid: `rotate` (default) or `reuse` (confidential clients only).
    pub refresh_token_rotation: Option<String>,
    /// ferrid: a trusted resource server that may introspect any active token.
    #[oai(default)]
    pub introspect_any_token: bool,
    /// RFC 9449: every token request must carry a DPoP proof (implied by `profile`).
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126: authorization requests must be pushed to `/par` first (implied by `profile`).
    pub require_pushed_authorization_requests: Option<bool>,
    /// ferrid: `fapi2` holds the client to the FAPI 2.0 Security Profile.
    pub profile: Option<String>,
}

impl poem_openapi::types::Example for ClientRequest {
    fn example() -> Self {
        Self {
            client_id: Some("photos-app".into()),
            client_name: Some("Photos".into()),
            redirect_uris: vec!["https://photos.example.com/callback".into()],
            post_logout_redirect_uris: vec!["https://photos.example.com/".into()],
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            scope: Some("openid profile email offline_access".into()),
            allowed_cors_origins: vec!["https://photos.example.com".into()],
            ..Self::default()
        }
    }
}

impl ClientRequest {
    pub(super) fn into_parts(self) -> (Option<String>, ClientMetadata) {
        let metadata = ClientMetadata {
            client_name: self.client_name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types: self.grant_types,
            response_types: self.response_types,
            scope: self.scope,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            allowed_cors_origins: self.allowed_cors_origins,
            default_scope: self.default_scope,
            audiences: self.audiences,
            skip_consent: self.skip_consent,
            issue_refresh_tokens: self.issue_refresh_tokens,
            refresh_token_rotation: self.refresh_token_rotation,
            introspect_any_token: self.introspect_any_token,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            require_pushed_authorization_requests: self.require_pushed_authorization_requests,
            profile: self.profile,
        };
        (self.client_id, metadata)
    }
}

/// A registered client: its metadata with every default spelled out. `client_secret` appears
/// only in the answer that issued it — store it then, it is never shown again.
// No `Debug`: it may hold the new client secret.
#[derive(Clone, Object)]
#[oai(rename = "Client")]
pub struct ClientView {
    pub client_id: String,
    /// The new secret, shown once (create, rotate, a public client made confidential).
    #[oai(skip_serializing_if_is_none)]
    pub client_secret: Option<String>,
    /// RFC 7591: 0, the secret does not expire; present with `client_secret`.
    #[oai(skip_serializing_if_is_none)]
    pub client_secret_expires_at: Option<u64>,
    /// When the client was registered (seconds since the epoch).
    pub client_id_issued_at: u64,
    /// Provisioned by `[[clients]]` in the config file: change it there, not here.
    pub from_config: bool,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_method: String,
    #[oai(skip_serializing_if_is_none)]
    pub jwks: Option<serde_json::Value>,
    #[oai(skip_serializing_if_is_none)]
    pub jwks_uri: Option<String>,
    pub allowed_cors_origins: Vec<String>,
    pub default_scope: String,
    pub audiences: Vec<String>,
    pub skip_consent: bool,
    pub issue_refresh_tokens: bool,
    pub refresh_token_rotation: String,
    pub introspect_any_token: bool,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    /// `fapi2` when the client is held to the FAPI 2.0 Security Profile.
    pub profile: Option<String>,
}

impl ClientView {
    pub(super) fn new(client: &Client, secret: Option<String>) -> Self {
        let metadata = client.metadata();
        Self {
            client_id: client.client_id.clone(),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id_issued_at: client.created_at,
            from_config: client.from_config,
            client_name: client.name.clone(),
            redirect_uris: metadata.redirect_uris,
            post_logout_redirect_uris: metadata.post_logout_redirect_uris,
            grant_types: metadata.grant_types.unwrap_or_default(),
            response_types: metadata.response_types.unwrap_or_default(),
            scope: metadata.scope.unwrap_or_default(),
            token_endpoint_auth_method: metadata.token_endpoint_auth_method.unwrap_or_default(),
            jwks: metadata.jwks,
            jwks_uri: metadata.jwks_uri,
            allowed_cors_origins: metadata.allowed_cors_origins,
            default_scope: metadata.default_scope.unwrap_or_default(),
            audiences: metadata.audiences,
            skip_consent: metadata.skip_consent,
            issue_refresh_tokens: metadata.issue_refresh_tokens,
            refresh_token_rotation: metadata.refresh_token_rotation.unwrap_or_default(),
            introspect_any_token: metadata.introspect_any_token,
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            profile: metadata.profile,
        }
    }
}

impl From<Registered> for ClientView {
    fn from(registered: Registered) -> Self {
        let secret = registered
            .client_secret
            .map(|secret| secret.expose().to_owned());
        Self::new(&registered.client, secret)
    }
}

/// A page of clients, in id order.
#[derive(Clone, Object)]
pub struct ClientList {
    pub items: Vec<ClientView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}

/// What deleting a client ended.
#[derive(Debug, Clone, Object)]
pub struct ClientDeleted {
    pub client_id: String,
    /// Refresh-token families revoked (with the access tokens they issued).
    pub refresh_families_revoked: u64,
    /// Outstanding authorization codes revoked.
    pub codes_revoked: u64,
}

impl From<Removed> for ClientDeleted {
    fn from(removed: Removed) -> Self {
        Self {
            client_id: removed.client.client_id,
            refresh_families_revoked: removed.refresh_families as u64,
            codes_revoked: removed.codes as u64,
        }
    }
}
