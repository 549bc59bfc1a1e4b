//! `RegistrationError`: why `/register` or a registration client URI refused, with the status and
//! error code the HTTP layer answers once. Refused metadata keeps its RFC 7591 §3.2.2 code
//! (`invalid_redirect_uri`, `invalid_client_metadata`) and names the field; a missing or bad
//! initial or registration access token is an RFC 6750 error with its `WWW-Authenticate`
//! challenge (RFC 7591 §3.2.2, RFC 7592 §2).

use std::fmt;

use crate::error::{sanitize_description, ErrorCode, BASIC_REALM};
use crate::oauth::clients::store::ReplaceError;
use crate::oauth::clients::validate::MetadataErrorCode;
use crate::oauth::clients::MetadataError;
use crate::store::StoreError;

/// Why a registration request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationError {
    /// `registration.mode` is `closed` (403 `access_denied`).
    Closed,
    /// No access token where one is needed (401, a bare `Bearer` challenge, RFC 6750 §3.1).
    TokenMissing(&'static str),
    /// The initial or registration access token is unknown, expired, used up or not this
    /// client's (401 `invalid_token`).
    InvalidToken(&'static str),
    /// The metadata was refused (400 `invalid_redirect_uri` / `invalid_client_metadata`).
    Metadata(MetadataError),
    /// Too many open registrations from the client's address this hour (429
    /// `temporarily_unavailable`); retry after this many seconds.
    Throttled(u64),
    /// The store is unreachable (503 `temporarily_unavailable`).
    Unavailable,
    /// An unexpected fault (500 `server_error`); the detail is logged, never answered.
    Server,
}

impl RegistrationError {
    /// `server_error`, logging `detail`.
    pub fn server(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "registration failed");
        Self::Server
    }

    /// `invalid_client_metadata` naming `field`.
    pub fn metadata(field: &'static str, description: impl Into<String>) -> Self {
        Self::Metadata(MetadataError {
            code: MetadataErrorCode::InvalidClientMetadata,
            field,
            description: description.into(),
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Closed => 403,
            Self::TokenMissing(_) | Self::InvalidToken(_) => 401,
            Self::Metadata(_) => 400,
            Self::Throttled(_) => 429,
            Self::Unavailable => 503,
            Self::Server => 500,
        }
    }

    /// The error code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Closed => ErrorCode::AccessDenied.as_str(),
            Self::TokenMissing(_) | Self::InvalidToken(_) => ErrorCode::InvalidToken.as_str(),
            Self::Metadata(err) => err.code.as_str(),
            Self::Throttled(_) | Self::Unavailable => ErrorCode::TemporarilyUnavailable.as_str(),
            Self::Server => ErrorCode::ServerError.as_str(),
        }
    }

    /// What went wrong, in the RFC 6749 §5.2 character set.
    pub fn description(&self) -> String {
        let text = match self {
            Self::Closed => "dynamic client registration is closed on this server; ask its \
                             operator to register the client"
                .to_owned(),
            Self::TokenMissing(text) | Self::InvalidToken(text) => (*text).to_owned(),
            Self::Metadata(err) => format!("{}: {}", err.field, err.description),
            Self::Throttled(secs) => format!(
                "too many clients registered from this address in the last hour; retry in \
                 {secs} s"
            ),
            Self::Unavailable => "the store is unreachable; retry shortly".to_owned(),
            Self::Server => "internal error; the server log has the details".to_owned(),
        };
        sanitize_description(&text)
    }

    /// Seconds to announce in `Retry-After` (429 and 503).
    pub fn retry_after(&self) -> u64 {
        match self {
            Self::Throttled(secs) => *secs,
            _ => 1,
        }
    }

    /// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3: no `error` when no token was
    /// sent).
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::TokenMissing(_) => Some(format!("Bearer realm=\"{BASIC_REALM}\"")),
            Self::InvalidToken(_) => Some(format!(
                "Bearer realm=\"{BASIC_REALM}\", error=\"invalid_token\", \
                 error_description=\"{}\"",
                self.description()
            )),
            _ => None,
        }
    }
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for RegistrationError {}

impl From<StoreError> for RegistrationError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                Self::Unavailable
            }
            other => Self::server(other),
        }
    }
}

impl From<MetadataError> for RegistrationError {
    fn from(err: MetadataError) -> Self {
        Self::Metadata(err)
    }
}

impl From<ReplaceError> for RegistrationError {
    fn from(err: ReplaceError) -> Self {
        match err {
            // Deleted since it was read: the token manages nothing any more.
            ReplaceError::NotFound(_) => Self::InvalidToken(super::NOT_THIS_CLIENT),
            ReplaceError::Store(err) => err.into(),
        }
    }
}
