//! `OAuthError`: the one error type of ferrid's protocol endpoints. Its codes are the RFC 6749
//! §5.2 / RFC 6750 §3.1 / RFC 8707 codes; `status()` and `www_authenticate()` are the single
//! mapping from a code to HTTP, which `http::errors` renders (JSON body, `Cache-Control:
//! no-store`). Infrastructure errors convert here too: a store outage becomes
//! `temporarily_unavailable` (503), anything unexpected `server_error` (500, logged with its
//! detail, answered without it).

pub mod browser;

use std::fmt;

use crate::store::StoreError;

/// The protocol error codes ferrid answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// Missing, repeated or malformed parameter, or an unacceptable request shape.
    InvalidRequest,
    /// Client authentication failed (unknown client, wrong secret, wrong method, none sent).
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired or revoked.
    InvalidGrant,
    /// The authenticated client may not use this grant type.
    UnauthorizedClient,
    /// ferrid does not implement the requested grant type.
    UnsupportedGrantType,
    /// A requested scope is unknown or outside what the client may ask for.
    InvalidScope,
    /// RFC 8707 §2: the requested `resource` / audience is not one the client may target.
    InvalidTarget,
    /// The resource owner or ferrid denied the request.
    AccessDenied,
    /// `/authorize`: ferrid does not support the requested `response_type`.
    UnsupportedResponseType,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the person must log in.
    LoginRequired,
    /// OIDC Core §3.1.2.6: `prompt=none`, but the person must consent.
    ConsentRequired,
    /// RFC 6750 §3.1: the access token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// RFC 6750 §3.1: the token lacks the scope the resource needs.
    InsufficientScope,
    /// RFC 9449 §5 / §7.1: the DPoP proof is missing where required, malformed, or does not
    /// match the request or the token.
    InvalidDpopProof,
    /// RFC 9449 §8 / §9: the proof must carry the server nonce given in `DPoP-Nonce`.
    UseDpopNonce,
    /// The store (or another dependency) is unreachable; the client may retry.
    TemporarilyUnavailable,
    /// An unexpected condition; details are only in the server log.
    ServerError,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status for this code (RFC 6749 §5.2, RFC 6750 §3.1).
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope => 403,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol error with a human description that tells the client what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<String>,
    /// RFC 6750 §3.1: the request carried no credentials at all, so the challenge names no
    /// error (the client may not even know the resource is protected).
    no_credentials: bool,
    /// RFC 9449 §7.1: a protected resource answering a DPoP request (or a DPoP-bound token sent
    /// as Bearer) challenges with the `DPoP` scheme, and DPoP proof errors are 401 there.
    dpop_challenge: bool,
    /// RFC 9449 §8: the nonce the client's next proof must carry (`DPoP-Nonce` header).
    dpop_nonce: Option<String>,
}

/// The proof algorithms ferrid verifies, as `algs` in DPoP challenges and discovery's
/// `dpop_signing_alg_values_supported` list them.
pub const DPOP_ALGS: [&str; 4] = ["ES256", "PS256", "RS256", "EdDSA"];

/// The realm named in `WWW-Authenticate: Basic` challenges.
pub const BASIC_REALM: &str = "ferrid";

impl OAuthError {
    /// An error with a description; the description is reduced to the RFC 6749 §5.2 charset.
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: Some(sanitize_description(&description.into())),
            no_credentials: false,
            dpop_challenge: false,
            dpop_nonce: None,
        }
    }

    /// `invalid_request` with a description.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_token` with a description.
    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidToken, description)
    }

    /// A protected resource was requested without any bearer token: 401 whose challenge is only
    /// `Bearer realm="…"`, no `error` (RFC 6750 §3.1); the body still says `invalid_token`.
    pub fn bearer_token_required(description: impl Into<String>) -> Self {
        Self {
            no_credentials: true,
            ..Self::invalid_token(description)
        }
    }

    /// `invalid_client` with a description.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// `temporarily_unavailable`, for a dependency that is down.
    pub fn temporarily_unavailable(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, description)
    }

    /// `server_error`: logs `detail` and answers without it.
    pub fn server_error(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self {
            code: ErrorCode::ServerError,
            description: Some("internal error; the server log has the details".to_owned()),
            no_credentials: false,
            dpop_challenge: false,
            dpop_nonce: None,
        }
    }

    /// `invalid_dpop_proof` with a description.
    pub fn invalid_dpop_proof(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidDpopProof, description)
    }

    /// `use_dpop_nonce`: retry with a proof carrying `nonce`, which the answer hands out.
    pub fn use_dpop_nonce(nonce: String, description: impl Into<String>) -> Self {
        Self {
            dpop_nonce: Some(nonce),
            ..Self::new(ErrorCode::UseDpopNonce, description)
        }
    }

    /// The same error as a protected resource answers a DPoP request: 401 for proof errors, and
    /// a `DPoP` challenge (RFC 9449 §7.1).
    pub fn with_dpop_challenge(self) -> Self {
        Self {
            dpop_challenge: true,
            ..self
        }
    }

    /// The nonce for the `DPoP-Nonce` header, if the answer hands one out.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    /// The protocol code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human description, already in the allowed character set.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// HTTP status for this error. DPoP proof errors are 400 at the token endpoint (RFC 9449
    /// §5) and 401 at a protected resource (§7.1).
    pub fn status(&self) -> u16 {
        match self.code {
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce if self.dpop_challenge => 401,
            code => code.status(),
        }
    }

    /// The `WWW-Authenticate` challenge this error needs, if any. RFC 9110 §15.5.2 requires one
    /// on every 401; RFC 6749 §5.2 names Basic for failed client authentication.
    pub fn www_authenticate(&self) -> Option<String> {
        let algs = DPOP_ALGS.join(" ");
        if self.dpop_challenge && !self.no_credentials && matches!(self.status(), 401 | 403) {
            let mut challenge = format!("DPoP realm=\"{BASIC_REALM}\", error=\"{}\"", self.code);
            if let Some(description) = &self.description {
                challenge.push_str(&format!(", error_description=\"{description}\""));
            }
            challenge.push_str(&format!(", algs=\"{algs}\""));
            return Some(challenge);
        }
        match self.code {
            ErrorCode::InvalidClient => Some(format!("Basic realm=\"{BASIC_REALM}\"")),
            // RFC 9449 §7.1: both schemes are offered to a client that sent no token.
            ErrorCode::InvalidToken if self.no_credentials => Some(format!(
                "Bearer realm=\"{BASIC_REALM}\", DPoP realm=\"{BASIC_REALM}\", algs=\"{algs}\""
            )),
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => {
                let mut challenge =
                    format!("Bearer realm=\"{BASIC_REALM}\", error=\"{}\"", self.code);
                if let Some(description) = &self.description {
                    challenge.push_str(&format!(", error_description=\"{description}\""));
                }
                Some(challenge)
            }
            _ => None,
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(description) => write!(f, "{}: {description}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                Self::temporarily_unavailable("the token store is unreachable; retry shortly")
            }
            other => Self::server_error(other),
        }
    }
}

/// RFC 6749 §5.2: `error_description` may only contain %x20-21 / %x23-5B / %x5D-7E. Quotes
/// become apostrophes, backslashes slashes, anything else (control, non-ASCII) a `?`.
pub fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(c: char) -> bool {
        matches!(c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
    }

    #[test]
    fn descriptions_stay_in_the_rfc_6749_charset() {
        let err = OAuthError::invalid_request("bad \"value\" \\ in\nline é `grant_type`");
        let description = err.description().unwrap_or_default();
        assert!(description.chars().all(allowed), "{description}");
        assert_eq!(description, "bad 'value' / in?line ? `grant_type`");
    }

    #[test]
    fn statuses_follow_the_rfcs() {
        assert_eq!(OAuthError::invalid_client("x").status(), 401);
        assert_eq!(OAuthError::invalid_request("x").status(), 400);
        assert_eq!(OAuthError::new(ErrorCode::InvalidScope, "x").status(), 400);
        assert_eq!(OAuthError::temporarily_unavailable("x").status(), 503);
        assert_eq!(OAuthError::server_error("boom").status(), 500);
    }

    #[test]
    fn invalid_client_challenges_with_basic() {
        let challenge = OAuthError::invalid_client("x").www_authenticate();
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"ferrid\""));
        assert_eq!(OAuthError::invalid_request("x").www_authenticate(), None);
    }

    #[test]
    fn bearer_challenges_name_an_error_only_when_credentials_were_sent() {
        let missing = OAuthError::bearer_token_required("a bearer access token is required");
        assert_eq!(missing.status(), 401);
        assert_eq!(missing.code(), ErrorCode::InvalidToken);
        assert_eq!(
            missing.www_authenticate().as_deref(),
            Some(
                "Bearer realm=\"ferrid\", DPoP realm=\"ferrid\", algs=\"ES256 PS256 RS256 EdDSA\""
            )
        );
        let invalid = OAuthError::invalid_token("expired");
        assert_eq!(
            invalid.www_authenticate().as_deref(),
            Some("Bearer realm=\"ferrid\", error=\"invalid_token\", error_description=\"expired\"")
        );
    }

    #[test]
    fn dpop_errors_are_400_at_the_token_endpoint_and_401_with_a_dpop_challenge_at_resources() {
        let proof = OAuthError::invalid_dpop_proof("htm does not match");
        assert_eq!(proof.status(), 400);
        assert_eq!(proof.www_authenticate(), None);
        let at_resource = proof.with_dpop_challenge();
        assert_eq!(at_resource.status(), 401);
        assert_eq!(
            at_resource.www_authenticate().as_deref(),
            Some("DPoP realm=\"ferrid\", error=\"invalid_dpop_proof\", error_description=\"htm does not match\", algs=\"ES256 PS256 RS256 EdDSA\"")
        );
        let nonce = OAuthError::use_dpop_nonce("n-1".into(), "a nonce is required");
        assert_eq!(nonce.status(), 400);
        assert_eq!(nonce.dpop_nonce(), Some("n-1"));
        assert_eq!(nonce.with_dpop_challenge().status(), 401);
        let bound_as_bearer = OAuthError::invalid_token("DPoP-bound").with_dpop_challenge();
        assert!(bound_as_bearer
            .www_authenticate()
            .unwrap()
            .starts_with("DPoP realm=\"ferrid\", error=\"invalid_token\""));
    }

    #[test]
    fn server_errors_never_carry_detail() {
        let err = OAuthError::server_error("db password is hunter2");
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn store_outage_is_temporarily_unavailable() {
        let err = OAuthError::from(StoreError::Unavailable("connection refused".into()));
        assert_eq!(err.code(), ErrorCode::TemporarilyUnavailable);
        assert_eq!(err.status(), 503);
    }
}
