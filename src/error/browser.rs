//! Errors a person's browser sees — at `/authorize`, on the login and consent pages and at
//! `/logout`: either an error page (when the client or its redirect URI cannot be trusted, or
//! there is no client to return to) or a redirect that carries the error back to the client
//! (RFC 6749 §4.1.2.1, with `state` and RFC 9207 `iss`) in the request's response mode. Never
//! both: a redirect to an unverified URI would make ferrid an open redirector.

use crate::error::OAuthError;
use crate::oauth::response_mode::{AuthorizationResponse, ResponseMode};

/// Why a request made by a browser failed, and where the answer goes.
#[derive(Debug)]
pub enum BrowserError {
    /// The client or redirect URI cannot be trusted: an error page, never a redirect.
    Page { status: u16, message: String },
    /// Redirected back to the client.
    Redirect(RedirectError),
}

/// An error for the client's redirect URI.
#[derive(Debug)]
pub struct RedirectError {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub error: OAuthError,
    /// How the error reaches the client: the request's `response_mode`.
    pub response_mode: ResponseMode,
}

impl RedirectError {
    /// The authorization response carrying the error (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
    pub fn response(&self, issuer: &str) -> AuthorizationResponse {
        let mut params = vec![("error", self.error.code().as_str().to_owned())];
        if let Some(description) = self.error.description() {
            params.push(("error_description", description.to_owned()));
        }
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", issuer.to_owned()));
        AuthorizationResponse {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            params,
        }
    }

    /// The `Location` carrying the error in `query` mode.
    pub fn location(&self, issuer: &str) -> String {
        self.response(issuer).location()
    }
}

impl From<crate::store::StoreError> for BrowserError {
    fn from(err: crate::store::StoreError) -> Self {
        Self::server(OAuthError::from(err))
    }
}

impl BrowserError {
    /// A 400 error page with `message`.
    pub fn page(message: impl Into<String>) -> Self {
        Self::Page {
            status: 400,
            message: message.into(),
        }
    }

    /// An error page for an infrastructure failure, with its status (503 while the store is
    /// unavailable) and its public description only.
    pub fn server(err: OAuthError) -> Self {
        Self::Page {
            status: err.status(),
            message: err.description().unwrap_or_default().to_owned(),
        }
    }
}
