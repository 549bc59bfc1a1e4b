//! The authorization code flow as third-party apps and people drive it: the `oauth2` crate as the
//! client app, a small cookie-keeping form driver as the browser, `jsonwebtoken` and the served
//! JWKS as the resource server — on both stores.

mod common;

use std::collections::HashMap;

use common::browser::{callback, consent, log_in, Browser, CALLBACK};
use common::{http, service_client, Backend, Reply, TestServer};
use ferrid::config::{ClientConfig, UserConfig};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::reqwest::header::SET_COOKIE;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OidcClient = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

fn web_app(id: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        name: Some(format!("{id} app")),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into()],
        scopes: ["openid", "profile", "email", "roles", "files:read"]
            .map(String::from)
            .to_vec(),
        default_scopes: Some(vec!["openid".into()]),
        redirect_uris: vec![CALLBACK.into()],
        ..ClientConfig::default()
    }
}

fn spa(id: &str) -> ClientConfig {
    ClientConfig {
        public: true,
        secret: None,
        ..web_app(id)
    }
}

fn alice() -> UserConfig {
    UserConfig {
        username: "alice".into(),
        password: Some("wonderland".to_owned().into()),
        name: Some("Alice Liddell".into()),
        email: Some("alice@example.com".into()),
        roles: vec!["admin".into()],
        ..UserConfig::default()
    }
}

async fn server(backend: Backend) -> TestServer {
    let mut first_party = web_app("portal");
    first_party.skip_consent = true;
    let clients = vec![
        web_app("webapp"),
        spa("spa"),
        first_party,
        service_client("svc", &["x"]),
    ];
    TestServer::start_with(common::Options::new(backend).clients(clients), |settings| {
        settings.users = vec![alice()]
    })
    .await
}

fn oauth_client(server: &TestServer, id: &str, secret: Option<&str>) -> OidcClient {
    type Unset = oauth2::Client<
        BasicErrorResponse,
        Tokens,
        BasicTokenIntrospectionResponse,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
    >;
    let client = Unset::new(ClientId::new(id.into()))
        .set_auth_uri(AuthUrl::new(server.at("/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(server.at("/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    match secret {
        Some(secret) => client
            .set_client_secret(ClientSecret::new(secret.into()))
            .set_auth_type(AuthType::BasicAuth),
        None => client.set_auth_type(AuthType::RequestBody),
    }
}

struct Start {
    url: String,
    state: String,
    verifier: PkceCodeVerifier,
}

fn start(client: &OidcClient, scopes: &[&str], nonce: &str, extra: &[(&str, &str)]) -> Start {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.to_string()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(*name, *value);
    }
    let (url, state) = request.url();
    Start {
        url: url.to_string(),
        state: state.secret().clone(),
        verifier,
    }
}

/// Runs login + consent for `client` and returns the callback parameters.
async fn authorize(
    server: &TestServer,
    browser: &Browser,
    client: &OidcClient,
    scopes: &[&str],
) -> (Start, HashMap<String, String>) {
    let start = start(client, scopes, "n-0S6_WzA2Mj", &[]);
    let page = browser.get(&start.url).await;
    let page = log_in(server, browser, page, "wonderland").await;
    let page = consent(server, browser, page, "allow").await;
    let params = callback(&page);
    (start, params)
}

async fn jwks_key(server: &TestServer, token: &str) -> DecodingKey {
    let jwks: Value = Reply::from(
        http()
            .get(server.at("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .json;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

async fn verify_id_token(server: &TestServer, id_token: &str, client_id: &str) -> Value {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[client_id]);
    jsonwebtoken::decode::<Value>(id_token, &jwks_key(server, id_token).await, &validation)
        .unwrap()
        .claims
}

async fn userinfo(server: &TestServer, token: &str) -> Reply {
    Reply::from(
        http()
            .get(server.at("/userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn exchange(
    client: &OidcClient,
    code: &str,
    verifier: PkceCodeVerifier,
) -> Result<Tokens, String> {
    client
        .exchange_code(AuthorizationCode::new(code.into()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .map_err(|err| match err {
            RequestTokenError::ServerResponse(response) => response.error().to_string(),
            other => format!("{other:?}"),
        })
}

async fn confidential_client_full_flow(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (start, params) = authorize(
        &server,
        &browser,
        &client,
        &["openid", "profile", "email", "roles"],
    )
    .await;
    assert_eq!(params["state"], start.state);
    assert_eq!(params["iss"], server.url);

    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    assert_eq!(tokens.scopes().unwrap().len(), 4);
    let access = tokens.access_token().secret();
    let id_token = tokens
        .extra_fields()
        .id_token
        .clone()
        .expect("an ID token for openid");
    let claims = verify_id_token(&server, &id_token, "webapp").await;
    let user = ferrid::users::find(server.app.store(), "alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claims["sub"], user.id.as_str());
    assert_ne!(
        claims["sub"], "alice",
        "sub is the stable id, not the username"
    );
    assert_eq!(claims["azp"], "webapp");
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        claims["at_hash"],
        ferrid::oidc::id_token::at_hash(access).as_str()
    );
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims["auth_time"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap());
    assert!(claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()));

    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&server.url]);
    validation.set_audience(&[&server.url]);
    let access_claims =
        jsonwebtoken::decode::<Value>(access, &jwks_key(&server, access).await, &validation)
            .unwrap()
            .claims;
    assert_eq!(
        jsonwebtoken::decode_header(access).unwrap().typ.as_deref(),
        Some("at+jwt")
    );
    assert_eq!(access_claims["sub"], user.id.as_str());
    assert_eq!(access_claims["client_id"], "webapp");
    assert_eq!(access_claims["roles"], serde_json::json!(["admin"]));

    let info = userinfo(&server, access).await;
    assert_eq!(info.status, 200, "{}", info.json);
    assert_eq!(info.json["sub"], user.id.as_str());
    assert_eq!(info.json["preferred_username"], "alice");
    assert_eq!(info.json["name"], "Alice Liddell");
    assert_eq!(info.json["email"], "alice@example.com");
    assert_eq!(info.json["roles"], serde_json::json!(["admin"]));
    let posted = Reply::from(
        http()
            .post(server.at("/userinfo"))
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(posted.json, info.json);
}

async fn public_client_full_flow_with_pkce(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "spa", None);
    let (start, params) = authorize(&server, &browser, &client, &["openid", "email"]).await;
    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    let claims = verify_id_token(
        &server,
        tokens.extra_fields().id_token.as_ref().unwrap(),
        "spa",
    )
    .await;
    assert_eq!(claims["aud"], "spa");
    let info = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(info.json["email"], "alice@example.com");
    assert!(info.json.get("name").is_none(), "profile was not granted");
}

async fn a_logged_in_person_is_not_asked_again(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    authorize(
        &server,
        &browser,
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
    )
    .await;

    // SSO: another client (first-party, no consent) gets a code without a login page.
    let portal = oauth_client(&server, "portal", Some("portal-secret"));
    let start_portal = start(&portal, &["openid"], "n2", &[]);
    let params = callback(&browser.get(&start_portal.url).await);
    assert_eq!(params["state"], start_portal.state);
    exchange(&portal, &params["code"], start_portal.verifier)
        .await
        .unwrap();

    // Remembered consent: the same client and scopes go straight back with a code.
    let webapp = oauth_client(&server, "webapp", Some("webapp-secret"));
    let again = start(&webapp, &["openid"], "n3", &[]);
    assert!(callback(&browser.get(&again.url).await).contains_key("code"));

    // A new scope needs consent; prompt=login needs a login despite the session.
    let wider = browser
        .get(&start(&webapp, &["openid", "email"], "n4", &[]).url)
        .await;
    assert!(wider.location.unwrap().starts_with("/consent?"));
    let forced = browser
        .get(&start(&webapp, &["openid"], "n5", &[("prompt", "login")]).url)
        .await;
    assert!(forced.location.clone().unwrap().starts_with("/login?"));
    let params = callback(&log_in(&server, &browser, forced, "wonderland").await);
    assert!(params.contains_key("code"));
}

async fn prompt_none_without_a_session_is_login_required(backend: Backend) {
    let server = server(backend).await;
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let start = start(&client, &["openid"], "n", &[("prompt", "none")]);
    let params = callback(&Browser::new().get(&start.url).await);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], start.state);
    assert_eq!(params["iss"], server.url);
}

async fn prompt_none_without_consent_is_consent_required(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    authorize(
        &server,
        &browser,
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
    )
    .await;
    let spa = oauth_client(&server, "spa", None);
    let params = callback(
        &browser
            .get(&start(&spa, &["openid"], "n", &[("prompt", "none")]).url)
            .await,
    );
    assert_eq!(params["error"], "consent_required");
}

async fn denying_consent_is_access_denied(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let start = start(&client, &["openid"], "n", &[]);
    let page = log_in(
        &server,
        &browser,
        browser.get(&start.url).await,
        "wonderland",
    )
    .await;
    let params = callback(&consent(&server, &browser, page, "deny").await);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], start.state);
}

async fn a_replayed_code_fails_and_revokes_its_tokens(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (start, params) = authorize(&server, &browser, &client, &["openid", "profile"]).await;
    let verifier = start.verifier.secret().clone();
    let tokens = exchange(&client, &params["code"], start.verifier)
        .await
        .unwrap();
    assert_eq!(
        userinfo(&server, tokens.access_token().secret())
            .await
            .status,
        200
    );

    let replay = exchange(&client, &params["code"], PkceCodeVerifier::new(verifier))
        .await
        .unwrap_err();
    assert_eq!(replay, "invalid_grant");
    let revoked = userinfo(&server, tokens.access_token().secret()).await;
    assert_eq!(revoked.status, 401);
    assert!(revoked
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
}

async fn pkce_is_enforced(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let (_, params) = authorize(&server, &browser, &client, &["openid"]).await;
    let wrong = PkceCodeVerifier::new("a".repeat(43));
    assert_eq!(
        exchange(&client, &params["code"], wrong).await.unwrap_err(),
        "invalid_grant"
    );

    // plain is refused at /authorize, and public clients must send a challenge.
    let spa = oauth_client(&server, "spa", None);
    let plain = start(&spa, &["openid"], "n", &[])
        .url
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    let params = callback(&browser.get(&plain).await);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("plain"));
    let url = format!(
        "{}?response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=s1",
        server.at("/authorize"),
        CALLBACK
    );
    let params = callback(&browser.get(&url).await);
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].contains("PKCE"));
    assert_eq!(params["state"], "s1");
}

async fn untrusted_clients_and_redirects_get_an_error_page_never_a_redirect(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    for query in [
        "response_type=code&client_id=webapp&redirect_uri=https://evil.example.com/cb&scope=openid&state=s".to_string(),
        format!("response_type=code&client_id=webapp&redirect_uri={CALLBACK}/extra&scope=openid"),
        format!("response_type=code&client_id=nobody&redirect_uri={CALLBACK}&scope=openid"),
        format!("response_type=code&redirect_uri={CALLBACK}"),
        "response_type=code&client_id=webapp&scope=openid".to_string(),
    ] {
        let page = browser.get(&format!("{}?{query}", server.at("/authorize"))).await;
        assert_eq!(page.status, 400, "{query}");
        assert!(page.location.is_none(), "{query} must not redirect");
        assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(page.body.contains("Cannot continue"));
    }
    let other = browser
        .get(&format!(
            "{}?response_type=token&client_id=webapp&redirect_uri={CALLBACK}&state=z",
            server.at("/authorize")
        ))
        .await;
    let params = callback(&other);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "z");
}

async fn forms_without_their_csrf_token_are_refused(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let start = start(
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
        "n",
        &[],
    );
    let page = browser.get(&start.url).await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let interaction = form.hidden("interaction").unwrap();
    let login = [
        ("interaction", interaction.as_str()),
        ("username", "alice"),
        ("password", "wonderland"),
    ];
    let refused = browser.post(&server.at("/login"), &login).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("could not be verified"));
    assert!(
        !browser.cookie_header().contains("ferrid-session"),
        "no session without a valid CSRF token"
    );
    // A valid token from another browser (no binding cookie) is refused too.
    let csrf = form.hidden("csrf_token").unwrap();
    let stranger = Browser::new();
    let mut with_token = login.to_vec();
    with_token.push(("csrf_token", &csrf));
    assert_eq!(
        stranger
            .post(&server.at("/login"), &with_token)
            .await
            .status,
        400
    );
}

async fn wrong_passwords_and_unknown_users_look_the_same(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let start = start(
        &oauth_client(&server, "webapp", Some("webapp-secret")),
        &["openid"],
        "n",
        &[],
    );
    let page = browser.get(&start.url).await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let (interaction, csrf) = (
        form.hidden("interaction").unwrap(),
        form.hidden("csrf_token").unwrap(),
    );
    let attempt = async |username: &str, password: &str| {
        let fields = [
            ("interaction", interaction.as_str()),
            ("csrf_token", csrf.as_str()),
            ("username", username),
            ("password", password),
        ];
        browser.post(&server.at("/login"), &fields).await
    };
    let wrong_password = attempt("alice", "nope").await;
    let unknown_user = attempt("mallory", "nope").await;
    assert_eq!(wrong_password.status, 200);
    assert_eq!(unknown_user.status, wrong_password.status);
    assert!(wrong_password.body.contains("Wrong username or password."));
    assert_eq!(
        unknown_user.body.replace("mallory", "alice"),
        wrong_password.body
    );
    // The request is still alive: the right password continues the flow with the same state.
    let page = attempt("alice", "wonderland").await;
    let params = callback(&consent(&server, &browser, page, "allow").await);
    assert_eq!(params["state"], start.state);
}

async fn pages_carry_security_headers_and_cookies_are_locked_down(backend: Backend) {
    let server = server(backend).await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let page = browser
        .get(&start(&client, &["openid"], "n", &[]).url)
        .await;
    let set_bind = page
        .headers
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_bind.contains("HttpOnly") && set_bind.contains("SameSite=Lax"),
        "{set_bind}"
    );
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    assert_eq!(form.headers["x-frame-options"], "DENY");
    assert!(form.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(form.headers["referrer-policy"], "no-referrer");
    assert_eq!(form.headers["cache-control"], "no-store");
    assert!(
        form.body.contains("webapp app"),
        "the client's name is shown"
    );
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    let logged_in = browser
        .post(
            &server.at("/login"),
            &[
                ("interaction", &interaction),
                ("csrf_token", &csrf),
                ("username", "alice"),
                ("password", "wonderland"),
            ],
        )
        .await;
    let session_cookie = logged_in.headers.get(SET_COOKIE).unwrap().to_str().unwrap();
    assert!(
        session_cookie.starts_with("ferrid-session="),
        "{session_cookie}"
    );
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));
}

async fn userinfo_rejects_bad_tokens(backend: Backend) {
    let server = server(backend).await;
    let none = Reply::from(http().get(server.at("/userinfo")).send().await.unwrap()).await;
    assert_eq!(none.status, 401);
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    for token in ["garbage", "a.b.c"] {
        assert_eq!(userinfo(&server, token).await.status, 401);
    }
    let basic = Reply::from(
        http()
            .get(server.at("/userinfo"))
            .basic_auth("a", Some("b"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(basic.status, 401);
    // A client-credentials token has no openid scope.
    let reply = common::post_token(
        &server,
        Some(("svc", "svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let forbidden = userinfo(&server, reply.json["access_token"].as_str().unwrap()).await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.json["error"], "insufficient_scope");
    assert!(forbidden
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
}

for_each_backend!(
    confidential_client_full_flow,
    public_client_full_flow_with_pkce,
    a_logged_in_person_is_not_asked_again,
    prompt_none_without_a_session_is_login_required,
    prompt_none_without_consent_is_consent_required,
    denying_consent_is_access_denied,
    a_replayed_code_fails_and_revokes_its_tokens,
    pkce_is_enforced,
    untrusted_clients_and_redirects_get_an_error_page_never_a_redirect,
    forms_without_their_csrf_token_are_refused,
    wrong_passwords_and_unknown_users_look_the_same,
    pages_carry_security_headers_and_cookies_are_locked_down,
    userinfo_rejects_bad_tokens,
);

#[tokio::test]
async fn repeated_login_attempts_are_throttled() {
    let options = common::Options::new(Backend::Memory).clients(vec![web_app("webapp")]);
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.sessions.login_attempts_per_minute = 2;
    })
    .await;
    let browser = Browser::new();
    let client = oauth_client(&server, "webapp", Some("webapp-secret"));
    let page = browser
        .get(&start(&client, &["openid"], "n", &[]).url)
        .await;
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    let (interaction, csrf) = (
        form.hidden("interaction").unwrap(),
        form.hidden("csrf_token").unwrap(),
    );
    let attempt = async |password: &str| {
        let fields = [
            ("interaction", interaction.as_str()),
            ("csrf_token", csrf.as_str()),
            ("username", "alice"),
            ("password", password),
        ];
        browser.post(&server.at("/login"), &fields).await
    };
    assert_eq!(attempt("guess-1").await.status, 200);
    assert_eq!(attempt("guess-2").await.status, 200);
    let throttled = attempt("wonderland").await;
    assert_eq!(
        throttled.status, 429,
        "the third attempt within a minute is refused unchecked"
    );
    assert!(throttled.body.contains("Too many sign-in attempts"));
    assert!(!browser.cookie_header().contains("ferrid-session"));
}
