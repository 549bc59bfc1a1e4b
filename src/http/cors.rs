//! CORS: which endpoints a browser app on another origin may call, and for whom. poem's `Cors`
//! middleware has one static origin list for the whole server; ferrid's origins belong to
//! clients and change at runtime, so `apply` wraps the routes and looks each path up in
//! `POLICIES`, one line per endpoint:
//!
//! - Discovery and the JWKS are public metadata: `Access-Control-Allow-Origin: *` on every
//!   answer, no credentials, preflights answered.
//! - The endpoints a browser app calls for itself (`/token`, `/revoke`, `/userinfo`) answer a
//!   preflight with the origin, methods, headers and `Access-Control-Max-Age` only when some
//!   client lists the origin in `allowed_cors_origins` (one read of the origin index); any other
//!   origin gets a 204 without CORS headers, which the browser treats as a refusal. The actual
//!   answer carries `Access-Control-Allow-Origin: <origin>` only when the client the request
//!   speaks for lists that origin (`oauth::cors::may_read`), errors included, so the app can
//!   read `invalid_grant` or `invalid_token`; a request whose client is unknown, or that failed
//!   client authentication (401 `invalid_client`), gets none. Every answer says
//!   `Vary: Origin`, since it depends on it. No `Access-Control-Allow-Credentials`: these
//!   endpoints take credentials in headers and bodies, never cookies.
//!
//! Registration (`/register`, `/register/{client_id}`) follows the same rules, for the client
//! registered or named by the path.
//!
//! `/introspect` is left out on purpose: it is for resource servers, whose credentials do not
//! belong in a browser. `/authorize`, `/logout` and the login pages are navigated to, not
//! fetched, and need no CORS.

use std::sync::Arc;

use poem::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    AUTHORIZATION, ORIGIN, RETRY_AFTER, VARY,
};
use poem::http::{HeaderMap, HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response, Result};

use super::errors::render;
use super::paths;
use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::cors::{self, Caller};

/// How one endpoint answers browsers on other origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Public metadata any origin may read: `Access-Control-Allow-Origin: *`.
    AnyOrigin,
    /// Only the origins of the client the request speaks for, found as `Identify` says.
    ClientOrigins(Identify),
}

/// How a request names the client whose origins may read its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identify {
    /// Client credentials: `client_id` of HTTP Basic, else of the form body. A 401 answer
    /// (`invalid_client`) means the client did not authenticate: no CORS header.
    ClientCredentials,
    /// An access token, in `Authorization: Bearer|DPoP` or the `access_token` form field: its
    /// client.
    AccessToken,
    /// Dynamic registration (RFC 7591/7592): at `/register`, the client the answer registered
    /// (its `client_id`, in a 201); at `/register/{client_id}`, the client the path names,
    /// read before the request is served (a deleted client still lets its origin read the
    /// 204) — unless the registration access token was refused (401: no CORS header).
    Registration,
}

/// One endpoint's CORS rule.
#[derive(Debug)]
pub struct Rule {
    /// The endpoint's path, exactly as routed; a path ending in `/` covers the paths one
    /// segment below it (`/register/{client_id}`).
    pub path: &'static str,
    /// The methods a preflight may ask for.
    pub methods: &'static [&'static str],
    /// Who may read its answers.
    pub policy: Policy,
}

/// Every endpoint a browser on another origin may call. Opening another one is one line here.
pub const POLICIES: &[Rule] = &[
    Rule {
        path: "/.well-known/openid-configuration",
        methods: &["GET"],
        policy: Policy::AnyOrigin,
    },
    Rule {
        path: "/.well-known/oauth-authorization-server",
        methods: &["GET"],
        policy: Policy::AnyOrigin,
    },
    Rule {
        path: paths::JWKS,
        methods: &["GET"],
        policy: Policy::AnyOrigin,
    },
    Rule {
        path: paths::TOKEN,
        methods: &["POST"],
        policy: Policy::ClientOrigins(Identify::ClientCredentials),
    },
    Rule {
        path: paths::REVOKE,
        methods: &["POST"],
        policy: Policy::ClientOrigins(Identify::ClientCredentials),
    },
    Rule {
        path: paths::USERINFO,
        methods: &["GET", "POST"],
        policy: Policy::ClientOrigins(Identify::AccessToken),
    },
    Rule {
        path: paths::REGISTER,
        methods: &["POST"],
        policy: Policy::ClientOrigins(Identify::Registration),
    },
    Rule {
        path: REGISTRATION_CLIENT,
        methods: &["GET", "PUT", "DELETE"],
        policy: Policy::ClientOrigins(Identify::Registration),
    },
];

/// The registration client URIs, `/register/{client_id}` (RFC 7592).
const REGISTRATION_CLIENT: &str = "/register/";

/// The request headers a browser app may send to a client endpoint.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, DPoP";
/// The response headers a browser app may read besides the CORS-safelisted ones: the DPoP nonce
/// for its next proof (RFC 9449 §8) and the RFC 6750 / RFC 9449 challenge.
pub const EXPOSED_HEADERS: &str = "DPoP-Nonce, WWW-Authenticate";
/// How long a browser may reuse a preflight answer, in seconds (Chromium keeps it at most 2 h).
/// A client that drops an origin stops its actual answers at once; only preflights linger.
pub const PREFLIGHT_MAX_AGE_SECS: u32 = 600;

/// The rule of `path`, if browsers on other origins may call it.
pub fn rule_for(path: &str) -> Option<&'static Rule> {
    POLICIES
        .iter()
        .find(|rule| match rule.path.strip_suffix('/') {
            Some(_) => path
                .strip_prefix(rule.path)
                .is_some_and(|below| !below.is_empty() && !below.contains('/')),
            None => rule.path == path,
        })
}

/// Applies the CORS rule of the request's path (see the module documentation).
pub async fn apply<E: Endpoint>(
    endpoint: Arc<E>,
    request: Request,
    ctx: Arc<Context>,
) -> Result<Response> {
    let Some(rule) = rule_for(request.uri().path()) else {
        return Ok(call(&*endpoint, request).await);
    };
    let origin = header_str(request.headers(), &ORIGIN).map(str::to_owned);
    let requested_method = (request.method() == Method::OPTIONS)
        .then(|| header_str(request.headers(), &ACCESS_CONTROL_REQUEST_METHOD))
        .flatten()
        .map(str::to_owned);
    let mut response = match (rule.policy, origin, requested_method) {
        (Policy::AnyOrigin, Some(_), Some(method)) => {
            let mut response = no_content();
            // Any request header: the metadata is public (`*` never covers `Authorization`).
            if rule.methods.contains(&method.as_str()) {
                allow_preflight(response.headers_mut(), rule, "*");
            }
            response
        }
        (Policy::AnyOrigin, _, _) => call(&*endpoint, request).await,
        (Policy::ClientOrigins(_), Some(origin), Some(method)) => {
            preflight(&ctx, rule, &origin, &method).await
        }
        (Policy::ClientOrigins(identify), Some(origin), None) => {
            actual(&*endpoint, request, &ctx, identify, &origin).await
        }
        (Policy::ClientOrigins(_), None, _) => call(&*endpoint, request).await,
    };
    // Preflights never reach the router: label their metrics with the endpoint's route too.
    if response.data::<PathPattern>().is_none() {
        response.set_data(PathPattern(rule.path.into()));
    }
    let headers = response.headers_mut();
    match rule.policy {
        Policy::AnyOrigin => {
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        Policy::ClientOrigins(_) => {
            headers.append(VARY, HeaderValue::from_static("Origin"));
        }
    }
    Ok(response)
}

/// A preflight to a client endpoint: allowed when the method is one of the endpoint's and some
/// client lists `origin`.
async fn preflight(ctx: &Context, rule: &Rule, origin: &str, method: &str) -> Response {
    let mut response = no_content();
    if !rule.methods.contains(&method) {
        return response;
    }
    match cors::is_registered_origin(ctx, origin).await {
        Ok(true) => {
            if let Ok(origin) = HeaderValue::from_str(origin) {
                allow_preflight(response.headers_mut(), rule, ALLOWED_HEADERS);
                response
                    .headers_mut()
                    .insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
            response
        }
        Ok(false) => response,
        Err(err) => render_error(&err),
    }
}

/// The preflight headers of `rule`, allowing `headers_allowed`.
fn allow_preflight(headers: &mut HeaderMap, rule: &Rule, headers_allowed: &'static str) {
    if let Ok(methods) = HeaderValue::from_str(&rule.methods.join(", ")) {
        headers.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
    }
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(headers_allowed),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
}

/// An actual request from `origin` to a client endpoint: served as usual, then readable by
/// `origin` when the client it speaks for lists it.
async fn actual<E: Endpoint>(
    endpoint: &E,
    mut request: Request,
    ctx: &Context,
    identify: Identify,
    origin: &str,
) -> Response {
    if identify == Identify::Registration {
        return registration(endpoint, request, ctx, origin).await;
    }
    let authorization = header_str(request.headers(), &AUTHORIZATION);
    let from_header = match identify {
        Identify::ClientCredentials | Identify::Registration => authorization
            .and_then(|value| super::client_auth::parse_basic(value).ok())
            .map(|basic| basic.client_id),
        Identify::AccessToken => authorization
            .and_then(|value| super::bearer::parse(value).ok().flatten())
            .map(|presented| presented.token),
    };
    // Otherwise the body names it: read it (already bounded by `limit_body`) and put it back.
    let caller = match from_header {
        Some(caller) => Some(caller),
        None if request.method() == Method::POST => {
            let body = match request.take_body().into_bytes().await {
                Ok(body) => body,
                Err(err) => {
                    let err =
                        OAuthError::invalid_request(format!("unreadable request body: {err}"));
                    return render(StatusCode::BAD_REQUEST, &err);
                }
            };
            let field = match identify {
                Identify::AccessToken => "access_token",
                Identify::ClientCredentials | Identify::Registration => "client_id",
            };
            let caller = form_field(&body, field);
            request.set_body(body);
            caller
        }
        None => None,
    };
    let mut response = call(endpoint, request).await;
    if identify == Identify::ClientCredentials && response.status() == StatusCode::UNAUTHORIZED {
        return response;
    }
    let Some(caller) = caller else {
        return response;
    };
    let caller = match identify {
        Identify::AccessToken => Caller::AccessToken(&caller),
        Identify::ClientCredentials | Identify::Registration => Caller::Client(&caller),
    };
    if cors::may_read(ctx, origin, caller).await {
        allow_reading(&mut response, origin);
    }
    response
}

/// A registration request from `origin` (`Identify::Registration`).
async fn registration<E: Endpoint>(
    endpoint: &E,
    request: Request,
    ctx: &Context,
    origin: &str,
) -> Response {
    let named = request
        .uri()
        .path()
        .strip_prefix(REGISTRATION_CLIENT)
        .map(str::to_owned);
    let Some(client_id) = named else {
        // `POST /register`: the client is the one the answer registered.
        let mut response = call(endpoint, request).await;
        if response.status() != StatusCode::CREATED {
            return response;
        }
        let body = match response.take_body().into_bytes().await {
            Ok(body) => body,
            Err(_) => return response,
        };
        let registered = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|answer| answer.get("client_id")?.as_str().map(str::to_owned));
        response.set_body(body);
        if let Some(client_id) = registered {
            if cors::may_read(ctx, origin, Caller::Client(&client_id)).await {
                allow_reading(&mut response, origin);
            }
        }
        return response;
    };
    // Decided before the request is served: a deletion must still be readable by its origin.
    let may_read = cors::may_read(ctx, origin, Caller::Client(&client_id)).await;
    let mut response = call(endpoint, request).await;
    if may_read && response.status() != StatusCode::UNAUTHORIZED {
        allow_reading(&mut response, origin);
    }
    response
}

/// Lets `origin` read `response` and the headers ferrid's answers carry for apps.
fn allow_reading(response: &mut Response, origin: &str) {
    if let Ok(origin) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
}

/// The value of form field `name` in `body`, when it is there exactly once (a repeated field
/// is refused by the endpoint anyway).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(body)
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned());
    let first = values.next().filter(|value| !value.is_empty())?;
    values.next().is_none().then_some(first)
}

async fn call<E: Endpoint>(endpoint: &E, request: Request) -> Response {
    match endpoint.call(request).await {
        Ok(response) => response.into_response(),
        Err(err) => err.into_response(),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &poem::http::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn no_content() -> Response {
    Response::builder().status(StatusCode::NO_CONTENT).finish()
}

/// A preflight the store could not answer: 503 `temporarily_unavailable` with `Retry-After`,
/// as every endpoint answers a store outage.
fn render_error(err: &OAuthError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = render(status, err);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_read_once_and_decoded() {
        assert_eq!(
            form_field(b"grant_type=x&client_id=my%20app", "client_id").as_deref(),
            Some("my app")
        );
        assert_eq!(form_field(b"client_id=a&client_id=b", "client_id"), None);
        assert_eq!(form_field(b"client_id=", "client_id"), None);
        assert_eq!(form_field(b"grant_type=x", "client_id"), None);
    }

    #[test]
    fn every_rule_names_a_distinct_path() {
        for rule in POLICIES {
            let same = POLICIES.iter().filter(|other| other.path == rule.path);
            assert_eq!(same.count(), 1, "{}", rule.path);
        }
        assert!(rule_for(paths::INTROSPECT).is_none());
        assert!(rule_for(paths::AUTHORIZE).is_none());
        assert_eq!(
            rule_for("/register/abc").map(|rule| rule.path),
            Some("/register/")
        );
        assert!(rule_for("/register/").is_none());
        assert!(rule_for("/register/abc/def").is_none());
    }
}
