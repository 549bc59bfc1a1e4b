//! Discovery (RFC 8414 `/.well-known/oauth-authorization-server`, OIDC Discovery
//! `/.well-known/openid-configuration`) and the JWKS. Both are served from bytes built ahead of
//! time — discovery once at start-up from the settings, the JWKS whenever the key ring changes —
//! each with a strong `ETag`, so caches revalidate with `If-None-Match` for a 304; nothing is
//! serialised or formatted per request. Discovery lists only what ferrid implements now.

use std::sync::Arc;

use bytes::Bytes;
use poem::web::Data;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Serialize;

use super::errors::{ErrorBody, NO_STORE};
use super::json_bytes::JsonBytes;
use super::{paths, ApiTags};
use crate::config::{RegistrationMode, Settings};
use crate::context::Context;
use crate::error::DPOP_ALGS;
use crate::oauth::client_auth::assertion::ASSERTION_ALGS;
use crate::oauth::clients::AuthMethod;
use crate::oauth::grants::GrantType;
use crate::oauth::response_mode::ResponseMode;
use crate::oidc::claims;
use crate::secret::etag;

/// Authorization server metadata (RFC 8414 §2).
#[derive(Debug, Clone, Object, Serialize)]
pub struct ProviderMetadata {
    /// The issuer identifier; equals `iss` in every token.
    pub issuer: String,
    /// Where people are sent to log in and authorize a client.
    pub authorization_endpoint: String,
    /// Where clients obtain tokens.
    pub token_endpoint: String,
    /// RFC 9126: where clients push authorization requests.
    pub pushed_authorization_request_endpoint: String,
    /// RFC 9126 §5: `/authorize` serves only pushed requests (`par.required`); a client can
    /// also be required to push with its own `require_pushed_authorization_requests`.
    pub require_pushed_authorization_requests: bool,
    /// Where clients read claims about the person with an access token.
    pub userinfo_endpoint: String,
    /// RFC 7009 token revocation.
    pub revocation_endpoint: String,
    /// Client authentication methods of the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms of `private_key_jwt` assertions at the revocation endpoint.
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 7662 token introspection.
    pub introspection_endpoint: String,
    /// Client authentication methods of the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms of `private_key_jwt` assertions at the introspection endpoint.
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// OIDC RP-Initiated Logout.
    pub end_session_endpoint: String,
    /// RFC 7591 dynamic client registration; absent while `registration.mode` is `closed`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The public signing keys.
    pub jwks_uri: String,
    /// Grant types the token endpoint accepts.
    pub grant_types_supported: Vec<String>,
    /// Client authentication methods the token endpoint (and `/par`) accepts.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Algorithms of `private_key_jwt` assertions (RFC 7523) at the token endpoint.
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// `response_type` values of the authorization endpoint.
    pub response_types_supported: Vec<String>,
    /// `response_mode` values of the authorization endpoint.
    pub response_modes_supported: Vec<String>,
    /// The scope catalog: the scopes clients may be given (built-in, then declared).
    pub scopes_supported: Vec<String>,
    /// Claims ferrid can release about a person.
    pub claims_supported: Vec<String>,
    /// PKCE methods (RFC 7636); `plain` is refused.
    pub code_challenge_methods_supported: Vec<String>,
    /// Subject identifier types: stable per-user ids.
    pub subject_types_supported: Vec<String>,
    /// ID token signature algorithms.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `prompt` values the authorization endpoint understands.
    pub prompt_values_supported: Vec<String>,
    /// RFC 9207: authorization responses carry `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9449 §5.1: the algorithms ferrid verifies DPoP proofs with.
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Human documentation: the Swagger UI.
    pub service_documentation: String,
}

/// A public JSON Web Key (RFC 7517); never carries private members.
#[derive(Debug, Clone, Object)]
pub struct Jwk {
    /// Key type: `RSA`.
    pub kty: String,
    /// Intended use: `sig`.
    #[oai(rename = "use")]
    pub use_: String,
    /// Algorithm the key signs with: `RS256`.
    pub alg: String,
    /// Key id: the RFC 7638 thumbprint.
    pub kid: String,
    /// RSA modulus, base64url.
    pub n: String,
    /// RSA public exponent, base64url.
    pub e: String,
}

/// A JSON Web Key Set (RFC 7517 §5).
#[derive(Debug, Clone, Object)]
pub struct JwkSet {
    /// Every published key: the active one, the next one and recently retired ones.
    pub keys: Vec<Jwk>,
}

#[derive(ApiResponse)]
enum DiscoveryResponse {
    /// The provider metadata.
    #[oai(status = 200)]
    Ok(
        JsonBytes<ProviderMetadata>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "ETag")] String,
    ),
    /// The metadata is unchanged since the `ETag` given in `If-None-Match`.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
enum JwksResponse {
    /// The key set.
    #[oai(status = 200)]
    Ok(
        JsonBytes<JwkSet>,
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "ETag")] String,
    ),
    /// The key set is unchanged since the `ETag` given in `If-None-Match`.
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "Cache-Control")] String,
        #[oai(header = "ETag")] String,
    ),
    /// Keys are not loaded yet (the store is unreachable); retry.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        #[oai(header = "Retry-After")] String,
        #[oai(header = "Cache-Control")] String,
    ),
}

/// `Cache-Control` of the discovery documents.
const DISCOVERY_CACHE_CONTROL: &str = "public, max-age=3600";

/// Discovery and key endpoints.
pub struct WellKnownApi {
    discovery: Bytes,
    discovery_etag: String,
    jwks_cache_control: String,
}

impl WellKnownApi {
    /// Builds the discovery document for `settings`.
    pub fn new(settings: &Settings) -> Self {
        let discovery = Bytes::from(serde_json::to_vec(&metadata(settings)).unwrap_or_default());
        Self {
            discovery_etag: etag(&discovery),
            discovery,
            jwks_cache_control: format!("public, max-age={}", settings.keys.jwks_max_age_secs),
        }
    }

    fn discovery(&self, if_none_match: Option<&str>) -> DiscoveryResponse {
        let etag = self.discovery_etag.clone();
        if matches_etag(if_none_match, &etag) {
            return DiscoveryResponse::NotModified(DISCOVERY_CACHE_CONTROL.into(), etag);
        }
        DiscoveryResponse::Ok(
            JsonBytes::new(self.discovery.clone()),
            DISCOVERY_CACHE_CONTROL.into(),
            etag,
        )
    }
}

/// Whether an `If-None-Match` header names `etag` (or `*`).
fn matches_etag(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|tags| {
        tags.split(',')
            .any(|tag| tag.trim() == etag || tag.trim() == "*")
    })
}

fn auth_methods(with_public: bool) -> Vec<String> {
    AuthMethod::ALL
        .into_iter()
        .filter(|method| with_public || *method != AuthMethod::None)
        .map(|method| method.as_str().to_owned())
        .collect()
}

fn assertion_algs() -> Vec<String> {
    ASSERTION_ALGS.map(String::from).to_vec()
}

/// The metadata ferrid publishes for `settings`.
pub fn metadata(settings: &Settings) -> ProviderMetadata {
    let issuer = settings.issuer();
    ProviderMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: format!("{issuer}{}", paths::AUTHORIZE),
        token_endpoint: format!("{issuer}{}", paths::TOKEN),
        pushed_authorization_request_endpoint: format!("{issuer}{}", paths::PAR),
        require_pushed_authorization_requests: settings.par.required,
        userinfo_endpoint: format!("{issuer}{}", paths::USERINFO),
        revocation_endpoint: format!("{issuer}{}", paths::REVOKE),
        revocation_endpoint_auth_methods_supported: auth_methods(true),
        revocation_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        introspection_endpoint: format!("{issuer}{}", paths::INTROSPECT),
        introspection_endpoint_auth_methods_supported: auth_methods(false),
        introspection_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        end_session_endpoint: format!("{issuer}{}", paths::LOGOUT),
        registration_endpoint: (settings.registration.mode != RegistrationMode::Closed)
            .then(|| format!("{issuer}{}", paths::REGISTER)),
        jwks_uri: format!("{issuer}{}", paths::JWKS),
        grant_types_supported: GrantType::all().map(|g| g.as_str().to_owned()).collect(),
        token_endpoint_auth_methods_supported: auth_methods(true),
        token_endpoint_auth_signing_alg_values_supported: assertion_algs(),
        response_types_supported: vec!["code".into()],
        response_modes_supported: ResponseMode::SUPPORTED.map(String::from).to_vec(),
        scopes_supported: settings.scope_catalog().names(),
        claims_supported: claims::SUPPORTED_CLAIMS
            .iter()
            .map(|c| c.to_string())
            .collect(),
        code_challenge_methods_supported: vec!["S256".into()],
        subject_types_supported: vec!["public".into()],
        id_token_signing_alg_values_supported: vec!["RS256".into()],
        prompt_values_supported: vec!["none".into(), "login".into(), "consent".into()],
        authorization_response_iss_parameter_supported: true,
        dpop_signing_alg_values_supported: DPOP_ALGS.iter().map(|alg| alg.to_string()).collect(),
        service_documentation: format!("{issuer}{}", paths::DOCS),
    }
}

#[OpenApi(tag = "ApiTags::Discovery")]
impl WellKnownApi {
    /// OpenID Provider configuration
    ///
    /// OpenID Connect Discovery 1.0 metadata: every endpoint and capability ferrid offers.
    #[oai(
        path = "/.well-known/openid-configuration",
        method = "get",
        operation_id = "openid_configuration"
    )]
    async fn openid_configuration(
        &self,
        /// An `ETag` from an earlier response; answered with 304 when unchanged.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> DiscoveryResponse {
        self.discovery(if_none_match.0.as_deref())
    }

    /// Authorization server metadata
    ///
    /// RFC 8414 metadata; the same document as the OpenID configuration.
    #[oai(
        path = "/.well-known/oauth-authorization-server",
        method = "get",
        operation_id = "oauth_authorization_server"
    )]
    async fn oauth_authorization_server(
        &self,
        /// An `ETag` from an earlier response; answered with 304 when unchanged.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> DiscoveryResponse {
        self.discovery(if_none_match.0.as_deref())
    }

    /// JSON Web Key Set
    ///
    /// The public keys that verify ferrid's token signatures (RS256, `kid` = RFC 7638
    /// thumbprint). Cache it as `Cache-Control` says; on an unknown `kid`, fetch it again.
    #[oai(path = "/.well-known/jwks.json", method = "get", operation_id = "jwks")]
    async fn jwks(
        &self,
        ctx: Data<&Arc<Context>>,
        /// An `ETag` from an earlier response; answered with 304 when unchanged.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> JwksResponse {
        let Some(ring) = ctx.key_ring_if_loaded() else {
            let err = crate::error::OAuthError::temporarily_unavailable(
                "signing keys are not loaded yet; retry shortly",
            );
            return JwksResponse::Unavailable(
                Json(ErrorBody::from(&err)),
                "1".into(),
                NO_STORE.into(),
            );
        };
        let cache_control = self.jwks_cache_control.clone();
        let etag = ring.jwks_etag().to_owned();
        if matches_etag(if_none_match.0.as_deref(), &etag) {
            return JwksResponse::NotModified(cache_control, etag);
        }
        JwksResponse::Ok(JsonBytes::new(ring.jwks().clone()), cache_control, etag)
    }
}
