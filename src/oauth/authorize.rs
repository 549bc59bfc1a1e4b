//! Authorization requests (RFC 6749 §4.1.1, OIDC Core §3.1.2.1): turns raw `/authorize`
//! parameters into a validated `AuthorizationRequest`. Until the client and its redirect URI are
//! known to be genuine, errors are shown to the person (`BrowserError::Page`) and never
//! redirected — an open redirector otherwise. After that, errors go back to the client
//! (`BrowserError::Redirect`) with `state` and `iss` (RFC 9207).
//!
//! `check` is the one validation of a request's parameters once its client is known: `/authorize`
//! (`validate`) and `/par` (`oauth::par::push`, RFC 9126) both use it, so a pushed request is
//! judged exactly as one sent through the browser. A request naming a `request_uri` is the
//! pushed request it stands for (`oauth::par::redeem`).

use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::context::Context;
use crate::error::browser::{BrowserError, RedirectError};
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::clients::{self, AuthMethod, Client};
use crate::oauth::grants::GrantType;
use crate::oauth::response_mode::ResponseMode;
use crate::oauth::{par, pkce, redirect_uri, scope};
use crate::store::provisioned;

/// Longest accepted `state`, `nonce` or `login_hint`.
const MAX_PARAMETER_LEN: usize = 2048;

/// The raw parameters of an authorization request (query or form).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    /// RFC 9126 §4: the pushed request this one stands for.
    pub request_uri: Option<String>,
    /// Names of the parameters the request carried more than once, any name (the HTTP layer
    /// keeps the first value of each); only those of `PARAMETERS` matter.
    pub repeated: Vec<String>,
}

/// How an authorization request reached ferrid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// In the browser's query or form, at `/authorize`.
    FrontChannel,
    /// Pushed by the authenticated client to `/par` (RFC 9126).
    Pushed,
}

/// The authorization request parameters ferrid reads; unknown ones are ignored (RFC 6749 §3.1).
pub const PARAMETERS: [&str; 13] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "response_mode",
    "request_uri",
];

/// The `prompt` values of a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    /// How the response goes back to the client.
    #[serde(default)]
    pub response_mode: ResponseMode,
}

impl AuthorizationRequest {
    /// Whether this is an OpenID Connect request (`openid` scope).
    pub fn is_openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    /// An error for this request's client, in its response mode.
    pub fn error(&self, error: OAuthError) -> RedirectError {
        RedirectError {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            response_mode: self.response_mode,
        }
    }
}

/// Validates the parameters of a request made at `/authorize`, returning the client and the
/// request: the pushed request `request_uri` names, or the parameters themselves.
pub async fn validate(
    ctx: &Context,
    params: AuthorizeParams,
) -> Result<(Client, AuthorizationRequest), BrowserError> {
    // RFC 6749 §3.1: parameters MUST NOT be included more than once. Which client, or which of
    // its redirect URIs, a repeated `client_id` / `redirect_uri` means cannot be known, so that
    // error is shown to the person; any other repeat goes back to the client once both are
    // verified.
    refuse_repeated_destination(&params)?;
    let client_id = params
        .client_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            BrowserError::page("The application did not say who it is (client_id is missing).")
        })?;
    if let Some(request_uri) = params.request_uri.as_deref().filter(|uri| !uri.is_empty()) {
        // RFC 9126 §4: every other parameter is the pushed request's; those sent here are
        // ignored.
        return par::redeem(ctx, &client_id, request_uri).await;
    }
    let Some(client) = clients::find(ctx.store(), &client_id).await? else {
        // Unless the store lost its data and the client is on its way back (then 503).
        provisioned::confirm_absent(ctx.store()).await?;
        return Err(BrowserError::page(format!(
            "No application is registered as `{client_id}`."
        )));
    };
    let request = check(ctx.settings(), &client, params, Channel::FrontChannel)?;
    Ok((client, request))
}

fn refuse_repeated_destination(params: &AuthorizeParams) -> Result<(), BrowserError> {
    let destination = ["client_id", "redirect_uri", "request_uri"];
    match destination
        .iter()
        .find(|name| params.repeated.iter().any(|r| r == *name))
    {
        Some(name) => Err(BrowserError::page(format!(
            "The application sent `{name}` more than once, so where to return cannot be trusted."
        ))),
        None => Ok(()),
    }
}

/// Every check of an authorization request's parameters once `client` is known to be the one it
/// names (looked up at `/authorize`, authenticated at `/par`): the redirect URI first (errors
/// before it is verified are pages), then everything else (errors redirected to it).
pub fn check(
    settings: &Settings,
    client: &Client,
    params: AuthorizeParams,
    channel: Channel,
) -> Result<AuthorizationRequest, BrowserError> {
    refuse_repeated_destination(&params)?;
    let repeated: Vec<&str> = PARAMETERS
        .into_iter()
        .filter(|name| params.repeated.iter().any(|r| r == name))
        .collect();
    let client_id = client.client_id.clone();
    let requested_scope = params.scope.as_deref().unwrap_or_default();
    let openid = requested_scope.split(' ').any(|s| s == "openid");
    let redirect = redirect_uri::resolve(
        &client.redirect_uris,
        params.redirect_uri.as_deref(),
        !openid,
    )
    .map_err(|reason| {
        BrowserError::page(format!(
            "The application sent an invalid redirect address: {reason}."
        ))
    })?
    .to_owned();

    // A repeated `state` is not echoed: which one the client expects is unknown.
    let state = params
        .state
        .filter(|s| !s.is_empty() && !repeated.contains(&"state"));
    // The mode first, so that every later error goes back in it; an unsupported one is
    // reported in the default mode.
    let (response_mode, bad_mode) = match ResponseMode::parse(params.response_mode.as_deref()) {
        Ok(mode) => (mode, None),
        Err(reason) => (ResponseMode::Query, Some(reason)),
    };
    let fail = |code: ErrorCode, description: String| {
        BrowserError::Redirect(RedirectError {
            redirect_uri: redirect.clone(),
            state: state.clone(),
            error: OAuthError::new(code, description),
            response_mode,
        })
    };
    if !repeated.is_empty() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            repeated_description(&repeated),
        ));
    }
    match channel {
        // RFC 9126 §6: such a client's requests come through `/par` only.
        Channel::FrontChannel
            if settings.par.required || client.require_pushed_authorization_requests =>
        {
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!(
                    "client `{client_id}` must push its authorization requests to the \
                     pushed_authorization_request_endpoint first (RFC 9126)"
                ),
            ));
        }
        // RFC 9126 §2.1: a pushed request cannot point at another pushed request.
        Channel::Pushed if params.request_uri.is_some() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "request_uri cannot be pushed; send the authorization parameters themselves".into(),
            ));
        }
        _ => {}
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None | Some("") => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "response_type is required".into(),
            ))
        }
        Some(other) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                format!("response_type `{other}` is not supported; use code"),
            ))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            format!("client `{client_id}` may not use the authorization_code grant"),
        ));
    }
    if let Some(reason) = bad_mode {
        return Err(fail(ErrorCode::InvalidRequest, reason));
    }
    let scopes = scope::grant(client, params.scope.as_deref())
        .map_err(|err| fail(err.code(), err.description().unwrap_or_default().to_owned()))?;
    let code_challenge = params.code_challenge.filter(|c| !c.is_empty());
    match &code_challenge {
        Some(challenge) => {
            pkce::check_challenge(challenge, params.code_challenge_method.as_deref())
                .map_err(|reason| fail(ErrorCode::InvalidRequest, reason))?
        }
        None if client.requires_pkce() => {
            let who = if client.auth_method == AuthMethod::None {
                "public clients"
            } else {
                "FAPI 2.0 clients"
            };
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!("{who} must use PKCE: send code_challenge with code_challenge_method=S256"),
            ));
        }
        None if params.code_challenge_method.is_some() => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge".into(),
            ))
        }
        None => {}
    }
    let prompt = parse_prompt(params.prompt.as_deref())
        .map_err(|reason| fail(ErrorCode::InvalidRequest, reason))?;
    let max_age = match params.max_age.as_deref().filter(|m| !m.is_empty()) {
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            fail(
                ErrorCode::InvalidRequest,
                "max_age must be a number of seconds".into(),
            )
        })?),
        None => None,
    };
    let nonce = params.nonce.filter(|n| !n.is_empty());
    let login_hint = params.login_hint.filter(|h| !h.is_empty());
    for (name, value) in [
        ("state", &state),
        ("nonce", &nonce),
        ("login_hint", &login_hint),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_PARAMETER_LEN) {
            return Err(fail(
                ErrorCode::InvalidRequest,
                format!("{name} is longer than {MAX_PARAMETER_LEN} characters"),
            ));
        }
    }
    Ok(AuthorizationRequest {
        client_id,
        redirect_uri: redirect.clone(),
        scopes,
        state: state.clone(),
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint,
        response_mode,
    })
}

fn repeated_description(names: &[&str]) -> String {
    let list = names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match names {
        [_] => format!("parameter {list} was sent more than once"),
        _ => format!("parameters {list} were sent more than once"),
    }
}

fn parse_prompt(prompt: Option<&str>) -> Result<Prompt, String> {
    let mut parsed = Prompt::default();
    for value in prompt
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => parsed.none = true,
            "login" | "select_account" => parsed.login = true,
            "consent" => parsed.consent = true,
            other => return Err(format!("prompt value `{other}` is not supported")),
        }
    }
    if parsed.none && (parsed.login || parsed.consent) {
        return Err("prompt=none cannot be combined with other prompt values".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values() {
        assert_eq!(
            parse_prompt(Some("login consent")).unwrap(),
            Prompt {
                none: false,
                login: true,
                consent: true
            }
        );
        assert!(parse_prompt(Some("none")).unwrap().none);
        assert!(parse_prompt(Some("none login")).is_err());
        assert!(parse_prompt(Some("bogus")).is_err());
    }

    #[test]
    fn repeated_parameters_are_named() {
        assert_eq!(
            repeated_description(&["state"]),
            "parameter `state` was sent more than once"
        );
        assert_eq!(
            repeated_description(&["scope", "nonce"]),
            "parameters `scope`, `nonce` were sent more than once"
        );
    }

    #[test]
    fn redirect_errors_carry_state_and_iss() {
        let err = RedirectError {
            redirect_uri: "https://app.example.com/cb".into(),
            state: Some("xyz".into()),
            error: OAuthError::new(ErrorCode::AccessDenied, "the person declined"),
            response_mode: ResponseMode::FormPost,
        };
        let response = err.response("https://auth.example.com");
        assert_eq!(response.mode, ResponseMode::FormPost);
        assert_eq!(
            response
                .params
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>(),
            ["error", "error_description", "state", "iss"]
        );
        assert_eq!(
            err.location("https://auth.example.com"),
            "https://app.example.com/cb?error=access_denied&error_description=the+person+declined&state=xyz&iss=https%3A%2F%2Fauth.example.com"
        );
    }
}
