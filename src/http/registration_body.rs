//! The wire types of `/register` and `/register/{client_id}`: the RFC 7591 request (client
//! metadata; at a replacement also `client_id` and, optionally, `client_secret`, RFC 7592 §2.2),
//! the client information response (RFC 7591 §3.2.1) and the error body (RFC 7591 §3.2.2).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use poem_openapi::Object;

use crate::oauth::clients::{Client, ClientMetadata};
use crate::registration::{Registration, RegistrationError, Replacement};
use crate::secret::SecretString;

/// RFC 7591 client metadata. Absent fields take the RFC 7591 defaults (`grant_types`
/// `["authorization_code"]`, `token_endpoint_auth_method` `client_secret_basic`) and `scope`
/// defaults to `openid profile email`; metadata ferrid does not know is ignored (RFC 7591 §2).
/// A registration that asks for a privilege only the operator grants (`skip_consent`,
/// `introspect_any_token`, `audiences`, `issue_refresh_tokens`, the `admin` scope;
/// `client_credentials` and `jwks_uri` under open registration) is refused with the field named.
// No `Debug`: a replacement may carry the client secret.
#[derive(Clone, Default, Object)]
#[oai(rename = "ClientRegistrationRequest", example)]
pub struct RegistrationRequest {
    /// Replacement (PUT) only, and required there: the client's id. Ignored at registration.
    pub client_id: Option<String>,
    /// Replacement (PUT) only: when present, must be the client's current secret.
    pub client_secret: Option<String>,
    /// Shown to people on the login and consent pages; the client id when absent.
    pub client_name: Option<String>,
    /// Where authorization responses may go: https, `http://127.0.0.1:<port>` /
    /// `http://[::1]:<port>` (native apps) or a private-use scheme such as
    /// `com.example.app:/cb`; never a fragment or a wildcard. Required with the
    /// authorization_code grant.
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    /// Where people may be sent after logging out; the same rules.
    #[oai(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code` (default), `refresh_token`, `client_credentials` (not under open
    /// registration).
    pub grant_types: Option<Vec<String>>,
    /// `["code"]` with the authorization_code grant (the default then).
    pub response_types: Option<Vec<String>>,
    /// Space-separated scopes the client may request, from `scopes_supported` in discovery
    /// except `admin`; default `openid profile email`.
    pub scope: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post`, or `none` for a public client
    /// (which then needs PKCE).
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set); not with `jwks_uri`.
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set (https); not with `jwks`.
    pub jwks_uri: Option<String>,
    /// Browser origins allowed to call ferrid for this client, e.g. `https://app.example.com`.
    #[oai(default)]
    pub allowed_cors_origins: Vec<String>,
    /// ferrid: space-separated scopes granted when a request names none (default: `scope`).
    pub default_scope: Option<String>,
    /// ferrid: audiences the client may request tokens for (`resource` / `audience`); only the
    /// operator gives them (refused here).
    #[oai(default)]
    pub audiences: Vec<String>,
    /// ferrid: refresh tokens even without `offline_access`; only the operator grants it
    /// (refused here).
    #[oai(default)]
    pub issue_refresh_tokens: bool,
    /// ferrid: `rotate` (default) or `reuse` (confidential clients only).
    pub refresh_token_rotation: Option<String>,
    /// RFC 9449: every token request must carry a DPoP proof (implied by `profile`).
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 9126: authorization requests must be pushed to `/par` first (implied by `profile`).
    pub require_pushed_authorization_requests: Option<bool>,
    /// ferrid: `fapi2` holds the client to the FAPI 2.0 Security Profile.
    pub profile: Option<String>,
    /// Refused when `true`: only the operator registers clients that skip the consent page.
    #[oai(default)]
    pub skip_consent: bool,
    /// Refused when `true`: only the operator registers clients that introspect any token.
    #[oai(default)]
    pub introspect_any_token: bool,
}

impl poem_openapi::types::Example for RegistrationRequest {
    fn example() -> Self {
        Self {
            client_name: Some("Photos".into()),
            redirect_uris: vec!["https://photos.example.com/callback".into()],
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            scope: Some("openid profile offline_access".into()),
            ..Self::default()
        }
    }
}

impl RegistrationRequest {
    /// The request as a replacement: id, secret and metadata.
    pub(super) fn into_replacement(self) -> Replacement {
        Replacement {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().map(SecretString::new),
            metadata: self.into_metadata(),
        }
    }

    /// The client metadata of the request.
    pub(super) fn into_metadata(self) -> ClientMetadata {
        ClientMetadata {
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
        }
    }
}

/// RFC 7591 §3.2.1 client information: the registered metadata, every default spelled out,
/// with the client's credentials. `client_secret` and `registration_access_token` appear only in
/// the answer that issued them — store them then, they are never shown again.
// No `Debug`: it may hold the client secret and the registration access token.
#[derive(Clone, Object)]
#[oai(rename = "ClientInformation", example)]
pub struct ClientInformation {
    pub client_id: String,
    /// The new client secret (registration, or a public client made confidential).
    #[oai(skip_serializing_if_is_none)]
    pub client_secret: Option<String>,
    /// 0: the secret does not expire. Present for confidential clients.
    #[oai(skip_serializing_if_is_none)]
    pub client_secret_expires_at: Option<u64>,
    /// When the client was registered (seconds since the epoch).
    pub client_id_issued_at: u64,
    /// RFC 7592: the bearer token that reads, replaces and deletes this registration; a new one
    /// comes with every replacement, and the previous one stops working.
    #[oai(skip_serializing_if_is_none)]
    pub registration_access_token: Option<String>,
    /// RFC 7592: where this registration is read, replaced and deleted.
    pub registration_client_uri: String,
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
    pub issue_refresh_tokens: bool,
    pub refresh_token_rotation: String,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    /// `fapi2` when the client is held to the FAPI 2.0 Security Profile.
    #[oai(skip_serializing_if_is_none)]
    pub profile: Option<String>,
}

impl poem_openapi::types::Example for ClientInformation {
    fn example() -> Self {
        Self {
            client_id: "Xq1WbN3YtVQ8r2sJm4kZ0g".into(),
            client_secret: Some("pkC3vbFt5u3mQ0dSx1Yq9kq5VcHk8W7bJmJ0n2a6rLw".into()),
            client_secret_expires_at: Some(0),
            client_id_issued_at: 1_767_225_600,
            registration_access_token: Some("tT4yQe9m2Vb0sK7pXc1Lr5aHn8Ud3Gw6Zj0Fo4Ei2Yk".into()),
            registration_client_uri: "https://auth.example.com/register/Xq1WbN3YtVQ8r2sJm4kZ0g"
                .into(),
            client_name: "Photos".into(),
            redirect_uris: vec!["https://photos.example.com/callback".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            scope: "openid profile offline_access".into(),
            token_endpoint_auth_method: "client_secret_basic".into(),
            jwks: None,
            jwks_uri: None,
            allowed_cors_origins: vec![],
            default_scope: "openid profile offline_access".into(),
            audiences: vec![],
            issue_refresh_tokens: false,
            refresh_token_rotation: "rotate".into(),
            dpop_bound_access_tokens: false,
            require_pushed_authorization_requests: false,
            profile: None,
        }
    }
}

impl ClientInformation {
    /// `client` as registered at `issuer`, with the credentials just issued.
    pub(super) fn new(
        client: &Client,
        issuer: &str,
        client_secret: Option<&SecretString>,
        registration_access_token: Option<&SecretString>,
    ) -> Self {
        let metadata = client.metadata();
        Self {
            client_id: client.client_id.clone(),
            client_secret: client_secret.map(|secret| secret.expose().to_owned()),
            client_secret_expires_at: client.has_secret().then_some(0),
            client_id_issued_at: client.created_at,
            registration_access_token: registration_access_token
                .map(|token| token.expose().to_owned()),
            registration_client_uri: registration_client_uri(issuer, &client.client_id),
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
            issue_refresh_tokens: metadata.issue_refresh_tokens,
            refresh_token_rotation: metadata.refresh_token_rotation.unwrap_or_default(),
            dpop_bound_access_tokens: client.dpop_bound_access_tokens,
            require_pushed_authorization_requests: client.require_pushed_authorization_requests,
            profile: metadata.profile,
        }
    }

    /// A registration or replacement as answered.
    pub(super) fn issued(registration: &Registration, issuer: &str) -> Self {
        Self::new(
            &registration.client,
            issuer,
            registration.client_secret.as_ref(),
            registration.registration_access_token.as_ref(),
        )
    }
}

/// What a path segment must percent-encode: everything but RFC 3986 unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The registration client URI of `client_id` (RFC 7592 §3): `{issuer}/register/{client_id}`.
pub fn registration_client_uri(issuer: &str, client_id: &str) -> String {
    let id = utf8_percent_encode(client_id, PATH_SEGMENT);
    format!("{issuer}{}/{id}", super::paths::REGISTER)
}

/// An RFC 7591 §3.2.2 error: `error` is `invalid_redirect_uri` or `invalid_client_metadata`
/// (naming the field), `invalid_token` (a missing or bad initial or registration access
/// token), `access_denied` (registration is closed), `temporarily_unavailable` or
/// `server_error`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "RegistrationError", example)]
pub struct RegistrationErrorBody {
    /// Error code.
    pub error: String,
    /// What went wrong; for refused metadata it starts with the field's name.
    pub error_description: String,
}

impl poem_openapi::types::Example for RegistrationErrorBody {
    fn example() -> Self {
        Self {
            error: "invalid_client_metadata".into(),
            error_description: "skip_consent: a dynamically registered client cannot skip the \
                                consent page; only the operator can register such a client"
                .into(),
        }
    }
}

impl From<&RegistrationError> for RegistrationErrorBody {
    fn from(err: &RegistrationError) -> Self {
        Self {
            error: err.code().to_owned(),
            error_description: err.description(),
        }
    }
}
