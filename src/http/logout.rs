//! The end-session endpoint (`/logout`, GET and POST; OIDC RP-Initiated Logout 1.0): renders
//! the confirmation and signed-out pages or redirects to the client's registered post-logout
//! URI, and clears the session cookie. The decisions are `oidc::logout`'s.

use std::sync::Arc;

use askama::Template;
use poem::http::{header, StatusCode};
use poem::web::{Data, Form, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;

use super::cookies::CookieNames;
use super::pages::{error_page, html};
use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::oidc::logout::{self, LogoutRequest, LogoutStep};

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage<'a> {
    csrf: &'a str,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutPage;

/// Logout parameters, from the query (GET) or the form (POST).
#[derive(Debug, Default, Deserialize)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    csrf_token: Option<String>,
}

async fn run(ctx: &Context, request: &Request, params: LogoutParams) -> Response {
    let names = CookieNames::for_issuer(ctx.settings().issuer());
    let logout_request = LogoutRequest {
        id_token_hint: params.id_token_hint,
        client_id: params.client_id,
        post_logout_redirect_uri: params.post_logout_redirect_uri,
        state: params.state,
    };
    let step = logout::logout(
        ctx,
        &logout_request,
        names.session(request),
        params.csrf_token.as_deref(),
    )
    .await;
    let mut response = match step {
        Ok(LogoutStep::Confirm { csrf }) => {
            let page = ConfirmPage {
                csrf: &csrf,
                client_id: logout_request.client_id.as_deref(),
                post_logout_redirect_uri: logout_request.post_logout_redirect_uri.as_deref(),
                state: logout_request.state.as_deref(),
            };
            return html(StatusCode::OK, page.render());
        }
        Ok(LogoutStep::Done {
            redirect: Some(location),
        }) => Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, location)
            .finish(),
        Ok(LogoutStep::Done { redirect: None }) => html(StatusCode::OK, LoggedOutPage.render()),
        Err(BrowserError::Page { status, message }) => return error_page(status, &message),
        Err(BrowserError::Redirect(redirect)) => {
            return error_page(400, &redirect.error.to_string())
        }
    };
    if let Ok(value) = header::HeaderValue::from_str(&names.clear_session()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// GET /logout.
#[handler]
pub async fn logout_get(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    query: Result<Query<LogoutParams>, poem::Error>,
) -> Response {
    let params = query.map(|q| q.0).unwrap_or_default();
    run(&ctx, request, params).await
}

/// POST /logout (the confirmation form, or an RP posting the parameters).
#[handler]
pub async fn logout_post(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    form: Result<Form<LogoutParams>, poem::Error>,
) -> Response {
    let params = form.map(|f| f.0).unwrap_or_default();
    run(&ctx, request, params).await
}
