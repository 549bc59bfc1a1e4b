//! Dynamic client registration (RFC 7591) from outside: a third-party app registers with the
//! `openidconnect` crate's registration client, found through discovery, then logs a person in
//! with the client it got; each `registration.mode` refuses whom it must (closed: everyone;
//! initial_access_token: no token, a wrong, expired or used-up one, and every registration past
//! a token's uses however they race; open: client_credentials, and more registrations from one
//! address in an hour than `registration.open_registrations_per_hour`); privileges only the operator
//! grants and bad metadata are refused with the field named.

use std::time::Duration;

use ferrid::clock::ManualClock;
use ferrid::config::RegistrationMode;
use openidconnect::core::{
    CoreClient, CoreClientRegistrationRequest, CoreProviderMetadata, CoreResponseType,
};
use openidconnect::registration::EmptyAdditionalClientMetadata;
use openidconnect::{
    AccessToken, AuthenticationFlow, AuthorizationCode, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{json, Value};

use crate::common::admin::{Admin, OPS};
use crate::common::browser::{callback, consent, log_in, Browser, CALLBACK};
use crate::common::client_keys::{jwks, ClientKey};
use crate::common::grants::{alice, now_clock};
use crate::common::{http, service_client, Backend, Options, Reply, TestServer};

/// A server with the `ops` admin client, the user `alice`, and registration in `mode`.
pub async fn start(
    backend: Backend,
    mode: RegistrationMode,
    clock: Option<ManualClock>,
) -> TestServer {
    let options = Options {
        clock,
        ..Options::new(backend).clients(vec![service_client(OPS, &["admin"])])
    };
    TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.registration.mode = mode;
    })
    .await
}

/// POSTs `body` to `/register`, with `token` as bearer token.
pub async fn register(server: &TestServer, token: Option<&str>, body: &Value) -> Reply {
    let mut request = http()
        .post(server.at("/register"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Reply::from(request.send().await.unwrap()).await
}

/// A confidential web app with refresh tokens.
pub fn web_app() -> Value {
    json!({
        "client_name": "Photos",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access",
    })
}

/// Asserts a registration error: status, code, a description, no caching.
pub fn assert_refused(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["error"], error, "{}", reply.json);
    let description = reply.json["error_description"].as_str().unwrap_or_default();
    assert!(!description.is_empty(), "{}", reply.json);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// An initial access token minted through the admin API.
async fn mint(server: &TestServer, expires_in: u64, uses: Option<u32>) -> String {
    let admin = Admin::new(server).await;
    let reply = admin
        .post(
            "/admin/registration-tokens",
            json!({ "expires_in": expires_in, "uses": uses }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.json["initial_access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn oidc_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn a_third_party_app_registers_and_logs_a_person_in(backend: Backend) {
    let server = start(backend, RegistrationMode::InitialAccessToken, None).await;
    let initial = mint(&server, 3600, Some(1)).await;

    // The app knows only the issuer and the token the operator gave its developer.
    let issuer = IssuerUrl::new(server.url.clone()).unwrap();
    let provider = CoreProviderMetadata::discover_async(issuer, &oidc_http())
        .await
        .unwrap();
    let endpoint = provider.registration_endpoint().unwrap().clone();
    assert_eq!(endpoint.as_str(), server.at("/register"));
    let registered = CoreClientRegistrationRequest::new(
        vec![RedirectUrl::new(CALLBACK.into()).unwrap()],
        EmptyAdditionalClientMetadata::default(),
    )
    .set_initial_access_token(Some(AccessToken::new(initial.clone())))
    .register_async(&endpoint, &oidc_http())
    .await
    .expect("registration accepted");
    let client_id = registered.client_id().clone();
    let secret = registered
        .client_secret()
        .cloned()
        .expect("a client secret");
    assert!(registered.registration_access_token().is_some());
    assert_eq!(
        registered.registration_client_uri().unwrap().as_str(),
        server.at(&format!("/register/{}", client_id.as_str()))
    );

    // The token was good for one registration.
    let again = register(&server, Some(&initial), &web_app()).await;
    assert_refused(&again, 401, "invalid_token");

    let client = CoreClient::from_provider_metadata(provider, client_id, Some(secret))
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let page = log_in(
        &server,
        &browser,
        browser.get(url.as_str()).await,
        "wonderland",
    )
    .await;
    // A registered client never skips consent.
    let params = callback(&consent(&server, &browser, page, "allow").await);
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&oidc_http())
        .await
        .expect("the registered client gets tokens");
    let id_token = tokens.id_token().expect("an ID token");
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token validates for the registered client");
}

async fn closed_registration_refuses_everyone(backend: Backend) {
    let server = start(backend, RegistrationMode::Closed, None).await;
    let reply = register(&server, None, &web_app()).await;
    assert_refused(&reply, 403, "access_denied");
    // Not even with a token minted by the operator.
    let token = mint(&server, 60, None).await;
    let reply = register(&server, Some(&token), &web_app()).await;
    assert_refused(&reply, 403, "access_denied");
    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(discovery.json.get("registration_endpoint").is_none());
}

async fn initial_access_tokens_are_required_and_used_up(backend: Backend) {
    let clock = now_clock();
    let server = start(
        backend,
        RegistrationMode::InitialAccessToken,
        Some(clock.clone()),
    )
    .await;

    let missing = register(&server, None, &web_app()).await;
    assert_refused(&missing, 401, "invalid_token");
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"ferrid\"")
    );

    for header in ["Bearer made-up-token", "Basic b3BzOm9wcy1zZWNyZXQ="] {
        let reply = Reply::from(
            http()
                .post(server.at("/register"))
                .header("authorization", header)
                .header("content-type", "application/json")
                .body(web_app().to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused(&reply, 401, "invalid_token");
        assert!(reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    }

    // An admin access token is not an initial access token.
    let admin_token = Admin::new(&server).await.token.unwrap();
    let reply = register(&server, Some(&admin_token), &web_app()).await;
    assert_refused(&reply, 401, "invalid_token");

    let expiring = mint(&server, 60, None).await;
    assert_eq!(
        register(&server, Some(&expiring), &web_app()).await.status,
        201
    );
    clock.advance(Duration::from_secs(60));
    let expired = register(&server, Some(&expiring), &web_app()).await;
    assert_refused(&expired, 401, "invalid_token");

    let twice = mint(&server, 3600, Some(2)).await;
    // Refused metadata does not use the token up.
    let bad = register(
        &server,
        Some(&twice),
        &json!({ "redirect_uris": ["http://x.example/cb"] }),
    )
    .await;
    assert_refused(&bad, 400, "invalid_redirect_uri");
    // Six registrations race for two uses: exactly two get through, on either store.
    let app = web_app();
    let races = (0..6).map(|_| register(&server, Some(&twice), &app));
    let replies = futures_util::future::join_all(races).await;
    let accepted = replies.iter().filter(|reply| reply.status == 201).count();
    assert_eq!(accepted, 2);
    for reply in replies.iter().filter(|reply| reply.status != 201) {
        assert_refused(reply, 401, "invalid_token");
    }
}

async fn open_registration_takes_anyone_but_not_for_machine_tokens(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let reply = register(&server, None, &json!({ "redirect_uris": [CALLBACK] })).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    let body = &reply.json;
    // RFC 7591 §2 defaults, and what the response must carry (§3.2.1).
    assert_eq!(body["grant_types"], json!(["authorization_code"]));
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["scope"], "openid profile email");
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].as_u64().unwrap() > 0);
    assert!(body["client_secret"].as_str().unwrap().len() >= 43);
    assert!(body["registration_access_token"].as_str().unwrap().len() >= 43);
    let client_id = body["client_id"].as_str().unwrap();
    assert_eq!(
        body["registration_client_uri"],
        server.at(&format!("/register/{client_id}"))
    );
    assert!(body.get("skip_consent").is_none());
    assert_eq!(reply.header("cache-control"), Some("no-store"));

    // A public client gets no secret.
    let spa = json!({ "redirect_uris": [CALLBACK], "token_endpoint_auth_method": "none" });
    let reply = register(&server, None, &spa).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert!(reply.json.get("client_secret").is_none());
    assert!(reply.json.get("client_secret_expires_at").is_none());

    let machine = json!({ "grant_types": ["client_credentials"], "scope": "openid" });
    let reply = register(&server, None, &machine).await;
    assert_refused(&reply, 400, "invalid_client_metadata");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .starts_with("grant_types:"));

    // private_key_jwt: keys inline are taken (and no secret is issued); a jwks_uri, which
    // ferrid would fetch from wherever anyone pointed it, is not.
    let key = ClientKey::es256(Some("k1"));
    let inline = json!({
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": jwks(&[&key]),
    });
    let reply = register(&server, None, &inline).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(reply.json["token_endpoint_auth_method"], "private_key_jwt");
    assert!(reply.json.get("client_secret").is_none());
    let fetched = json!({
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://10.0.0.1/jwks.json",
    });
    let reply = register(&server, None, &fetched).await;
    assert_refused(&reply, 400, "invalid_client_metadata");
    assert!(reply.json["error_description"]
        .as_str()
        .unwrap()
        .starts_with("jwks_uri:"));
}

async fn open_registration_is_bounded_per_address(backend: Backend) {
    let options = Options::new(backend);
    let server = TestServer::start_with(options, |settings| {
        settings.registration.mode = RegistrationMode::Open;
        settings.registration.open_registrations_per_hour = 2;
    })
    .await;
    // Refused metadata is not counted.
    let bad = register(
        &server,
        None,
        &json!({ "redirect_uris": ["http://x.example/cb"] }),
    )
    .await;
    assert_refused(&bad, 400, "invalid_redirect_uri");
    for _ in 0..2 {
        assert_eq!(register(&server, None, &web_app()).await.status, 201);
    }
    let refused = register(&server, None, &web_app()).await;
    assert_refused(&refused, 429, "temporarily_unavailable");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
}

async fn privileges_and_bad_metadata_are_refused_with_the_field_named(backend: Backend) {
    let server = start(backend, RegistrationMode::Open, None).await;
    let with = |field: &str, value: Value| {
        let mut body = web_app();
        body[field] = value;
        body
    };
    let cases = [
        (
            with("skip_consent", json!(true)),
            "invalid_client_metadata",
            "skip_consent:",
        ),
        (
            with("scope", json!("openid admin")),
            "invalid_client_metadata",
            "scope:",
        ),
        (
            with("introspect_any_token", json!(true)),
            "invalid_client_metadata",
            "introspect_any_token:",
        ),
        (
            with("audiences", json!(["https://payments.internal"])),
            "invalid_client_metadata",
            "audiences:",
        ),
        (
            with("issue_refresh_tokens", json!(true)),
            "invalid_client_metadata",
            "issue_refresh_tokens:",
        ),
        (
            with("redirect_uris", json!(["https://app.example.com/cb#frag"])),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with("redirect_uris", json!(["http://app.example.com/cb"])),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with("redirect_uris", json!(["https://*.example.com/cb"])),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with("scope", json!("openid nope")),
            "invalid_client_metadata",
            "scope:",
        ),
        (
            // private_key_jwt without the keys to check its assertions with.
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            "invalid_client_metadata",
            "jwks:",
        ),
        (
            with("redirect_uris", json!("https://app.example.com/cb")),
            "invalid_client_metadata",
            "request body:",
        ),
    ];
    for (body, error, field) in cases {
        let reply = register(&server, None, &body).await;
        assert_refused(&reply, 400, error);
        let description = reply.json["error_description"].as_str().unwrap();
        assert!(description.starts_with(field), "{description}");
    }
    for raw in ["not json", "{\"redirect_uris\": ["] {
        let reply = Reply::from(
            http()
                .post(server.at("/register"))
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_refused(&reply, 400, "invalid_client_metadata");
    }
    // Metadata ferrid does not know is ignored (RFC 7591 §2).
    let reply = register(
        &server,
        None,
        &with("logo_uri", json!("https://x.example/l.png")),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
}

for_each_backend!(
    a_third_party_app_registers_and_logs_a_person_in,
    closed_registration_refuses_everyone,
    initial_access_tokens_are_required_and_used_up,
    open_registration_takes_anyone_but_not_for_machine_tokens,
    open_registration_is_bounded_per_address,
    privileges_and_bad_metadata_are_refused_with_the_field_named,
);
