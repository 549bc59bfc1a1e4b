//! Shared by the refresh, revocation and logout tests: three code-flow clients (`app`, `other`,
//! and `keeper` with the `reuse` rotation policy), the user `alice`, and helpers that run a grant,
//! refresh, introspect and revoke over HTTP.

use ferrid::clock::{Clock, ManualClock, SystemClock};
use ferrid::config::{ClientConfig, Settings, UserConfig};
use serde_json::Value;

use super::browser::{callback, log_in, Browser, CALLBACK};
use super::{http, post_token, Backend, Options, Reply, TestServer};

// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const BYE: &str = "https://app.example.com/bye";

pub fn app_client(id: &str) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        name: Some(format!("{id} app")),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
        redirect_uris: vec![CALLBACK.into()],
        post_logout_redirect_uris: vec![BYE.into()],
        skip_consent: true,
        ..ClientConfig::default()
    }
}

/// The user every grant logs in as (`alice` / `wonderland`).
pub fn alice() -> UserConfig {
    UserConfig {
        username: "alice".into(),
        password_hash: Some(crate::common::cheap_password_hash("wonderland")),
        ..UserConfig::default()
    }
}

pub fn now_clock() -> ManualClock {
    ManualClock::at_millis(SystemClock.now_millis())
}

pub async fn server_with(
    backend: Backend,
    clock: Option<ManualClock>,
    configure: impl FnOnce(&mut Settings),
) -> TestServer {
    let mut reuse = app_client("keeper");
    reuse.refresh_token_rotation = Some("reuse".into());
    let options = Options {
        clock,
        ..Options::new(backend).clients(vec![app_client("app"), app_client("other"), reuse])
    };
    TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        configure(settings);
    })
    .await
}

pub async fn server(backend: Backend) -> TestServer {
    server_with(backend, None, |_| {}).await
}

/// Runs the code flow in `browser` and redeems the code: the token response.
pub async fn grant(server: &TestServer, browser: &Browser, client_id: &str, scope: &str) -> Value {
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope={scope}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let mut page = browser.get(&url).await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/login"))
    {
        page = log_in(server, browser, page, "wonderland").await;
    }
    let params = callback(&page);
    let secret = format!("{client_id}-secret");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let reply = post_token(server, Some((client_id, &secret)), &form).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

pub async fn refresh(
    server: &TestServer,
    client_id: &str,
    token: &str,
    scope: Option<&str>,
) -> Reply {
    let secret = format!("{client_id}-secret");
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    post_token(server, Some((client_id, &secret)), &form).await
}

pub async fn introspect(server: &TestServer, client_id: &str, token: &str) -> Value {
    let reply = Reply::from(
        http()
            .post(server.at("/introspect"))
            .basic_auth(client_id, Some(format!("{client_id}-secret")))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

pub async fn revoke(server: &TestServer, client_id: &str, token: &str, hint: Option<&str>) {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    let response = http()
        .post(server.at("/revoke"))
        .basic_auth(client_id, Some(format!("{client_id}-secret")))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

pub fn text(value: &Value, key: &str) -> String {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {value}"))
        .to_owned()
}
