//! `AdminError`: why an administrative request failed, with the status and error code the admin
//! API answers (`http::admin` renders it once) and the CLI prints. Client metadata errors keep
//! their RFC 7591 §3.2.2 codes; token errors their RFC 6750 codes and challenge.

use std::fmt;

use crate::error::{sanitize_description, ErrorCode, OAuthError};
use crate::keys::KeyError;
use crate::oauth::clients::MetadataError;
use crate::store::StoreError;
use crate::users::records::WriteError;
use crate::users::UserError;

/// Why an administrative request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// The bearer token is missing or invalid (401), or lacks the `admin` scope (403).
    Auth(OAuthError),
    /// Client metadata was refused (400 `invalid_redirect_uri` / `invalid_client_metadata`).
    Metadata(MetadataError),
    /// Any other malformed request (400 `invalid_request`).
    InvalidRequest(String),
    /// No such client, user or key (404 `not_found`).
    NotFound(String),
    /// The id or username is taken, or the record belongs to the config (409 `conflict`).
    Conflict(String),
    /// The store is unreachable (503 `temporarily_unavailable`).
    Unavailable,
    /// An unexpected fault (500 `server_error`); the detail is logged, never answered.
    Server,
}

impl AdminError {
    /// `server_error`, logging `detail`.
    pub fn server(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "admin operation failed");
        Self::Server
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::Auth(err) => err.status(),
            Self::Metadata(_) | Self::InvalidRequest(_) => 400,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::Unavailable => 503,
            Self::Server => 500,
        }
    }

    /// The error code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Auth(err) => err.code().as_str(),
            Self::Metadata(err) => err.code.as_str(),
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest.as_str(),
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable => ErrorCode::TemporarilyUnavailable.as_str(),
            Self::Server => ErrorCode::ServerError.as_str(),
        }
    }

    /// What went wrong, in the RFC 6749 §5.2 character set.
    pub fn description(&self) -> String {
        let text = match self {
            Self::Auth(err) => err.description().unwrap_or_default().to_owned(),
            Self::Metadata(err) => format!("{}: {}", err.field, err.description),
            Self::InvalidRequest(text) | Self::NotFound(text) | Self::Conflict(text) => {
                text.clone()
            }
            Self::Unavailable => "the store is unreachable; retry shortly".to_owned(),
            Self::Server => "internal error; the server log has the details".to_owned(),
        };
        sanitize_description(&text)
    }

    /// The `WWW-Authenticate` challenge of a 401 or 403 (RFC 6750 §3).
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::Auth(err) => err.www_authenticate(),
            _ => None,
        }
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

impl std::error::Error for AdminError {}

impl From<StoreError> for AdminError {
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

impl From<OAuthError> for AdminError {
    fn from(err: OAuthError) -> Self {
        match err.code() {
            ErrorCode::TemporarilyUnavailable => Self::Unavailable,
            ErrorCode::ServerError => Self::Server,
            _ => Self::Auth(err),
        }
    }
}

impl From<MetadataError> for AdminError {
    fn from(err: MetadataError) -> Self {
        Self::Metadata(err)
    }
}

impl From<UserError> for AdminError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::Store(err) => err.into(),
            other => Self::server(other),
        }
    }
}

impl From<WriteError> for AdminError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::UsernameTaken(_) => Self::Conflict(err.to_string()),
            WriteError::NotFound(_) => Self::NotFound(err.to_string()),
            WriteError::Store(err) => err.into(),
        }
    }
}

impl From<KeyError> for AdminError {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Store(err) => err.into(),
            other => Self::server(other),
        }
    }
}
