//! ferrid's HTTP surface, the only place that knows poem. One `#[OpenApi]` struct per area,
//! combined by `api_service` — used by both the server and `ferrid openapi`, so the served and
//! the checked-in spec cannot differ — and `route`, which adds Swagger UI, the spec endpoints
//! and the middleware. Handlers are thin: extract, call one domain function, map the result.

pub mod admin;
pub mod allow;
pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod cookies;
pub mod cors;
pub mod docs;
pub mod dpop;
pub mod errors;
pub mod form;
pub mod form_post;
pub mod health;
pub mod introspection;
pub mod json_bytes;
pub mod logout;
pub mod metrics;
pub mod middleware;
pub mod page_response;
pub mod pages;
pub mod par;
pub mod registration;
pub mod registration_body;
pub mod revocation;
pub mod server;
pub mod token;
pub mod token_operation;
pub mod userinfo;
pub mod well_known;

use std::sync::Arc;

use poem::http::{header, Method};
use poem::middleware::SetHeader;
use poem::{get, Endpoint, EndpointExt, Route};
use poem_openapi::{OpenApi, OpenApiService, Tags};

use crate::config::Settings;
use crate::context::Context;

/// Endpoint paths, relative to the issuer.
pub mod paths {
    pub const AUTHORIZE: &str = "/authorize";
    pub const TOKEN: &str = "/token";
    pub const PAR: &str = "/par";
    pub const USERINFO: &str = "/userinfo";
    pub const REVOKE: &str = "/revoke";
    pub const INTROSPECT: &str = "/introspect";
    pub const LOGOUT: &str = "/logout";
    pub const REGISTER: &str = "/register";
    pub const JWKS: &str = "/.well-known/jwks.json";
    pub const DOCS: &str = "/docs";
    pub const OPENAPI_JSON: &str = "/openapi.json";
}

/// Groups of operations in the OpenAPI document.
#[derive(Tags)]
pub enum ApiTags {
    /// OAuth 2.0 endpoints for client applications.
    #[oai(rename = "OAuth")]
    OAuth,
    /// OpenID Connect: logging people in and the claims about them.
    #[oai(rename = "OpenID Connect")]
    OpenIdConnect,
    /// Discovery metadata and the public signing keys, for clients and resource servers.
    Discovery,
    /// Health checks for load balancers and orchestrators.
    Operations,
    /// Dynamic client registration (RFC 7591) and its management (RFC 7592).
    Registration,
    /// Managing clients, users and signing keys; needs an access token with the `admin` scope.
    Admin,
}

/// The combined API, as documented.
pub type Api = (
    token::TokenApi,
    revocation::RevocationApi,
    introspection::IntrospectionApi,
    par::ParApi,
    authorize::AuthorizeApi,
    userinfo::UserinfoApi,
    logout::LogoutApi,
    well_known::WellKnownApi,
    health::HealthApi,
    registration::RegistrationApi,
    admin::clients::AdminClientsApi,
    admin::users::AdminUsersApi,
    admin::keys::AdminKeysApi,
    admin::registration_tokens::AdminRegistrationTokensApi,
);

/// The OpenAPI service for `settings`; its server URL is the configured issuer.
pub fn api_service(settings: &Settings) -> OpenApiService<Api, ()> {
    let api = (
        token::TokenApi,
        revocation::RevocationApi,
        introspection::IntrospectionApi,
        par::ParApi,
        authorize::AuthorizeApi,
        userinfo::UserinfoApi,
        logout::LogoutApi,
        well_known::WellKnownApi::new(settings),
        health::HealthApi,
        registration::RegistrationApi,
        admin::clients::AdminClientsApi,
        admin::users::AdminUsersApi,
        admin::keys::AdminKeysApi,
        admin::registration_tokens::AdminRegistrationTokensApi,
    );
    OpenApiService::new(api, "ferrid", env!("CARGO_PKG_VERSION"))
        .description(
            "ferrid is an OAuth 2.0 / OpenID Connect authorization server. Tokens are RS256 JWTs \
             (RFC 9068) that resource servers verify with the JWKS; errors follow RFC 6749 §5.2.",
        )
        .server(settings.issuer())
}

/// The spec as JSON, exactly as served at `/openapi.json`.
pub fn openapi_json(settings: &Settings) -> String {
    api_service(settings).spec()
}

/// `Strict-Transport-Security` of every response when ferrid is reached over https.
pub const HSTS: &str = "max-age=31536000";

/// The whole HTTP application for `ctx`.
pub fn route(ctx: Arc<Context>) -> impl Endpoint {
    let api = api_service(ctx.settings());
    let spec = api.spec_endpoint();
    let docs = docs::endpoint(&api.swagger_ui_html(), ctx.settings().issuer());
    let max_body = ctx.settings().http.max_body_bytes;
    // RFC 6797: browsers that reached ferrid over https keep to https for a year, so a later
    // http:// link cannot be used to strip TLS. Also behind a TLS-terminating proxy (an https
    // issuer); browsers ignore the header on plain http.
    let settings = ctx.settings();
    let hsts = settings.tls.enabled() || settings.issuer().starts_with("https://");
    let page_methods = [Method::GET, Method::POST];
    let mut allowed = allow::AllowedMethods::from_api(Api::meta())
        .with("/login", &page_methods)
        .with("/consent", &page_methods);
    let mut routes = Route::new();
    let metrics = &ctx.settings().metrics;
    if metrics.on_main_listener() {
        allowed = allowed.with(metrics::PATH, &[Method::GET]);
        routes = routes.at(metrics::PATH, get(metrics::scrape));
    }
    let allowed = Arc::new(allowed);
    let measure = metrics.enabled;
    let cors_ctx = ctx.clone();
    routes
        .nest(paths::DOCS, docs)
        .at(paths::OPENAPI_JSON, spec)
        .at("/login", get(pages::login_page).post(pages::login_submit))
        .at(
            "/consent",
            get(pages::consent_page).post(pages::consent_submit),
        )
        .nest("/", api)
        .around(move |endpoint, request| cors::apply(endpoint, request, cors_ctx.clone()))
        .around(move |endpoint, request| allow::allow_header(endpoint, request, allowed.clone()))
        .around(move |endpoint, request| middleware::limit_body(endpoint, request, max_body))
        .around(move |endpoint, request| middleware::observe(endpoint, request, measure))
        .around(middleware::html_security_headers)
        .with(SetHeader::new().overriding("X-Content-Type-Options", "nosniff"))
        .with_if(
            hsts,
            SetHeader::new().overriding(header::STRICT_TRANSPORT_SECURITY, HSTS),
        )
        .data(ctx)
}
