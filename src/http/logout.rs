//! The end-session endpoint (`/logout`, GET and POST; OIDC RP-Initiated Logout 1.0): renders
//! the confirmation and signed-out pages or redirects to the client's registered post-logout
//! URI, and clears the session cookie. The decisions are `oidc::logout`'s.

use std::sync::Arc;

use askama::Template;
use poem::http::{header, StatusCode};
use poem::web::Data;
use poem::{Request, Response};
use poem_openapi::param::Query;
use poem_openapi::payload::{Form, Html};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::cookies::CookieNames;
use super::page_response::{PageDoc, PageResponse};
use super::pages::{error_page, html};
use super::ApiTags;
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

/// Logout parameters (OIDC RP-Initiated Logout 1.0 §2), from the query (GET) or the form (POST).
#[derive(Debug, Default, Deserialize, Object)]
pub struct LogoutForm {
    /// An ID token ferrid issued to the client; identifies the session to end.
    pub id_token_hint: Option<String>,
    /// The client asking for the logout (needed with `post_logout_redirect_uri` when there is
    /// no `id_token_hint`).
    pub client_id: Option<String>,
    /// Where to send the person afterwards; must be registered for the client exactly.
    pub post_logout_redirect_uri: Option<String>,
    /// Opaque value echoed back on that redirect.
    pub state: Option<String>,
    /// The CSRF token of ferrid's own confirmation form.
    pub csrf_token: Option<String>,
}

/// The documented responses of `/logout`; the real ones are built by `run`.
#[allow(dead_code)]
#[derive(ApiResponse)]
enum LogoutDoc {
    /// The confirmation page (the request did not prove it comes from the session's own client)
    /// or the signed-out page. The session cookie is cleared once the session has ended.
    #[oai(status = 200)]
    Ok(Html<String>, #[oai(header = "Set-Cookie")] Option<String>),
    /// Signed out; on to the client's registered `post_logout_redirect_uri` with `state`.
    #[oai(status = 303)]
    SeeOther(
        #[oai(header = "Location")] String,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
    /// The hint, client or redirect URI is invalid: an HTML page, never a redirect.
    #[oai(status = 400)]
    BadRequest(Html<String>),
    /// The store is unreachable: an HTML page; retry later.
    #[oai(status = 503)]
    Unavailable(Html<String>),
}

impl PageDoc for LogoutDoc {
    const REQUEST: &'static str = "logout request";
}

/// A response built by `run`, documented as `LogoutDoc`.
type LogoutResponse = PageResponse<LogoutDoc>;

/// The end-session endpoint.
pub struct LogoutApi;

#[OpenApi(tag = "ApiTags::OpenIdConnect")]
impl LogoutApi {
    /// End-session endpoint
    ///
    /// Ends the person's session at ferrid (OIDC RP-Initiated Logout 1.0). Without proof that
    /// the request comes from the session's own client, ferrid asks the person to confirm first.
    #[oai(path = "/logout", method = "get", operation_id = "logout")]
    async fn logout_get(
        &self,
        ctx: Data<&Arc<Context>>,
        request: &Request,
        /// An ID token ferrid issued to the client; identifies the session to end.
        id_token_hint: Query<Option<String>>,
        /// The client asking for the logout.
        client_id: Query<Option<String>>,
        /// Where to send the person afterwards; must be registered for the client exactly.
        post_logout_redirect_uri: Query<Option<String>>,
        /// Opaque value echoed back on that redirect.
        state: Query<Option<String>>,
    ) -> LogoutResponse {
        let params = LogoutForm {
            id_token_hint: id_token_hint.0,
            client_id: client_id.0,
            post_logout_redirect_uri: post_logout_redirect_uri.0,
            state: state.0,
            csrf_token: None,
        };
        LogoutResponse::new(run(&ctx, request, params).await)
    }

    /// End-session endpoint (form post)
    ///
    /// The same as `GET /logout` with the parameters in a form body; ferrid's confirmation page
    /// posts here with its CSRF token.
    #[oai(path = "/logout", method = "post", operation_id = "logout_post")]
    async fn logout_post(
        &self,
        ctx: Data<&Arc<Context>>,
        request: &Request,
        form: Form<LogoutForm>,
    ) -> LogoutResponse {
        LogoutResponse::new(run(&ctx, request, form.0).await)
    }
}

async fn run(ctx: &Context, request: &Request, params: LogoutForm) -> Response {
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
