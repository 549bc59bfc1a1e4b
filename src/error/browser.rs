//! Errors a person's browser sees — at `/authorize`, on the login and consent pages and at
//! `/logout`: either an error page (when the client or its redirect URI cannot be trusted, or
//! there is no client to return to) or a redirect that carries the error back to the client
//! (RFC 6749 §4.1.2.1, with `state` and RFC 9207 `iss`). Never both: a redirect to an
//! unverified URI would make ferrid an open redirector.

use crate::error::OAuthError;
use crate::oauth::redirect_uri;

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
}

impl RedirectError {
    /// The `Location` carrying the error (RFC 6749 §4.1.2.1, RFC 9207 `iss`).
    pub fn location(&self, issuer: &str) -> String {
        let mut params = vec![("error", self.error.code().as_str())];
        if let Some(description) = self.error.description() {
            params.push(("error_description", description));
        }
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        redirect_uri::with_params(&self.redirect_uri, &params)
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
