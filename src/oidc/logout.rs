//! RP-Initiated Logout 1.0: ends the person's browser session at ferrid and, per
//! `sessions.logout_revokes`, the refresh-token families started in it (by default those without
//! `offline_access`). An `id_token_hint` is checked for ferrid's signature, issuer and audience
//! but not expiry (apps keep old ID tokens), and must be an ID token (JOSE `typ` absent or `JWT`:
//! an access token is not a hint). The logout happens at once only when the hint belongs to the
//! session being ended — its `sid`, or without one its `sub` — so that a valid ID token of
//! anyone (which any client of ferrid can obtain) cannot end another person's session from a
//! link on another site; otherwise the person confirms on a page first. The person is sent to
//! `post_logout_redirect_uri` only when it is registered for the client, with `state`.

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::oauth::access_token::Audience;
use crate::oauth::{clients, redirect_uri, refresh_family};
use crate::session;
use crate::telemetry::{self, AuditEvent};

/// The claims of an `id_token_hint` that logout uses.
#[derive(Debug, Deserialize)]
struct HintClaims {
    sub: String,
    aud: Audience,
    #[serde(default)]
    sid: Option<String>,
}

impl HintClaims {
    /// The client the ID token was issued to (its only audience).
    fn client_id(&self) -> Option<String> {
        match &self.aud {
            Audience::One(one) => Some(one.clone()),
            Audience::Many(many) if many.len() == 1 => many.first().cloned(),
            Audience::Many(_) => None,
        }
    }

    /// Whether the hint names `session`: by `sid` when it has one, else by the person.
    fn names(&self, session: &session::Session) -> bool {
        match &self.sid {
            Some(sid) => *sid == session.sid,
            None => self.sub == session.user_id,
        }
    }
}

/// The logout request's parameters.
#[derive(Debug, Clone, Default)]
pub struct LogoutRequest {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// What the browser sees next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutStep {
    /// Ask the person to confirm; the form posts back with this CSRF token.
    Confirm { csrf: String },
    /// Logged out: go to the client's registered URI, or show the logged-out page.
    Done { redirect: Option<String> },
}

/// Handles a logout request; `confirmation` is the CSRF token of a posted confirmation form.
pub async fn logout(
    ctx: &Context,
    request: &LogoutRequest,
    session_cookie: Option<&str>,
    confirmation: Option<&str>,
) -> Result<LogoutStep, BrowserError> {
    let hint = match request.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(hint) => Some(verify_hint(ctx, hint, request.client_id.as_deref())?),
        None => None,
    };
    let client_id = request
        .client_id
        .clone()
        .or_else(|| hint.as_ref().and_then(HintClaims::client_id));
    let redirect = match (&request.post_logout_redirect_uri, &client_id) {
        (Some(uri), Some(client_id)) => {
            let client = clients::find(ctx.store(), client_id).await?;
            client
                .filter(|client| {
                    client
                        .post_logout_redirect_uris
                        .iter()
                        .any(|registered| registered == uri)
                })
                .map(|_| {
                    let state: Vec<(&str, &str)> = request
                        .state
                        .iter()
                        .map(|s| ("state", s.as_str()))
                        .collect();
                    redirect_uri::with_params(uri, &state)
                })
        }
        _ => None,
    };
    let Some(cookie) = session_cookie.filter(|c| !c.is_empty()) else {
        return Ok(LogoutStep::Done { redirect });
    };
    let expected_csrf = ctx.derived_keys().logout_csrf(cookie);
    let hint_names_this_session = match &hint {
        Some(claims) => session::load(ctx, Some(cookie))
            .await?
            .is_some_and(|session| claims.names(&session)),
        None => false,
    };
    let confirmed = hint_names_this_session
        || confirmation.is_some_and(|token| {
            subtle::ConstantTimeEq::ct_eq(token.as_bytes(), expected_csrf.as_bytes()).into()
        });
    if !confirmed {
        return Ok(LogoutStep::Confirm {
            csrf: expected_csrf,
        });
    }
    if let Some(ended) = session::end(ctx, cookie).await? {
        let policy = ctx.settings().sessions.logout_revokes.as_str();
        for family in refresh_family::families_of_session(ctx, &ended.sid).await? {
            let offline = family.scopes.iter().any(|s| s == "offline_access");
            if policy == "all" || (policy == "online" && !offline) {
                refresh_family::revoke_family(ctx, &family.id).await?;
            }
        }
        telemetry::record(AuditEvent::Logout {
            sub: &ended.user_id,
            client_id: client_id.as_deref(),
        });
    }
    Ok(LogoutStep::Done { redirect })
}

fn verify_hint(
    ctx: &Context,
    hint: &str,
    client_id: Option<&str>,
) -> Result<HintClaims, BrowserError> {
    let invalid = || {
        BrowserError::page(
            "The logout request carries an ID token that is not valid for this application.",
        )
    };
    // RFC 8725 §3.11: a token's `typ` says what it is for; an access token (`at+jwt`) or any
    // other typed JWT is not an ID token, whatever its signature.
    let header = jsonwebtoken::decode_header(hint).map_err(|_| invalid())?;
    if header
        .typ
        .as_deref()
        .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
    {
        return Err(invalid());
    }
    let ring = ctx.key_ring().map_err(BrowserError::server)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ctx.settings().issuer()]);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["iss", "aud", "sub"]);
    match client_id {
        Some(client_id) => validation.set_audience(&[client_id]),
        None => validation.validate_aud = false,
    }
    ring.verify::<HintClaims>(hint, &validation)
        .map_err(|_| invalid())
}
