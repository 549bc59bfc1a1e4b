//! Audit events: each action a deployment audits — a token issued by each grant, a login that
//! fails, succeeds or is throttled, consent granted and denied, a refresh rotated and a rotated
//! one reused, a code replayed, revocations, logout, a forged form, an emergency key rotation
//! and a key import — is driven (over HTTP where ferrid offers it) and must write exactly the
//! expected `ferrid::audit` lines, no more, with the right `event`, `outcome`, `reason`,
//! `client_id`, `sub`, `grant_type`, `jti` or `kid`, and, inside a request, the request id the
//! response carried. Actions that are not audited (a rejected token request) write none.
//!
//! The subscriber is this thread's default and the runtime runs on this thread only, so every
//! line the server writes is captured, and no other test's.

use ferrid::clock::SystemClock;
use ferrid::config::LogSettings;
use ferrid::keys::rsa_key;
use serde_json::Value;

use crate::common::browser::{callback, consent, Browser, CALLBACK};
use crate::common::grants::{alice, app_client, refresh, text, CHALLENGE, VERIFIER};
use crate::common::logs::Captured;
use crate::common::{http, post_token, service_client, Backend, Options, Reply, TestServer};

/// Reads the audit lines written since the last read.
struct AuditLog {
    captured: Captured,
    read: usize,
}

impl AuditLog {
    fn take(&mut self) -> Vec<Value> {
        let bytes = self.captured.0.lock().unwrap();
        let new = String::from_utf8(bytes[self.read..].to_vec()).unwrap();
        self.read = bytes.len();
        new.lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|line| line["target"] == "ferrid::audit")
            .collect()
    }

    /// The lines since the last read, which must be exactly `expected`, by event name.
    fn expect(&mut self, expected: &[&str]) -> Vec<Value> {
        let lines = self.take();
        let names: Vec<&str> = lines
            .iter()
            .map(|line| line["event"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{lines:#?}");
        lines
    }

    /// The one line since the last read, which must be `event`.
    fn one(&mut self, event: &str) -> Value {
        self.expect(&[event]).remove(0)
    }
}

/// Asserts the fields of `line`; `None` means the field must be absent.
fn assert_fields(line: &Value, fields: &[(&str, Option<&str>)]) {
    for (name, value) in fields {
        match value {
            Some(value) => assert_eq!(line[name], *value, "{name} in {line:#}"),
            None => assert!(line.get(name).is_none(), "no {name} expected in {line:#}"),
        }
    }
}

/// The request id the line was written under, which must be the one the response carried.
fn assert_request(line: &Value, headers: &oauth2::reqwest::header::HeaderMap) {
    let sent = headers["x-request-id"].to_str().unwrap();
    assert_eq!(line["span"]["request_id"], sent, "{line:#}");
}

fn authorize_url(server: &TestServer, client_id: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client_id}&redirect_uri={CALLBACK}&scope=openid%20offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        server.at("/authorize")
    )
}

/// Posts the login form the authorization request `url` leads to.
async fn post_login(
    server: &TestServer,
    browser: &Browser,
    url: &str,
    username: &str,
    password: &str,
    csrf: Option<&str>,
) -> crate::common::browser::Page {
    let start = browser.get(url).await;
    let location = start.location.expect("a redirect to the login page");
    assert!(location.starts_with("/login"), "{location}");
    let form = browser.get(&server.at(&location)).await;
    let interaction = form.hidden("interaction").unwrap();
    let csrf = csrf.map_or_else(|| form.hidden("csrf_token").unwrap(), str::to_owned);
    browser
        .post(
            &server.at("/login"),
            &[
                ("interaction", interaction.as_str()),
                ("csrf_token", csrf.as_str()),
                ("username", username),
                ("password", password),
            ],
        )
        .await
}

async fn every_audited_action_writes_exactly_its_event(log: &mut AuditLog) {
    let mut asking = app_client("asking");
    asking.skip_consent = false;
    let options = Options::new(Backend::Memory)
        .clients(vec![asking, service_client("audited-svc", &["read"])]);
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.tokens.refresh_token_reuse_grace_secs = 0;
        settings.sessions.login_attempts_per_minute = 3;
    })
    .await;
    log.take();

    // Client credentials: issued, then refused (not an audit event).
    let issued = post_token(
        &server,
        Some(("audited-svc", "audited-svc-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(issued.status, 200);
    let line = log.one("token_issued");
    assert_fields(
        &line,
        &[
            ("level", Some("INFO")),
            ("outcome", Some("success")),
            ("grant_type", Some("client_credentials")),
            ("client_id", Some("audited-svc")),
            ("sub", Some("audited-svc")),
            ("reason", None),
        ],
    );
    assert!(!line["jti"].as_str().unwrap().is_empty());
    assert_request(&line, &issued.headers);
    post_token(
        &server,
        Some(("audited-svc", "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await
    .assert_error(401, "invalid_client");
    log.expect(&[]);

    // Login: a wrong password, then the right one.
    let browser = Browser::new();
    let url = authorize_url(&server, "asking", "");
    let failed = post_login(&server, &browser, &url, "alice", "not-it", None).await;
    assert_eq!(failed.status, 200);
    let line = log.one("login");
    assert_fields(
        &line,
        &[
            ("level", Some("INFO")),
            ("outcome", Some("failure")),
            ("reason", Some("invalid_credentials")),
            ("client_id", Some("asking")),
        ],
    );
    let alice_sub = text(&line, "sub");
    assert_request(&line, &failed.headers);
    let logged_in = post_login(&server, &browser, &url, "alice", "wonderland", None).await;
    let line = log.one("login");
    assert_fields(
        &line,
        &[
            ("outcome", Some("success")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
            ("reason", None),
        ],
    );
    assert_request(&line, &logged_in.headers);

    // Consent granted, then the code redeemed, replayed later.
    let redirect = consent(&server, &browser, logged_in, "allow").await;
    let line = log.one("consent");
    assert_fields(
        &line,
        &[
            ("outcome", Some("granted")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
            ("scope", Some("openid offline_access")),
        ],
    );
    assert_request(&line, &redirect.headers);
    let code = callback(&redirect)["code"].clone();
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let tokens = post_token(&server, Some(("asking", "asking-secret")), &redeem).await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    let line = log.one("token_issued");
    assert_fields(
        &line,
        &[
            ("grant_type", Some("authorization_code")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
        ],
    );
    let code_jti = text(&line, "jti");

    // Refresh: rotated (and a token issued), then the rotated one reused.
    let first = text(&tokens.json, "refresh_token");
    let rotated = refresh(&server, "asking", &first, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    let lines = log.expect(&["refresh_rotated", "token_issued"]);
    assert_fields(
        &lines[0],
        &[
            ("outcome", Some("success")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
        ],
    );
    assert_fields(&lines[1], &[("grant_type", Some("refresh_token"))]);
    assert_request(&lines[0], &rotated.headers);
    let reused = refresh(&server, "asking", &first, None).await;
    reused.assert_error(400, "invalid_grant");
    let line = log.one("refresh_reuse_detected");
    assert_fields(
        &line,
        &[
            ("level", Some("WARN")),
            ("outcome", Some("family_revoked")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
        ],
    );
    assert_request(&line, &reused.headers);

    // The code replayed: what it issued is revoked.
    let replay = post_token(&server, Some(("asking", "asking-secret")), &redeem).await;
    replay.assert_error(400, "invalid_grant");
    let line = log.one("code_replayed");
    assert_fields(
        &line,
        &[
            ("level", Some("WARN")),
            ("outcome", Some("tokens_revoked")),
            ("client_id", Some("asking")),
            ("jti", Some(code_jti.as_str())),
        ],
    );

    // Consent asked again and denied.
    let page = browser
        .get(&authorize_url(&server, "asking", "&prompt=consent"))
        .await;
    let denied = consent(&server, &browser, page, "deny").await;
    assert_eq!(callback(&denied)["error"], "access_denied");
    let line = log.one("consent");
    assert_fields(
        &line,
        &[
            ("outcome", Some("denied")),
            ("client_id", Some("asking")),
            ("sub", Some(alice_sub.as_str())),
        ],
    );

    // Revocation: a token the client owns, and one it does not.
    for (token, outcome) in [
        (text(&issued.json, "access_token"), "revoked"),
        ("not-a-token".to_owned(), "no_match"),
    ] {
        let response = Reply::from(
            http()
                .post(server.at("/revoke"))
                .basic_auth("audited-svc", Some("audited-svc-secret"))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(response.status, 200);
        let line = log.one("token_revoked");
        assert_fields(
            &line,
            &[
                ("outcome", Some(outcome)),
                ("client_id", Some("audited-svc")),
            ],
        );
        assert_request(&line, &response.headers);
    }

    // A login form posted with a forged CSRF token.
    let forged = post_login(
        &server,
        &browser,
        &authorize_url(&server, "asking", "&prompt=login"),
        "alice",
        "wonderland",
        Some("forged"),
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    let line = log.one("csrf_rejected");
    assert_fields(
        &line,
        &[
            ("level", Some("WARN")),
            ("outcome", Some("rejected")),
            ("client_id", Some("asking")),
        ],
    );

    // Throttling: three failures for an unknown user, then the fourth attempt is refused.
    let guesser = Browser::new();
    let url = authorize_url(&server, "asking", "");
    for _ in 0..3 {
        post_login(&server, &guesser, &url, "mallory", "guess", None).await;
        let line = log.one("login");
        assert_fields(&line, &[("outcome", Some("failure")), ("sub", None)]);
    }
    post_login(&server, &guesser, &url, "mallory", "guess", None).await;
    let line = log.one("login");
    assert_fields(
        &line,
        &[
            ("level", Some("WARN")),
            ("outcome", Some("throttled")),
            ("reason", Some("too_many_attempts")),
            ("client_id", Some("asking")),
        ],
    );

    // Logout with the ID token as hint: at once.
    let logout = browser
        .get(&format!(
            "{}?id_token_hint={}",
            server.at("/logout"),
            text(&tokens.json, "id_token")
        ))
        .await;
    assert_eq!(logout.status, 200, "{}", logout.body);
    let line = log.one("logout");
    assert_fields(
        &line,
        &[
            ("outcome", Some("success")),
            ("sub", Some(alice_sub.as_str())),
            ("client_id", Some("asking")),
        ],
    );
    assert_request(&line, &logout.headers);

    // The operator's key changes: an emergency rotation, then an import.
    let snapshot = server
        .ctx
        .keys()
        .rotate_now(false, &SystemClock)
        .await
        .unwrap();
    let line = log.one("key_rotated");
    let active = |snapshot: &ferrid::keys::persist::Snapshot| {
        snapshot
            .keys
            .iter()
            .find(|key| key.state() == ferrid::keys::KeyState::Active)
            .unwrap()
            .kid
            .clone()
    };
    assert_fields(
        &line,
        &[
            ("level", Some("WARN")),
            ("reason", Some("emergency")),
            ("kid", Some(&active(&snapshot))),
        ],
    );
    let pem = rsa_key::pkcs8_to_pem(&rsa_key::generate_pkcs8(2048).unwrap()).unwrap();
    let snapshot = server.ctx.keys().import(&pem, &SystemClock).await.unwrap();
    let line = log.one("key_imported");
    assert_fields(
        &line,
        &[
            ("outcome", Some("success")),
            ("kid", Some(&active(&snapshot))),
        ],
    );
}

#[test]
fn every_audited_action_writes_exactly_one_event_with_its_fields() {
    let captured = Captured::default();
    let settings = LogSettings {
        format: "json".into(),
        level: "info".into(),
    };
    let guard = tracing::subscriber::set_default(ferrid::telemetry::subscriber(
        &settings,
        captured.clone(),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut log = AuditLog { captured, read: 0 };
    runtime.block_on(every_audited_action_writes_exactly_its_event(&mut log));
    drop(runtime);
    drop(guard);
}
