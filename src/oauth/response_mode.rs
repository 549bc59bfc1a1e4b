//! How an authorization response reaches the client (OAuth 2.0 Multiple Response Type Encoding
//! Practices §2.1, OAuth 2.0 Form Post Response Mode): `query`, a redirect whose query carries
//! the parameters, or `form_post`, a form the browser POSTs to the redirect URI, which keeps the
//! code and `state` out of the browser's history, server logs and `Referer` headers. The
//! response itself — the code or the error, with `state` and `iss` — is the same in both;
//! `AuthorizationResponse` is what the HTTP layer delivers in either mode.

use serde::{Deserialize, Serialize};

use crate::oauth::redirect_uri;

/// A `response_mode` ferrid delivers authorization responses in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// The default for `response_type=code`: parameters in the redirect's query.
    #[default]
    Query,
    /// An auto-submitting HTML form POSTed to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// Every supported value, as discovery's `response_modes_supported` lists them.
    pub const SUPPORTED: [&'static str; 2] = ["query", "form_post"];

    /// Parses a request's `response_mode`; absent or empty is `query`.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or_default() {
            "" | "query" => Ok(Self::Query),
            "form_post" => Ok(Self::FormPost),
            other => Err(format!(
                "response_mode `{other}` is not supported; use {}",
                Self::SUPPORTED.join(" or ")
            )),
        }
    }
}

/// An authorization response for the client: where, how, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The client's verified redirect URI.
    pub redirect_uri: String,
    pub mode: ResponseMode,
    /// `code` or `error` (+ `error_description`), then `state` and `iss`, in that order.
    pub params: Vec<(&'static str, String)>,
}

impl AuthorizationResponse {
    /// The redirect URI with the parameters added to its query (`query` mode).
    pub fn location(&self) -> String {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        redirect_uri::with_params(&self.redirect_uri, &params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(ResponseMode::parse(None), Ok(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("")), Ok(ResponseMode::Query));
        assert_eq!(ResponseMode::parse(Some("query")), Ok(ResponseMode::Query));
        assert_eq!(
            ResponseMode::parse(Some("form_post")),
            Ok(ResponseMode::FormPost)
        );
        let err = ResponseMode::parse(Some("fragment")).unwrap_err();
        assert!(err.contains("query or form_post"), "{err}");
    }
}
