//! The README's quick tour as a newcomer follows it: `ferrid` started with no config logs a demo
//! client and a demo user; headless Chromium opens `/docs` under `localhost` while the issuer
//! says `127.0.0.1`, is sent to the issuer's origin, presses Authorize in Swagger UI, logs in as
//! the demo user on ferrid's login page, allows on the consent page, and gets the user's claims
//! from `/userinfo` through "Try it out" → "Execute". And the cheaper check of the same redirect
//! over plain HTTP, in-process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use oauth2::reqwest::header::{HOST, LOCATION};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::common::chromium::Chromium;
use crate::common::{http, Backend, TestServer};

/// Swagger UI's operation block for `GET /userinfo`.
const USERINFO: &str = "[...document.querySelectorAll('.opblock.opblock-get')]\
    .find(b => b.querySelector('.opblock-summary-path')?.dataset.path === '/userinfo')";

/// The OAuth2 (authorization code) section of Swagger UI's Authorize dialog.
const OAUTH2_AUTH: &str = "[...document.querySelectorAll('.dialog-ux .auth-container')]\
    .find(c => c.querySelector('h4')?.textContent.includes('OAuth2 ('))";

/// `ferrid` with no config file, as the quick tour starts it, on `127.0.0.1:port` (so the issuer
/// follows), logging JSON; killed on drop.
struct Ferrid {
    child: Child,
    lines: mpsc::UnboundedReceiver<Value>,
    _dir: tempfile::TempDir,
}

impl Ferrid {
    fn start(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = crate::cli::ferrid(dir.path())
            .env("FERRID_BIND", format!("127.0.0.1:{port}"))
            .env("FERRID_LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(json) = serde_json::from_str(&line) {
                    let _ = sender.send(json);
                }
            }
        });
        Self {
            child,
            lines,
            _dir: dir,
        }
    }

    /// The next log line, within a deadline.
    async fn next_line(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(60), self.lines.recv())
            .await
            .expect("ferrid logs its start-up within 60 s")
            .expect("ferrid exited during start-up")
    }
}

impl Drop for Ferrid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (ferrid is then started on it: the issuer follows `bind`
/// only for a known port).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_authorizes_the_demo_user_and_tries_userinfo_in_chromium() {
    let port = free_port();
    let mut ferrid = Ferrid::start(port);
    let issuer = format!("http://127.0.0.1:{port}");

    // The start-up log: where ferrid listens, then the demo client and the demo user together.
    let (mut listening, mut client_secret, mut password) = (false, None, None);
    while !listening || client_secret.is_none() || password.is_none() {
        let line = ferrid.next_line().await;
        if line["message"] == "ferrid is listening" {
            assert_eq!(line["issuer"], issuer.as_str(), "{line}");
            listening = true;
        }
        if line["client_id"] == "demo" {
            client_secret = line["client_secret"].as_str().map(str::to_owned);
        }
        if line["username"] == "demo" {
            assert_eq!(line["level"], "WARN", "{line}");
            assert_eq!(line["docs"], format!("{issuer}/docs"), "{line}");
            password = line["password"].as_str().map(str::to_owned);
        }
    }
    let password = password.unwrap();
    assert_eq!(password.len(), 16);
    assert!(!client_secret.unwrap().is_empty());

    let browser = Chromium::launch().await;
    let docs = browser.new_page().await;

    // Opened under another loopback name, /docs first moves to the issuer's origin.
    docs.goto(&format!("http://localhost:{port}/docs")).await;
    docs.wait_for(".auth-wrapper button.authorize").await;
    assert_eq!(docs.url().await, format!("{issuer}/docs"));

    // Authorize: the OAuth2 section, client id and scopes filled in by ferrid's page.
    docs.click(".auth-wrapper button.authorize").await;
    let client_id = docs
        .wait_until(
            "the OAuth2 client id in the Authorize dialog",
            &format!("{OAUTH2_AUTH}?.querySelector('input[data-name=clientId]')?.value"),
        )
        .await;
    assert_eq!(client_id, "swagger-ui");
    let checked = docs
        .eval(&format!(
            "[...{OAUTH2_AUTH}.querySelectorAll('.scopes input[type=checkbox]')]\
             .filter(c => c.checked).map(c => c.dataset.value)"
        ))
        .await;
    assert_eq!(checked, serde_json::json!(["openid", "profile", "email"]));
    docs.click_element(
        "the OAuth2 Authorize button",
        &format!("{OAUTH2_AUTH}?.querySelector('button.authorize')"),
    )
    .await;

    // The popup: ferrid's login page, then its consent page.
    let login_url = format!("{issuer}/login");
    let popup = browser
        .wait_for_page("ferrid's login page", |url| url.starts_with(&login_url))
        .await;
    popup.fill("input[name=username]", "demo").await;
    popup.fill("input[name=password]", &password).await;
    popup
        .click("form[action='/login'] button[type=submit]")
        .await;
    popup.wait_for("button[name=decision][value=allow]").await;
    let consent = popup.text("body").await;
    assert!(
        consent.contains("ferrid API docs (Swagger UI)"),
        "the consent page names the client: {consent}"
    );
    popup.click("button[name=decision][value=allow]").await;

    // Back in Swagger UI (the receiver page closes the popup): authorized, then Try it out.
    docs.wait_until(
        "Swagger UI to hold the token",
        &format!(
            "[...({OAUTH2_AUTH})?.querySelectorAll('button') ?? []]\
             .some(b => b.textContent.trim() === 'Logout')"
        ),
    )
    .await;
    docs.click_text(".dialog-ux button.btn-done", "Close").await;
    docs.click_element(
        "the GET /userinfo operation",
        &format!("{USERINFO}?.querySelector('.opblock-summary-control')"),
    )
    .await;
    docs.click_element(
        "Try it out",
        &format!("{USERINFO}?.querySelector('button.try-out__btn')"),
    )
    .await;
    docs.click_element(
        "Execute",
        &format!("{USERINFO}?.querySelector('button.execute')"),
    )
    .await;
    let status = docs
        .wait_until(
            "the /userinfo response",
            &format!(
                "{USERINFO}?.querySelector('.live-responses-table tbody .response-col_status')\
                 ?.textContent.trim()"
            ),
        )
        .await;
    let body = docs
        .eval(&format!(
            "{USERINFO}.querySelector('.live-responses-table tbody .response-col_description pre')\
             .textContent"
        ))
        .await;
    assert_eq!(status, "200", "{body}");
    let claims: Value = serde_json::from_str(body.as_str().unwrap()).unwrap();
    assert_eq!(claims["preferred_username"], "demo", "{claims}");
    assert_eq!(claims["name"], "Demo User", "{claims}");
    assert_eq!(claims["email"], "demo@example.com", "{claims}");
    assert!(claims["sub"].as_str().is_some_and(|sub| !sub.is_empty()));
    let curl = docs
        .eval(&format!(
            "{USERINFO}.querySelector('.curl-command').innerText"
        ))
        .await;
    assert!(
        curl.as_str().unwrap().contains("Authorization: Bearer "),
        "Swagger UI sends the token it got: {curl}"
    );

    docs.close().await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_under_another_loopback_name_redirect_to_the_issuers_origin() {
    let server = TestServer::start(Backend::Memory, vec![]).await;
    let port = url::Url::parse(&server.url).unwrap().port().unwrap();
    let docs = server.at("/docs");

    for path in ["/docs", "/docs/"] {
        let moved = http()
            .get(server.at(path))
            .header(HOST, format!("localhost:{port}"))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status(), 307, "{path}");
        assert_eq!(moved.headers()[LOCATION], docs.as_str(), "{path}");
    }

    // Where it points, the page with PKCE enabled is served.
    let page = http().get(&docs).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("usePkceWithAuthorizationCodeGrant: true"));

    // The issuer's own name, another port (a proxy may sit there) and the receiver page: served.
    for (host, path) in [
        (format!("127.0.0.1:{port}"), "/docs"),
        (format!("localhost:{}", port.wrapping_add(1)), "/docs"),
        (format!("localhost:{port}"), "/docs/oauth-receiver.html"),
    ] {
        let served = http()
            .get(server.at(path))
            .header(HOST, &host)
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200, "{host} {path}");
    }
}
