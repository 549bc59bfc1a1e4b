//! Calling the admin API as an operator's script would: a client granted `admin` in the config
//! gets a token through client credentials, then sends JSON with it.

use serde_json::Value;

use super::browser::{callback, Browser, CALLBACK};
use super::grants::{alice, CHALLENGE, VERIFIER};
use super::{http, post_token, service_client, Backend, Options, Reply, TestServer};

/// The config client that administers the test servers (`ops` / `ops-secret`).
pub const OPS: &str = "ops";

/// A server with the `ops` admin client, a `svc` client without `admin`, the user `alice`,
/// and `extra` config clients.
pub async fn server(backend: Backend, extra: Vec<ferrid::config::ClientConfig>) -> TestServer {
    let mut clients = vec![
        service_client(OPS, &["admin"]),
        service_client("svc", &["read"]),
    ];
    clients.extend(extra);
    TestServer::start_with(Options::new(backend).clients(clients), |settings| {
        settings.users = vec![alice()];
    })
    .await
}

/// An access token of `client_id` (secret `<id>-secret`) through client credentials.
pub async fn token(server: &TestServer, client_id: &str) -> String {
    let secret = format!("{client_id}-secret");
    let reply = post_token(
        server,
        Some((client_id, &secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json["access_token"].as_str().unwrap().to_owned()
}

/// The admin API of `server`, called with `token`.
pub struct Admin<'a> {
    pub server: &'a TestServer,
    pub token: Option<String>,
}

impl<'a> Admin<'a> {
    /// Called with an `ops` token.
    pub async fn new(server: &'a TestServer) -> Self {
        Self {
            server,
            token: Some(token(server, OPS).await),
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let method = oauth2::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = http().request(method, self.server.at(path));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Reply::from(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send("PUT", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None).await
    }
}

/// Asserts an admin API error: status, code, a description, no caching.
pub fn assert_admin_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["error"], error, "{}", reply.json);
    assert!(
        !reply.json["error_description"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{}",
        reply.json
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

/// Runs the code flow for `client_id` as `username`, logging in when asked; the token response.
pub async fn code_grant(
    server: &TestServer,
    browser: &Browser,
    client: (&str, &str),
    username: &str,
    password: &str,
) -> Reply {
    let (client_id, secret) = client;
    let url = format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let mut page = browser.get(&url).await;
    if page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/login"))
    {
        page = log_in_as(server, browser, &page, username, password).await;
    }
    let params = callback(&page);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    post_token(server, Some((client_id, secret)), &form).await
}

/// Fills in the login page `page` redirects to.
pub async fn log_in_as(
    server: &TestServer,
    browser: &Browser,
    page: &super::browser::Page,
    username: &str,
    password: &str,
) -> super::browser::Page {
    let location = page.location.clone().unwrap();
    assert!(location.starts_with("/login?interaction="), "{location}");
    let form = browser.get(&server.at(&location)).await;
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    browser
        .post(
            &server.at("/login"),
            &[
                ("interaction", &interaction),
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}
