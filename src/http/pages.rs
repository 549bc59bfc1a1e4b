//! The HTML side of the authorization flow: the login and consent pages (plain forms that work
//! without JavaScript) and the error page, rendered from `templates/` with askama (escaping on),
//! and the mapping of a flow `Outcome` to a response — a page, or a 303 to the next page or back
//! to the client (or, in `form_post` mode, the form that posts the response to it, see
//! `form_post`), with the cookies the flow asked for. These routes are for browsers, not API
//! clients, so they stay out of the OpenAPI document.

use std::sync::Arc;

use askama::Template;
use poem::http::{header, StatusCode};
use poem::web::{Data, Form, Query};
use poem::{handler, IntoResponse, Request, Response};
use serde::Deserialize;

use super::cookies::CookieNames;
use super::form_post;
use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::interaction::{self, Browser, ConsentForm, LoginForm, Outcome, Page, PageContext, Step};
use crate::oauth::response_mode::{AuthorizationResponse, ResponseMode};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    client_name: &'a str,
    interaction: &'a str,
    csrf: &'a str,
    username: &'a str,
    failed: bool,
    /// Seconds until a throttled address may try again.
    retry_after: Option<u64>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    interaction: &'a str,
    csrf: &'a str,
    username: &'a str,
    scopes: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

pub(crate) fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(body) => Response::builder()
            .status(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body("internal error")
        }
    }
}

/// The HTML error page (never a redirect).
pub fn error_page(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    html(status, ErrorPage { message }.render())
}

/// Renders the page of a step; redirects are followed with 303.
fn render(step: &Step) -> Response {
    match step {
        Step::Login {
            page,
            login_hint,
            failed,
            retry_after,
        } => {
            let form = LoginPage {
                client_name: &page.client_name,
                interaction: &page.interaction,
                csrf: &page.csrf,
                username: login_hint.as_deref().unwrap_or_default(),
                failed: *failed && retry_after.is_none(),
                retry_after: *retry_after,
            };
            match retry_after {
                // RFC 6585 §4: 429 with how long to wait; the form is usable again after that.
                Some(secs) => {
                    let mut response = html(StatusCode::TOO_MANY_REQUESTS, form.render());
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, header::HeaderValue::from(*secs));
                    response
                }
                None => html(StatusCode::OK, form.render()),
            }
        }
        Step::Consent {
            page,
            username,
            scopes,
        } => html(
            StatusCode::OK,
            ConsentPage {
                client_name: &page.client_name,
                interaction: &page.interaction,
                csrf: &page.csrf,
                username,
                scopes,
            }
            .render(),
        ),
        Step::Redirect(response) => to_client(response),
    }
}

/// Delivers an authorization response to the client in its mode.
fn to_client(response: &AuthorizationResponse) -> Response {
    match response.mode {
        ResponseMode::Query => see_other(&response.location()),
        ResponseMode::FormPost => form_post::page(response),
    }
}

fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .finish()
}

/// Where a step lives when it is not rendered in place.
pub fn location(step: &Step) -> String {
    let page =
        |path: &str, context: &PageContext| format!("{path}?interaction={}", context.interaction);
    match step {
        Step::Login { page: context, .. } => page("/login", context),
        Step::Consent { page: context, .. } => page("/consent", context),
        Step::Redirect(response) => response.location(),
    }
}

/// Answers a flow result: pages in place when `render_in_place`, otherwise 303 to where the
/// step lives; with the flow's cookies.
fn respond(
    ctx: &Context,
    result: Result<Outcome, BrowserError>,
    render_in_place: bool,
) -> Response {
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(BrowserError::Page { status, message }) => return error_page(status, &message),
        Err(BrowserError::Redirect(redirect)) => {
            return to_client(&redirect.response(ctx.settings().issuer()))
        }
    };
    let failed_login = matches!(outcome.step, Step::Login { failed: true, .. });
    // A form post to the client is a page by nature: it cannot live behind a 303.
    let form_post = matches!(&outcome.step, Step::Redirect(r) if r.mode == ResponseMode::FormPost);
    let mut response = if render_in_place || failed_login || form_post {
        render(&outcome.step)
    } else {
        see_other(&location(&outcome.step))
    };
    let names = CookieNames::for_issuer(ctx.settings().issuer());
    if let Some(session) = &outcome.set_session {
        append_cookie(
            &mut response,
            names.set_session(session, ctx.settings().sessions.absolute_ttl_secs),
        );
    }
    if let Some(bind) = &outcome.set_bind {
        append_cookie(&mut response, names.set_bind(bind));
    }
    response
}

fn append_cookie(response: &mut Response, cookie: String) {
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// What the browser presents: its cookies and its address. The address is the connection's
/// peer: without a trusted-proxy setting, `X-Forwarded-For` is anyone's to write.
fn browser<'a>(ctx: &Context, request: &'a Request) -> Browser<'a> {
    let names = CookieNames::for_issuer(ctx.settings().issuer());
    Browser {
        session: names.session(request),
        bind: names.bind(request),
        address: request.remote_addr().as_socket_addr().map(|addr| addr.ip()),
    }
}

#[derive(Deserialize)]
struct InteractionQuery {
    interaction: Option<String>,
}

#[derive(Deserialize)]
struct LoginFields {
    interaction: Option<String>,
    csrf_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
struct ConsentFields {
    interaction: Option<String>,
    csrf_token: Option<String>,
    decision: Option<String>,
}

const NO_INTERACTION: &str = "This page must be reached from an application's sign-in request.";

async fn show(
    ctx: &Context,
    request: &Request,
    query: Result<Query<InteractionQuery>, poem::Error>,
    page: Page,
) -> Response {
    let Some(id) = query.ok().and_then(|q| q.0.interaction) else {
        return error_page(400, NO_INTERACTION);
    };
    let result = interaction::show(ctx, &id, page, browser(ctx, request)).await;
    let in_place = matches!(&result, Ok(outcome) if matches!((&outcome.step, page), (Step::Login { .. }, Page::Login) | (Step::Consent { .. }, Page::Consent)));
    respond(ctx, result, in_place)
}

/// GET /login: the login form of an interaction.
#[handler]
pub async fn login_page(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    query: Result<Query<InteractionQuery>, poem::Error>,
) -> Response {
    show(&ctx, request, query, Page::Login).await
}

/// POST /login: checks the credentials and continues the flow.
#[handler]
pub async fn login_submit(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    form: Result<Form<LoginFields>, poem::Error>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return error_page(400, "The sign-in form was malformed.");
    };
    let Some(interaction) = fields.interaction else {
        return error_page(400, NO_INTERACTION);
    };
    let form = LoginForm {
        interaction: &interaction,
        csrf_token: fields.csrf_token.as_deref(),
        username: fields.username.as_deref().unwrap_or_default().trim(),
        password: fields.password.unwrap_or_default(),
    };
    respond(
        &ctx,
        interaction::login(&ctx, form, browser(&ctx, request)).await,
        false,
    )
}

/// GET /consent: the consent form of an interaction.
#[handler]
pub async fn consent_page(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    query: Result<Query<InteractionQuery>, poem::Error>,
) -> Response {
    show(&ctx, request, query, Page::Consent).await
}

/// POST /consent: records the decision and continues the flow.
#[handler]
pub async fn consent_submit(
    ctx: Data<&Arc<Context>>,
    request: &Request,
    form: Result<Form<ConsentFields>, poem::Error>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return error_page(400, "The consent form was malformed.");
    };
    let Some(interaction) = fields.interaction else {
        return error_page(400, NO_INTERACTION);
    };
    let allow = match fields.decision.as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => return error_page(400, "Choose Allow or Deny."),
    };
    let form = ConsentForm {
        interaction: &interaction,
        csrf_token: fields.csrf_token.as_deref(),
        allow,
    };
    respond(
        &ctx,
        interaction::consent(&ctx, form, browser(&ctx, request)).await,
        false,
    )
}

/// Answers an `/authorize` request: 303 onward (never a page in place), or the error page.
pub async fn authorize(
    ctx: &Context,
    request: &Request,
    params: crate::oauth::authorize::AuthorizeParams,
) -> Response {
    respond(
        ctx,
        interaction::authorize(ctx, params, browser(ctx, request)).await,
        false,
    )
}

impl IntoResponse for ErrorPage<'_> {
    fn into_response(self) -> Response {
        html(StatusCode::BAD_REQUEST, self.render())
    }
}
