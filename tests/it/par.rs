//! Pushed authorization requests (RFC 9126) on both stores: a pushed request is validated as
//! `/authorize` would (errors as RFC 6749 §5.2 JSON), and its `request_uri` carries the whole
//! request — once, within 60 s, for the client that pushed it; every other front-channel
//! parameter is ignored. A `request_uri` that is unknown, used, expired or another client's is an
//! error page (there is no verified redirect URI left to send an error to). A client, or every
//! client with `par.required`, may be made to push.

use std::collections::HashMap;
use std::time::Duration;

use ferrid::config::{ClientConfig, Settings};
use ferrid::oauth::par::REQUEST_URI_PREFIX;

use crate::common::browser::{callback, log_in, Browser, Page, CALLBACK};
use crate::common::grants::{alice, now_clock, text, CHALLENGE, VERIFIER};
use crate::common::{http, post_token, Backend, Options, Reply, TestServer};

fn web(id: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["openid".into(), "profile".into()],
        redirect_uris: vec![CALLBACK.into()],
        skip_consent: true,
        ..ClientConfig::default()
    }
}

fn clients() -> Vec<ClientConfig> {
    let must_push = ClientConfig {
        require_pushed_authorization_requests: Some(true),
        ..web("must-push")
    };
    let spa = ClientConfig {
        public: true,
        secret: None,
        ..web("spa")
    };
    vec![web("pusher"), web("other"), must_push, spa]
}

async fn server_with(
    backend: Backend,
    clock: Option<ferrid::clock::ManualClock>,
    configure: impl FnOnce(&mut Settings),
) -> TestServer {
    let options = Options {
        clock,
        ..Options::new(backend).clients(clients())
    };
    TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        configure(settings);
    })
    .await
}

/// A form's parameters.
type Form = Vec<(&'static str, String)>;

/// The authorization request every test pushes.
fn request(state: &str) -> Form {
    vec![
        ("response_type", "code".into()),
        ("redirect_uri", CALLBACK.into()),
        ("scope", "openid profile".into()),
        ("state", state.into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

/// Pushes `form` as `client` (HTTP Basic).
async fn push(server: &TestServer, client: &str, form: &[(&str, String)]) -> Reply {
    let response = http()
        .post(server.at("/par"))
        .basic_auth(client, Some(format!("{client}-secret")))
        .form(form)
        .send()
        .await
        .unwrap();
    Reply::from(response).await
}

async fn pushed_uri(server: &TestServer, client: &str) -> String {
    let reply = push(server, client, &request("pushed-state")).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    text(&reply.json, "request_uri")
}

/// `/authorize` with `client_id` and `request_uri` (and whatever `extra` the browser adds).
async fn authorize(
    server: &TestServer,
    browser: &Browser,
    client: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> Page {
    let mut url = url::Url::parse(&server.at("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", client)
        .append_pair("request_uri", request_uri)
        .extend_pairs(extra);
    browser.get(url.as_str()).await
}

fn assert_error_page(page: &Page, message: &str) {
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none(), "never a redirect");
    let content_type = page.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.body.contains(message), "{message}: {}", page.body);
}

async fn a_pushed_request_is_used_once_and_the_front_channel_is_ignored(backend: Backend) {
    let server = server_with(backend, None, |_| {}).await;
    let reply = push(&server, "pusher", &request("pushed-state")).await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert_eq!(reply.json["expires_in"], 60);
    let request_uri = text(&reply.json, "request_uri");
    assert!(request_uri.starts_with(REQUEST_URI_PREFIX), "{request_uri}");

    let browser = Browser::new();
    // RFC 9126 §4: what the browser adds is ignored — the pushed state and redirect URI win.
    let extra = [
        ("state", "front-state"),
        ("redirect_uri", "https://evil.example.com/cb"),
        ("scope", "openid"),
        ("response_type", "token"),
    ];
    let page = authorize(&server, &browser, "pusher", &request_uri, &extra).await;
    let page = log_in(&server, &browser, page, "wonderland").await;
    let params: HashMap<String, String> = callback(&page);
    assert_eq!(params["state"], "pushed-state");
    assert_eq!(params["iss"], server.url);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post_token(&server, Some(("pusher", "pusher-secret")), &form).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(tokens.json["scope"], "openid profile");

    // Once only.
    let again = authorize(&server, &Browser::new(), "pusher", &request_uri, &[]).await;
    assert_error_page(&again, "expired or was already used");
}

async fn an_expired_request_uri_is_an_error_page(backend: Backend) {
    let clock = now_clock();
    let server = server_with(backend, Some(clock.clone()), |_| {}).await;
    let request_uri = pushed_uri(&server, "pusher").await;
    clock.advance(Duration::from_secs(61));
    let page = authorize(&server, &Browser::new(), "pusher", &request_uri, &[]).await;
    assert_error_page(&page, "expired or was already used");
}

async fn another_clients_request_uri_is_refused_and_used_up(backend: Backend) {
    let server = server_with(backend, None, |_| {}).await;
    let request_uri = pushed_uri(&server, "pusher").await;
    let page = authorize(&server, &Browser::new(), "other", &request_uri, &[]).await;
    assert_error_page(&page, "issued to another application");
    let page = authorize(&server, &Browser::new(), "pusher", &request_uri, &[]).await;
    assert_error_page(&page, "expired or was already used");
    let page = authorize(
        &server,
        &Browser::new(),
        "pusher",
        "https://evil.example.com/request.jwt",
        &[],
    )
    .await;
    assert_error_page(&page, "did not issue");
}

async fn a_pushed_request_is_validated_as_authorize_would(backend: Backend) {
    let server = server_with(backend, None, |_| {}).await;
    let with = |change: &dyn Fn(&mut Form)| {
        let mut form = request("s");
        change(&mut form);
        form
    };
    let set = |name: &'static str, value: &str| {
        let value = value.to_owned();
        move |form: &mut Form| {
            form.retain(|(n, _)| *n != name);
            form.push((name, value.clone()));
        }
    };
    let cases: Vec<(Form, u16, &str, &str)> = vec![
        (
            with(&set("redirect_uri", "https://evil.example.com/cb")),
            400,
            "invalid_request",
            "redirect",
        ),
        (
            with(&set("scope", "openid admin")),
            400,
            "invalid_scope",
            "admin",
        ),
        (
            with(&set("response_type", "token")),
            400,
            "unsupported_response_type",
            "token",
        ),
        (
            with(&set("code_challenge_method", "plain")),
            400,
            "invalid_request",
            "S256",
        ),
        (
            with(&set("client_id", "other")),
            400,
            "invalid_request",
            "differs",
        ),
        (
            with(&set("request_uri", &format!("{REQUEST_URI_PREFIX}x"))),
            400,
            "invalid_request",
            "request_uri cannot be pushed",
        ),
        (
            with(&|form| form.push(("scope", "openid".into()))),
            400,
            "invalid_request",
            "more than once",
        ),
    ];
    for (form, status, error, reason) in cases {
        let reply = push(&server, "pusher", &form).await;
        reply.assert_error(status, error);
        let description = reply.json["error_description"].as_str().unwrap();
        assert!(description.contains(reason), "{description} / {reason}");
    }
    // Client authentication as at /token.
    let wrong = http()
        .post(server.at("/par"))
        .basic_auth("pusher", Some("wrong"))
        .form(&request("s"))
        .send()
        .await
        .unwrap();
    Reply::from(wrong).await.assert_error(401, "invalid_client");
    // A public client pushes with its client_id, and must use PKCE.
    let mut public = request("s");
    public.push(("client_id", "spa".into()));
    let reply = Reply::from(
        http()
            .post(server.at("/par"))
            .form(&public)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.json);
    public.retain(|(name, _)| !name.starts_with("code_challenge"));
    let reply = Reply::from(
        http()
            .post(server.at("/par"))
            .form(&public)
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.assert_error(400, "invalid_request");
}

async fn clients_can_be_made_to_push(backend: Backend) {
    let server = server_with(backend, None, |_| {}).await;
    let browser = Browser::new();
    let front = format!(
        "{}?response_type=code&client_id=must-push&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let refused = callback(&browser.get(&front).await);
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].contains("push"), "{refused:?}");
    assert_eq!(refused["state"], "s");
    let request_uri = pushed_uri(&server, "must-push").await;
    let page = authorize(&server, &browser, "must-push", &request_uri, &[]).await;
    assert_eq!(page.status, 303);
    assert!(page.location.unwrap().starts_with("/login"));
    // Other clients still may use the front channel.
    let other = front.replace("must-push", "pusher");
    assert!(browser
        .get(&other)
        .await
        .location
        .unwrap()
        .starts_with("/login"));

    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.json["pushed_authorization_request_endpoint"],
        server.at("/par")
    );
    assert_eq!(
        discovery.json["require_pushed_authorization_requests"],
        false
    );
}

async fn with_par_required_every_client_pushes(backend: Backend) {
    let server = server_with(backend, None, |settings| settings.par.required = true).await;
    let browser = Browser::new();
    let front = format!(
        "{}?response_type=code&client_id=pusher&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    assert_eq!(
        callback(&browser.get(&front).await)["error"],
        "invalid_request"
    );
    let request_uri = pushed_uri(&server, "pusher").await;
    let page = authorize(&server, &browser, "pusher", &request_uri, &[]).await;
    assert!(page.location.unwrap().starts_with("/login"));
    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.json["require_pushed_authorization_requests"],
        true
    );
}

for_each_backend!(
    a_pushed_request_is_used_once_and_the_front_channel_is_ignored,
    an_expired_request_uri_is_an_error_page,
    another_clients_request_uri_is_refused_and_used_up,
    a_pushed_request_is_validated_as_authorize_would,
    clients_can_be_made_to_push,
    with_par_required_every_client_pushes,
);
