//! DPoP (RFC 9449) on both stores, from the client's side and the attacker's: a proof binds the
//! access token (`token_type: DPoP`, `cnf.jkt`, introspection's `cnf`); every way a proof can
//! fail to match its request is refused with `invalid_dpop_proof`; a DPoP-bound token is served
//! at `/userinfo` only with the DPoP scheme and a proof by its key over that token, never as
//! Bearer; a public client's refresh token is bound to its key; a client registered with
//! `dpop_bound_access_tokens` must send proofs; and with `dpop.require_nonce` the server hands out
//! nonces (`use_dpop_nonce`, `DPoP-Nonce`).

use ferrid::config::ClientConfig;
use serde_json::{json, Value};

use crate::common::browser::{callback, log_in, Browser, CALLBACK};
use crate::common::dpop::{claims, jwt_claims, DpopKey};
use crate::common::grants::{alice, app_client, introspect, text, CHALLENGE, VERIFIER};
use crate::common::{http, service_client, Backend, Options, Reply, TestServer};

fn spa() -> ClientConfig {
    ClientConfig {
        id: "spa".into(),
        public: true,
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
        redirect_uris: vec![CALLBACK.into()],
        skip_consent: true,
        ..ClientConfig::default()
    }
}

fn clients() -> Vec<ClientConfig> {
    let bound = ClientConfig {
        dpop_bound_access_tokens: Some(true),
        ..service_client("bound", &["read"])
    };
    vec![
        service_client("svc", &["read"]),
        bound,
        spa(),
        app_client("app"),
    ]
}

pub async fn server_with(
    backend: Backend,
    configure: impl FnOnce(&mut ferrid::config::Settings),
) -> TestServer {
    TestServer::start_with(Options::new(backend).clients(clients()), |settings| {
        settings.users = vec![alice()];
        configure(settings);
    })
    .await
}

async fn server(backend: Backend) -> TestServer {
    server_with(backend, |_| {}).await
}

/// POSTs a token request with the given `DPoP` headers.
pub async fn token(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
    proofs: &[String],
) -> Reply {
    let mut request = http().post(server.at("/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    for proof in proofs {
        request = request.header("DPoP", proof);
    }
    Reply::from(request.send().await.unwrap()).await
}

async fn client_credentials(server: &TestServer, client: &str, proofs: &[String]) -> Reply {
    let secret = format!("{client}-secret");
    let form = [("grant_type", "client_credentials")];
    token(server, Some((client, &secret)), &form, proofs).await
}

/// GETs `/userinfo` with `authorization` and the given `DPoP` headers.
async fn userinfo(server: &TestServer, authorization: &str, proofs: &[String]) -> Reply {
    let mut request = http()
        .get(server.at("/userinfo"))
        .header("Authorization", authorization);
    for proof in proofs {
        request = request.header("DPoP", proof);
    }
    Reply::from(request.send().await.unwrap()).await
}

/// The public `spa` runs the code flow and redeems the code with a proof by `key`.
async fn spa_grant(server: &TestServer, key: &DpopKey) -> Value {
    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id=spa&redirect_uri={CALLBACK}&scope=openid+offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = log_in(server, &browser, browser.get(&url).await, "wonderland").await;
    let code = callback(&page)["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let proof = key.proof("POST", &server.at("/token"), None);
    let reply = token(server, None, &form, &[proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

async fn refresh_spa(server: &TestServer, refresh_token: &str, proofs: &[String]) -> Reply {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", refresh_token),
    ];
    token(server, None, &form, proofs).await
}

fn assert_refused(reply: &Reply, status: u16, error: &str, reason: &str) {
    assert_eq!(reply.status, status, "{reason}: {}", reply.json);
    assert_eq!(reply.json["error"], error, "{reason}: {}", reply.json);
    let description = reply.json["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(reason), "{description} / {reason}");
}

async fn a_proof_binds_the_access_token_to_its_key(backend: Backend) {
    let server = server(backend).await;
    let key = DpopKey::new();
    let proof = key.proof("POST", &server.at("/token"), None);
    let reply = client_credentials(&server, "svc", &[proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let access = text(&reply.json, "access_token");
    assert_eq!(jwt_claims(&access)["cnf"], json!({"jkt": key.thumbprint()}));
    let active = introspect(&server, "svc", &access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["cnf"], json!({"jkt": key.thumbprint()}));

    // Without a proof: a bearer token, no cnf.
    let plain = client_credentials(&server, "svc", &[]).await;
    assert_eq!(plain.json["token_type"], "Bearer");
    let bearer = text(&plain.json, "access_token");
    assert!(jwt_claims(&bearer).get("cnf").is_none());
    assert!(introspect(&server, "svc", &bearer)
        .await
        .get("cnf")
        .is_none());

    let discovery = Reply::from(
        http()
            .get(server.at("/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        discovery.json["dpop_signing_alg_values_supported"],
        json!(["ES256", "PS256", "RS256", "EdDSA"])
    );
}

async fn proofs_that_do_not_match_the_request_are_refused(backend: Backend) {
    let server = server(backend).await;
    let key = DpopKey::new();
    let url = server.at("/token");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = claims("POST", &url, None, None);
        change(&mut claims);
        key.jws(&key.header(), &claims)
    };
    let now = claims("POST", &url, None, None)["iat"].as_u64().unwrap();
    let another = DpopKey::new();
    let mut private_jwk = key.jwk();
    private_jwk["d"] = json!("ZmFrZS1wcml2YXRlLWtleS1tYXRlcmlhbC0zMi1ieXRlcw");
    let cases: Vec<(String, &str)> = vec![
        (with(&|c| c["htm"] = json!("GET")), "htm `GET`"),
        (with(&|c| c["htu"] = json!(server.at("/userinfo"))), "htu"),
        (
            with(&|c| c["htu"] = json!("https://evil.example.com/token")),
            "htu",
        ),
        (with(&|c| c["iat"] = json!(now - 600)), "in the past"),
        (with(&|c| c["iat"] = json!(now + 600)), "in the future"),
        (
            // The header names one key, another signed it.
            another.jws(&key.header(), &claims("POST", &url, None, None)),
            "signature",
        ),
        (
            key.jws(
                &json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private_jwk}),
                &claims("POST", &url, None, None),
            ),
            "private member `d`",
        ),
        (
            key.jws(
                &json!({"typ": "JWT", "alg": "ES256", "jwk": key.jwk()}),
                &claims("POST", &url, None, None),
            ),
            "typ",
        ),
        ("not-a-proof".to_owned(), "compact JWS"),
    ];
    for (proof, reason) in cases {
        let reply = client_credentials(&server, "svc", &[proof]).await;
        assert_refused(&reply, 400, "invalid_dpop_proof", reason);
        reply.assert_error(400, "invalid_dpop_proof");
    }

    // A proof is good for one request: its replay is refused.
    let proof = key.proof("POST", &url, None);
    assert_eq!(
        client_credentials(&server, "svc", std::slice::from_ref(&proof))
            .await
            .status,
        200
    );
    let replay = client_credentials(&server, "svc", &[proof]).await;
    assert_refused(&replay, 400, "invalid_dpop_proof", "already used");
    // One DPoP header per request.
    let two = [key.proof("POST", &url, None), key.proof("POST", &url, None)];
    let reply = client_credentials(&server, "svc", &two).await;
    assert_refused(&reply, 400, "invalid_dpop_proof", "exactly one");
}

async fn a_client_registered_for_dpop_must_send_proofs(backend: Backend) {
    let server = server(backend).await;
    let reply = client_credentials(&server, "bound", &[]).await;
    assert_refused(
        &reply,
        400,
        "invalid_dpop_proof",
        "dpop_bound_access_tokens",
    );
    let proof = DpopKey::new().proof("POST", &server.at("/token"), None);
    let reply = client_credentials(&server, "bound", &[proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
}

async fn userinfo_serves_a_bound_token_only_with_a_proof_by_its_key(backend: Backend) {
    let server = server(backend).await;
    let key = DpopKey::new();
    let tokens = spa_grant(&server, &key).await;
    assert_eq!(tokens["token_type"], "DPoP");
    let access = text(&tokens, "access_token");
    let url = server.at("/userinfo");
    let dpop = format!("DPoP {access}");

    let ok = userinfo(&server, &dpop, &[key.proof("GET", &url, Some(&access))]).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert!(ok.json["sub"].is_string());

    let challenge = |reply: &Reply| {
        reply
            .header("www-authenticate")
            .unwrap_or_default()
            .to_owned()
    };
    // The stolen token alone, as Bearer: refused, with a DPoP challenge.
    let as_bearer = userinfo(&server, &format!("Bearer {access}"), &[]).await;
    assert_refused(&as_bearer, 401, "invalid_token", "DPoP-bound");
    assert!(challenge(&as_bearer).starts_with("DPoP realm=\"ferrid\", error=\"invalid_token\""));
    assert!(challenge(&as_bearer).contains("algs=\"ES256 PS256 RS256 EdDSA\""));
    // Also as the form field of RFC 6750 §2.2.
    let in_body = Reply::from(
        http()
            .post(&url)
            .form(&[("access_token", access.as_str())])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&in_body, 401, "invalid_token", "DPoP-bound");

    let another = DpopKey::new();
    let cases = [
        (vec![], "required"),
        (vec![key.proof("GET", &url, None)], "ath is missing"),
        (
            vec![key.proof("GET", &url, Some("another-token"))],
            "ath is not",
        ),
        (vec![key.proof("POST", &url, Some(&access))], "htm `POST`"),
        (
            vec![key.proof("GET", &server.at("/token"), Some(&access))],
            "htu",
        ),
        (
            vec![another.proof("GET", &url, Some(&access))],
            "another key",
        ),
    ];
    for (proofs, reason) in cases {
        let reply = userinfo(&server, &dpop, &proofs).await;
        assert_refused(&reply, 401, "invalid_dpop_proof", reason);
        assert!(
            challenge(&reply).starts_with("DPoP realm=\"ferrid\", error=\"invalid_dpop_proof\""),
            "{}",
            challenge(&reply)
        );
    }
    // A captured proof is no good a second time.
    let proof = key.proof("GET", &url, Some(&access));
    assert_eq!(
        userinfo(&server, &dpop, std::slice::from_ref(&proof))
            .await
            .status,
        200
    );
    let replay = userinfo(&server, &dpop, &[proof]).await;
    assert_refused(&replay, 401, "invalid_dpop_proof", "already used");
    // A bearer token sent with the DPoP scheme is refused too.
    let bearer = client_credentials(&server, "svc", &[]).await;
    let bearer = text(&bearer.json, "access_token");
    let reply = userinfo(
        &server,
        &format!("DPoP {bearer}"),
        &[key.proof("GET", &url, Some(&bearer))],
    )
    .await;
    assert_refused(&reply, 401, "invalid_token", "not DPoP-bound");
    // Without any token, both schemes are offered.
    let none = Reply::from(http().get(&url).send().await.unwrap()).await;
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"ferrid\", DPoP realm=\"ferrid\", algs=\"ES256 PS256 RS256 EdDSA\"")
    );
}

async fn a_public_clients_refresh_token_is_bound_to_its_key(backend: Backend) {
    let server = server(backend).await;
    let key = DpopKey::new();
    let tokens = spa_grant(&server, &key).await;
    let refresh_token = text(&tokens, "refresh_token");
    let url = server.at("/token");

    let thief = DpopKey::new();
    let stolen = refresh_spa(&server, &refresh_token, &[thief.proof("POST", &url, None)]).await;
    assert_refused(&stolen, 400, "invalid_grant", "another DPoP key");
    let without = refresh_spa(&server, &refresh_token, &[]).await;
    assert_refused(&without, 400, "invalid_dpop_proof", "bound to a DPoP key");

    // The refused attempts rotated nothing: the client's own refresh still works.
    let reply = refresh_spa(&server, &refresh_token, &[key.proof("POST", &url, None)]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_eq!(reply.json["token_type"], "DPoP");
    let access = text(&reply.json, "access_token");
    assert_eq!(jwt_claims(&access)["cnf"]["jkt"], key.thumbprint());
    let next = text(&reply.json, "refresh_token");
    let stolen = refresh_spa(&server, &next, &[thief.proof("POST", &url, None)]).await;
    assert_refused(&stolen, 400, "invalid_grant", "another DPoP key");
}

async fn a_confidential_clients_refresh_token_stays_bound_to_its_credentials(backend: Backend) {
    let server = server(backend).await;
    let key = DpopKey::new();
    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid+offline_access&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = log_in(&server, &browser, browser.get(&url).await, "wonderland").await;
    let code = callback(&page)["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let proof = key.proof("POST", &server.at("/token"), None);
    let tokens = token(&server, Some(("app", "app-secret")), &form, &[proof]).await;
    assert_eq!(tokens.json["token_type"], "DPoP", "{}", tokens.json);
    // RFC 9449 §5: client authentication already binds it; a refresh without a proof gets a
    // bearer token, with one a DPoP-bound token.
    let refresh_token = text(&tokens.json, "refresh_token");
    assert!(introspect(&server, "app", &refresh_token)
        .await
        .get("cnf")
        .is_none());
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
    ];
    let plain = token(&server, Some(("app", "app-secret")), &form, &[]).await;
    assert_eq!(plain.status, 200, "{}", plain.json);
    assert_eq!(plain.json["token_type"], "Bearer");
}

async fn with_nonces_required_the_server_hands_them_out(backend: Backend) {
    let server = server_with(backend, |settings| settings.dpop.require_nonce = true).await;
    let key = DpopKey::new();
    let url = server.at("/token");
    let first = client_credentials(&server, "svc", &[key.proof("POST", &url, None)]).await;
    assert_refused(&first, 400, "use_dpop_nonce", "nonce");
    first.assert_error(400, "use_dpop_nonce");
    let nonce = first.header("dpop-nonce").expect("DPoP-Nonce").to_owned();
    let retry = client_credentials(
        &server,
        "svc",
        &[key.proof_with_nonce("POST", &url, &nonce)],
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.json);
    assert_eq!(retry.json["token_type"], "DPoP");
    assert!(
        retry.header("dpop-nonce").is_some(),
        "a fresh nonce for the next proof"
    );
    let forged = client_credentials(
        &server,
        "svc",
        &[key.proof_with_nonce("POST", &url, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")],
    )
    .await;
    assert_refused(&forged, 400, "use_dpop_nonce", "stale or unknown");

    // At userinfo the same, as 401 with a DPoP challenge.
    let tokens = spa_grant_with_nonce(&server, &key).await;
    let access = text(&tokens, "access_token");
    let userinfo_url = server.at("/userinfo");
    let reply = userinfo(
        &server,
        &format!("DPoP {access}"),
        &[key.proof("GET", &userinfo_url, Some(&access))],
    )
    .await;
    assert_refused(&reply, 401, "use_dpop_nonce", "nonce");
    assert!(reply
        .header("www-authenticate")
        .unwrap_or_default()
        .starts_with("DPoP realm=\"ferrid\", error=\"use_dpop_nonce\""));
    let nonce = reply.header("dpop-nonce").unwrap().to_owned();
    let proof = key.jws(
        &key.header(),
        &claims("GET", &userinfo_url, Some(&access), Some(&nonce)),
    );
    let reply = userinfo(&server, &format!("DPoP {access}"), &[proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
}

/// `spa_grant` against a server that requires nonces: the first redemption attempt is told the
/// nonce (and burns nothing: the code is still good).
async fn spa_grant_with_nonce(server: &TestServer, key: &DpopKey) -> Value {
    let browser = Browser::new();
    let url = format!(
        "{}?response_type=code&client_id=spa&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = log_in(server, &browser, browser.get(&url).await, "wonderland").await;
    let code = callback(&page)["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let token_url = server.at("/token");
    let first = token(server, None, &form, &[key.proof("POST", &token_url, None)]).await;
    assert_eq!(first.json["error"], "use_dpop_nonce", "{}", first.json);
    let nonce = first.header("dpop-nonce").unwrap().to_owned();
    let proof = key.proof_with_nonce("POST", &token_url, &nonce);
    let reply = token(server, None, &form, &[proof]).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    reply.json
}

for_each_backend!(
    a_proof_binds_the_access_token_to_its_key,
    proofs_that_do_not_match_the_request_are_refused,
    a_client_registered_for_dpop_must_send_proofs,
    userinfo_serves_a_bound_token_only_with_a_proof_by_its_key,
    a_public_clients_refresh_token_is_bound_to_its_key,
    a_confidential_clients_refresh_token_stays_bound_to_its_credentials,
    with_nonces_required_the_server_hands_them_out,
);
