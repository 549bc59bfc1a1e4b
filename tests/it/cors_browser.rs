//! CORS in a real browser: headless Chromium loads a single-page app served by the test on
//! another loopback port — a public client with that origin in `allowed_cors_origins`. The page
//! computes a PKCE S256 challenge with `crypto.subtle` and goes to `/authorize`; the person logs
//! in and allows on ferrid's pages; back on the app's origin, the page redeems the code with
//! fetch() and calls `/userinfo` with the access token (a preflighted request: it carries
//! `Authorization`). Then the attacker side: a page on an origin no client registered, and one
//! on an origin registered for another client, both holding the stolen access token — the
//! browser lets them read discovery and the JWKS, and blocks every read of `/token` and
//! `/userinfo`, although the server is reachable (a `no-cors` request goes through).

use ferrid::config::ClientConfig;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::chromium::Chromium;
use crate::common::code_flow::{alice, spa};
use crate::common::{Backend, Options, TestServer};

/// The app's script: `/start` begins the code flow with PKCE, `/callback` finishes it and
/// calls `/userinfo`, leaving what it saw in `window.result`. `FERRID` and `CLIENT_ID` are
/// filled in by the test.
const APP_PAGE: &str = r#"<!doctype html><meta charset="utf-8"><title>app</title>
<script>
const ferrid = "FERRID", clientId = "CLIENT_ID";
const redirectUri = location.origin + "/callback";
const b64url = bytes => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
window.result = null;
(async () => {
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/start") {
    const verifier = random(), state = random();
    sessionStorage.setItem("verifier", verifier);
    sessionStorage.setItem("state", state);
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    location.assign(ferrid + "/authorize?" + new URLSearchParams({
      response_type: "code", client_id: clientId, redirect_uri: redirectUri,
      scope: "openid profile email", state, code_challenge: challenge,
      code_challenge_method: "S256" }));
  } else if (location.pathname === "/callback") {
    try {
      if (params.get("state") !== sessionStorage.getItem("state")) throw new Error("state differs");
      const token = await fetch(ferrid + "/token", { method: "POST", body: new URLSearchParams({
        grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri,
        client_id: clientId, code_verifier: sessionStorage.getItem("verifier") }) });
      const tokens = await token.json();
      const userinfo = await fetch(ferrid + "/userinfo",
        { headers: { Authorization: "Bearer " + tokens.access_token } });
      window.result = { token_status: token.status, token_type: tokens.token_type,
        access_token: tokens.access_token, userinfo_status: userinfo.status,
        userinfo: await userinfo.json() };
    } catch (e) { window.result = { error: String(e) }; }
  }
})();
</script>"#;

/// What a page on another origin can read, given a stolen access token: each call's outcome
/// (`ok <status>` or the exception's text).
const PROBE: &str = r#"(async (ferrid, clientId, accessToken) => {
  const attempt = async (url, init) => {
    try { const r = await fetch(url, init); await r.text(); return "ok " + r.status; }
    catch (e) { return String(e); }
  };
  return {
    discovery: await attempt(ferrid + "/.well-known/openid-configuration"),
    jwks: await attempt(ferrid + "/.well-known/jwks.json"),
    token: await attempt(ferrid + "/token", { method: "POST", body: new URLSearchParams({
      grant_type: "authorization_code", code: "stolen", client_id: clientId,
      redirect_uri: "http://127.0.0.1/callback", code_verifier: "x".repeat(43) }) }),
    userinfo: await attempt(ferrid + "/userinfo",
      { headers: { Authorization: "Bearer " + accessToken } }),
    userinfo_in_body: await attempt(ferrid + "/userinfo", { method: "POST",
      body: new URLSearchParams({ access_token: accessToken }) }),
    reachable: await attempt(ferrid + "/token", { method: "POST", mode: "no-cors",
      body: new URLSearchParams({ grant_type: "client_credentials" }) }),
  };
})"#;

/// Serves `html` for every path on `listener` (one request per connection), until the test
/// ends.
fn serve(listener: TcpListener, html: String) {
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
}

async fn listen() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    (listener, origin)
}

fn is_cors_failure(outcome: &Value) -> bool {
    outcome.as_str() == Some("TypeError: Failed to fetch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_runs_the_code_flow_from_its_origin_and_others_are_blocked() {
    let (app_listener, app) = listen().await;
    let (stranger_listener, stranger) = listen().await;
    let (neighbour_listener, neighbour) = listen().await;

    let mut client = spa("browser-app");
    client.redirect_uris = vec![format!("{app}/callback")];
    client.allowed_cors_origins = vec![app.clone()];
    // Another client's app, on its own origin.
    let mut other = spa("neighbour-app");
    other.redirect_uris = vec![format!("{neighbour}/callback")];
    other.allowed_cors_origins = vec![neighbour.clone()];
    let clients: Vec<ClientConfig> = vec![client, other];
    let server = TestServer::start_with(Options::new(Backend::Memory).clients(clients), |s| {
        s.users = vec![alice()];
    })
    .await;
    let ferrid = server.url.trim_end_matches('/').to_owned();

    let page = APP_PAGE
        .replace("FERRID", &ferrid)
        .replace("CLIENT_ID", "browser-app");
    serve(app_listener, page);
    let blank = "<!doctype html><title>elsewhere</title>".to_owned();
    serve(stranger_listener, blank.clone());
    serve(neighbour_listener, blank);

    let browser = Chromium::launch().await;
    let tab = browser.new_page().await;
    tab.goto(&format!("{app}/start")).await;
    tab.fill("input[name=username]", "alice").await;
    tab.fill("input[name=password]", "wonderland").await;
    tab.click("form[action='/login'] button[type=submit]").await;
    tab.click("button[name=decision][value=allow]").await;
    let result = tab
        .wait_until("the app's result on its own origin", "window.result")
        .await;
    assert!(
        tab.url().await.starts_with(&format!("{app}/callback?")),
        "{result}"
    );
    assert_eq!(result["token_status"], 200, "{result}");
    assert_eq!(result["token_type"], "Bearer", "{result}");
    assert_eq!(result["userinfo_status"], 200, "{result}");
    assert_eq!(
        result["userinfo"]["preferred_username"], "alice",
        "{result}"
    );
    assert_eq!(result["userinfo"]["email"], "alice@example.com", "{result}");
    let stolen = result["access_token"].as_str().unwrap().to_owned();

    // Attacker side: the same calls with the stolen token, from an origin no client registered
    // and from one registered for another client.
    for origin in [&stranger, &neighbour] {
        let attacker = browser.new_page().await;
        attacker.goto(&format!("{origin}/")).await;
        attacker
            .wait_until(
                "the page on another origin",
                "document.title === 'elsewhere'",
            )
            .await;
        let seen = attacker
            .eval(&format!(
                "{PROBE}({}, 'browser-app', {})",
                serde_json::to_string(&ferrid).unwrap(),
                serde_json::to_string(&stolen).unwrap()
            ))
            .await;
        assert_eq!(seen["discovery"], "ok 200", "{origin}: {seen}");
        assert_eq!(seen["jwks"], "ok 200", "{origin}: {seen}");
        for call in ["token", "userinfo", "userinfo_in_body"] {
            assert!(is_cors_failure(&seen[call]), "{origin} {call}: {seen}");
        }
        // Not a network failure: the request reached ferrid, the browser withheld the answer.
        assert_eq!(seen["reachable"], "ok 0", "{origin}: {seen}");
        attacker.close().await;
    }

    tab.close().await;
    browser.close().await;
}
