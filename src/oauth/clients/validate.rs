//! The one validator of client registrations: config, admin API, CLI and dynamic registration
//! all turn `ClientMetadata` into a `Client` here, so a client that could not be registered one
//! way cannot be registered another. Errors carry the RFC 7591 §3.2.2 code —
//! `invalid_redirect_uri` for a redirect URI, `invalid_client_metadata` for anything else — and
//! name the metadata field, so the caller can say which key of which entry is wrong.

use std::fmt;

use url::{Host, Url};

use super::{AuthMethod, Client, ClientMetadata, RotationPolicy};
use crate::oauth::client_auth::jwks;
use crate::oauth::grants::GrantType;
use crate::oauth::scope_catalog::ScopeCatalog;
use crate::oauth::{profile, redirect_uri, scope};
use crate::secret::Digest256;

/// The most entries a client's lists (redirect URIs, CORS origins, audiences) may have: each is
/// checked on every request that names one, and each origin is an index entry written with the
/// client.
pub const MAX_LIST_LEN: usize = 50;

/// Longest client id, client name or audience accepted.
const MAX_TEXT: usize = 255;

/// RFC 7591 §3.2.2 error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataErrorCode {
    /// A redirect URI (or post-logout redirect URI) is not acceptable.
    InvalidRedirectUri,
    /// Any other field is not acceptable.
    InvalidClientMetadata,
}

impl MetadataErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

/// Why a registration was refused, naming the metadata field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub code: MetadataErrorCode,
    /// The metadata field (`redirect_uris`, `scope`, …), or `client_id`.
    pub field: &'static str,
    pub description: String,
}

impl MetadataError {
    fn metadata(field: &'static str, description: impl Into<String>) -> Self {
        Self {
            code: MetadataErrorCode::InvalidClientMetadata,
            field,
            description: description.into(),
        }
    }

    fn redirect(field: &'static str, description: impl Into<String>) -> Self {
        Self {
            code: MetadataErrorCode::InvalidRedirectUri,
            field,
            description: description.into(),
        }
    }
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

impl std::error::Error for MetadataError {}

/// What a registration is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// The scopes a client may be given.
    pub catalog: &'a ScopeCatalog,
    /// ferrid's issuer: redirect URIs on its own origin are always accepted.
    pub issuer: &'a str,
}

/// Checks `metadata` for client `client_id`, whose secret (if any) has the SHA-256 digest
/// `secret_sha256`, and builds the client record. A client authenticating with a secret method
/// needs one; a public (`none`) or `private_key_jwt` client has none, and a `private_key_jwt`
/// client needs `jwks` or `jwks_uri`.
pub fn validate(
    client_id: &str,
    metadata: &ClientMetadata,
    secret_sha256: Option<Digest256>,
    rules: &Rules<'_>,
) -> Result<Client, MetadataError> {
    validate_client_id(client_id)?;
    let name = match &metadata.client_name {
        Some(name) => {
            check_text("client_name", name)?;
            name.clone()
        }
        None => client_id.to_owned(),
    };
    let auth_method = match metadata.token_endpoint_auth_method.as_deref() {
        None => AuthMethod::ClientSecretBasic,
        Some(name) => AuthMethod::parse(name).ok_or_else(|| {
            MetadataError::metadata(
                "token_endpoint_auth_method",
                format!(
                    "`{name}` is not one of {}",
                    AuthMethod::ALL.map(AuthMethod::as_str).join(", ")
                ),
            )
        })?,
    };
    let public = auth_method == AuthMethod::None;
    match (auth_method.uses_secret(), secret_sha256.is_some()) {
        (false, true) => {
            return Err(MetadataError::metadata(
                "token_endpoint_auth_method",
                format!(
                    "a client authenticating with {} has no secret",
                    auth_method.as_str()
                ),
            ))
        }
        (true, false) => {
            return Err(MetadataError::metadata(
                "token_endpoint_auth_method",
                format!(
                    "a client authenticating with {} needs a secret",
                    auth_method.as_str()
                ),
            ))
        }
        _ => {}
    }
    // RFC 7523 §2.2: the assertion is verified with a key the client registered.
    if auth_method == AuthMethod::PrivateKeyJwt
        && metadata.jwks.is_none()
        && metadata.jwks_uri.is_none()
    {
        return Err(MetadataError::metadata(
            "jwks",
            "a client authenticating with private_key_jwt needs its public keys: give `jwks` \
             or `jwks_uri`",
        ));
    }
    for (field, count) in [
        ("redirect_uris", metadata.redirect_uris.len()),
        (
            "post_logout_redirect_uris",
            metadata.post_logout_redirect_uris.len(),
        ),
        ("allowed_cors_origins", metadata.allowed_cors_origins.len()),
        ("audiences", metadata.audiences.len()),
    ] {
        if count > MAX_LIST_LEN {
            return Err(MetadataError::metadata(
                field,
                format!("at most {MAX_LIST_LEN} entries, not {count}"),
            ));
        }
    }
    let grant_types = grant_types(metadata, public)?;
    let code = grant_types.contains(&GrantType::AuthorizationCode);
    check_response_types(metadata, code)?;
    for uri in &metadata.redirect_uris {
        redirect_uri::validate_registered(uri, rules.issuer)
            .map_err(|message| MetadataError::redirect("redirect_uris", message))?;
    }
    if code && metadata.redirect_uris.is_empty() {
        return Err(MetadataError::redirect(
            "redirect_uris",
            "the authorization_code grant needs at least one redirect URI",
        ));
    }
    for uri in &metadata.post_logout_redirect_uris {
        redirect_uri::validate_registered(uri, rules.issuer)
            .map_err(|message| MetadataError::redirect("post_logout_redirect_uris", message))?;
    }
    let scopes = scope_list("scope", metadata.scope.as_deref(), rules.catalog)?;
    let default_scopes = match metadata.default_scope.as_deref() {
        None => scopes.clone(),
        Some(default) => scope_list("default_scope", Some(default), rules.catalog)?,
    };
    if let Some(extra) = default_scopes.iter().find(|s| !scopes.contains(s)) {
        return Err(MetadataError::metadata(
            "default_scope",
            format!("`{extra}` is not among the client's scopes"),
        ));
    }
    for audience in &metadata.audiences {
        check_text("audiences", audience)?;
        if audience.contains(char::is_whitespace) {
            return Err(MetadataError::metadata(
                "audiences",
                format!("`{audience}` contains whitespace"),
            ));
        }
    }
    let refresh_token_rotation = match metadata.refresh_token_rotation.as_deref() {
        None | Some("rotate") => RotationPolicy::Rotate,
        // RFC 9700 §4.14.2: a public client's refresh tokens must be sender-constrained or
        // rotate; they are bound to a key only when every request carries a DPoP proof.
        Some("reuse") if public && metadata.dpop_bound_access_tokens != Some(true) => {
            return Err(MetadataError::metadata(
                "refresh_token_rotation",
                format!(
                    "client `{client_id}` is public: its refresh tokens must rotate (RFC 9700 \
                     section 4.14.2); remove `reuse`, make the client confidential, or bind its \
                     tokens with dpop_bound_access_tokens = true"
                ),
            ))
        }
        Some("reuse") => RotationPolicy::Reuse,
        Some(other) => {
            return Err(MetadataError::metadata(
                "refresh_token_rotation",
                format!("`{other}` is not `rotate` or `reuse`"),
            ))
        }
    };
    let resolved = profile::resolve(metadata)
        .map_err(|(field, message)| MetadataError::metadata(field, message))?;
    check_keys(metadata)?;
    for origin in &metadata.allowed_cors_origins {
        check_origin(origin)?;
    }
    Ok(Client {
        client_id: client_id.to_owned(),
        name,
        secret_sha256,
        auth_method,
        grant_types,
        scopes,
        default_scopes,
        audiences: metadata.audiences.clone(),
        redirect_uris: metadata.redirect_uris.clone(),
        post_logout_redirect_uris: metadata.post_logout_redirect_uris.clone(),
        skip_consent: metadata.skip_consent,
        issue_refresh_tokens: metadata.issue_refresh_tokens,
        refresh_token_rotation,
        introspect_any_token: metadata.introspect_any_token,
        dpop_bound_access_tokens: resolved.dpop_bound_access_tokens,
        require_pushed_authorization_requests: resolved.require_pushed_authorization_requests,
        profile: resolved.profile,
        allowed_cors_origins: metadata.allowed_cors_origins.clone(),
        jwks: metadata.jwks.clone(),
        jwks_uri: metadata.jwks_uri.clone(),
        from_config: false,
        created_at: 0,
        registration_token_sha256: None,
    })
}

/// RFC 6749 Appendix A.1: a client id is VSCHARs (printable ASCII and space). ferrid also
/// refuses `{` and `}`, which would change the Redis Cluster hash tag of the client's keys, and
/// surrounding spaces, which no one can tell apart in a form.
pub fn validate_client_id(client_id: &str) -> Result<(), MetadataError> {
    let printable = client_id
        .chars()
        .all(|c| matches!(c, ' '..='~') && c != '{' && c != '}');
    if client_id.is_empty()
        || client_id.len() > MAX_TEXT
        || !printable
        || client_id.trim() != client_id
    {
        return Err(MetadataError::metadata(
            "client_id",
            "must be 1 to 255 printable ASCII characters, without `{`, `}` or surrounding spaces",
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, text: &str) -> Result<(), MetadataError> {
    if text.trim().is_empty()
        || text.chars().count() > MAX_TEXT
        || text.chars().any(char::is_control)
    {
        return Err(MetadataError::metadata(
            field,
            "must be 1 to 255 characters without control characters",
        ));
    }
    Ok(())
}

fn grant_types(metadata: &ClientMetadata, public: bool) -> Result<Vec<GrantType>, MetadataError> {
    let names: &[String] = match &metadata.grant_types {
        Some(names) => names,
        // RFC 7591 §2: absent means authorization_code only.
        None => &[],
    };
    let mut grant_types = Vec::new();
    if metadata.grant_types.is_none() {
        grant_types.push(GrantType::AuthorizationCode);
    }
    for name in names {
        match GrantType::parse(name) {
            Some(grant) if !grant_types.contains(&grant) => grant_types.push(grant),
            Some(_) => {}
            None => {
                return Err(MetadataError::metadata(
                    "grant_types",
                    format!(
                        "`{name}` is not a grant type this ferrid implements ({})",
                        GrantType::all()
                            .map(GrantType::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
        }
    }
    if public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(MetadataError::metadata(
            "grant_types",
            "public clients cannot use client_credentials",
        ));
    }
    Ok(grant_types)
}

/// RFC 7591 §2.1: `response_types` must agree with `grant_types`; ferrid answers `code` only.
fn check_response_types(metadata: &ClientMetadata, code: bool) -> Result<(), MetadataError> {
    let Some(response_types) = &metadata.response_types else {
        return Ok(());
    };
    if let Some(other) = response_types.iter().find(|r| r.as_str() != "code") {
        return Err(MetadataError::metadata(
            "response_types",
            format!("`{other}` is not supported; ferrid answers only `code`"),
        ));
    }
    if code != response_types.iter().any(|r| r == "code") {
        return Err(MetadataError::metadata(
            "response_types",
            "`code` goes with the authorization_code grant type, and only with it",
        ));
    }
    Ok(())
}

fn scope_list(
    field: &'static str,
    value: Option<&str>,
    catalog: &ScopeCatalog,
) -> Result<Vec<String>, MetadataError> {
    let mut scopes: Vec<String> = Vec::new();
    for token in value
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        if !scope::is_valid_token(token) {
            return Err(MetadataError::metadata(
                field,
                format!("`{token}` is not a valid scope token (RFC 6749 section 3.3)"),
            ));
        }
        if !catalog.contains(token) {
            return Err(MetadataError::metadata(
                field,
                format!(
                    "`{token}` is not in the scope catalog; the operator declares scopes in \
                     [[scopes]]"
                ),
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_owned());
        }
    }
    Ok(scopes)
}

/// RFC 7591 §2: `jwks` and `jwks_uri` MUST NOT both be present. A registered key set holds
/// public keys only — a private or symmetric member would hand anyone who can read the
/// registration the client's signing key — and a `jwks_uri` is fetched over https (plain http
/// only on a loopback host, for local development).
fn check_keys(metadata: &ClientMetadata) -> Result<(), MetadataError> {
    if metadata.jwks.is_some() && metadata.jwks_uri.is_some() {
        return Err(MetadataError::metadata(
            "jwks",
            "give `jwks` or `jwks_uri`, not both (RFC 7591 section 2)",
        ));
    }
    if let Some(jwks) = &metadata.jwks {
        jwks::check_public_set(jwks).map_err(|message| MetadataError::metadata("jwks", message))?;
    }
    if let Some(uri) = &metadata.jwks_uri {
        let url = Url::parse(uri).ok().filter(|url| url.fragment().is_none());
        let allowed = url.is_some_and(|url| match url.scheme() {
            "https" => url.host().is_some(),
            "http" => crate::config::is_loopback(&url),
            _ => false,
        });
        if !allowed {
            return Err(MetadataError::metadata(
                "jwks_uri",
                format!(
                    "`{uri}` must be an absolute https URL without a fragment (plain http only \
                     on a loopback host)"
                ),
            ));
        }
    }
    Ok(())
}

/// A CORS origin is `scheme://host[:port]` exactly as browsers send it in `Origin`: https, or
/// http on a loopback host (local development).
fn check_origin(origin: &str) -> Result<(), MetadataError> {
    let invalid = |why: &str| {
        MetadataError::metadata(
            "allowed_cors_origins",
            format!("`{origin}` is not an allowed origin: {why}"),
        )
    };
    if origin.contains('*') {
        return Err(invalid("wildcards are not allowed"));
    }
    let url = Url::parse(origin).map_err(|_| invalid("not scheme://host[:port]"))?;
    if url.origin().ascii_serialization() != origin {
        return Err(invalid(
            "must be scheme://host[:port] in lower case, without path, query or trailing slash",
        ));
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(invalid("use https (plain http only on a loopback host)")),
    }
}
