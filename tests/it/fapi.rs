//! The FAPI 2.0 profile switch on both stores. A `profile = "fapi2"` client runs the whole flow
//! the way a client library does — discovery, PKCE, PAR authenticated with `private_key_jwt`,
//! the browser with only `client_id` and `request_uri`, the code redeemed with a DPoP proof and
//! a fresh client assertion, `/userinfo` with DPoP, a refresh with DPoP and an assertion — and
//! is refused every shortcut: the front channel, no PKCE, no DPoP, a client secret. A config
//! that contradicts the profile is refused at start-up, naming the field.

use ferrid::config::{ClientConfig, Settings};
use oauth2::PkceCodeChallenge;
use serde_json::Value;

use crate::common::browser::{callback, log_in, Browser, CALLBACK};
use crate::common::client_keys::{self, ClientKey, JWT_BEARER};
use crate::common::dpop::{jwt_claims, DpopKey};
use crate::common::grants::{alice, text, CHALLENGE};
use crate::common::{http, Backend, Options, Reply, TestServer};

/// The bank's signing key (ES256, `kid` `bank-1`).
fn bank_key() -> ClientKey {
    ClientKey::es256(Some("bank-1"))
}

fn bank(key: &ClientKey) -> ClientConfig {
    ClientConfig {
        id: "bank".into(),
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        jwks: Some(client_keys::jwks(&[key])),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        scopes: ["openid", "profile", "offline_access"]
            .map(String::from)
            .to_vec(),
        redirect_uris: vec![CALLBACK.into()],
        skip_consent: true,
        profile: Some("fapi2".into()),
        ..ClientConfig::default()
    }
}

async fn server(backend: Backend, key: &ClientKey) -> TestServer {
    TestServer::start_with(Options::new(backend).clients(vec![bank(key)]), |settings| {
        settings.users = vec![alice()]
    })
    .await
}

async fn get_json(url: &str) -> Value {
    let reply = Reply::from(http().get(url).send().await.unwrap()).await;
    assert_eq!(reply.status, 200, "{url}: {}", reply.json);
    reply.json
}

/// POSTs `form` to `url` as the bank — a fresh `private_key_jwt` assertion for the issuer
/// `aud` — with a DPoP proof if given.
async fn post(
    url: &str,
    key: &ClientKey,
    aud: &str,
    form: &[(&str, &str)],
    proof: Option<String>,
) -> Reply {
    let assertion = key.assertion("bank", aud);
    let mut form = form.to_vec();
    form.extend([
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion.as_str()),
    ]);
    let mut request = http().post(url).form(&form);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    Reply::from(request.send().await.unwrap()).await
}

async fn userinfo(url: &str, key: &DpopKey, access: &str) -> Reply {
    let response = http()
        .get(url)
        .header("Authorization", format!("DPoP {access}"))
        .header("DPoP", key.proof("GET", url, Some(access)))
        .send()
        .await
        .unwrap();
    Reply::from(response).await
}

async fn the_fapi2_flow_runs_as_a_client_library_runs_it(backend: Backend) {
    let bank_key = bank_key();
    let server = server(backend, &bank_key).await;
    let metadata = get_json(&server.at("/.well-known/openid-configuration")).await;
    let issuer = text(&metadata, "issuer");
    let par_endpoint = text(&metadata, "pushed_authorization_request_endpoint");
    let token_endpoint = text(&metadata, "token_endpoint");
    let userinfo_endpoint = text(&metadata, "userinfo_endpoint");
    assert!(metadata["dpop_signing_alg_values_supported"]
        .as_array()
        .unwrap()
        .contains(&"ES256".into()));
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    for (field, value) in [
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
        ("token_endpoint_auth_signing_alg_values_supported", "ES256"),
    ] {
        assert!(
            metadata[field].as_array().unwrap().contains(&value.into()),
            "{field}: {}",
            metadata[field]
        );
    }
    let key = DpopKey::new();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();

    // 1. Push the request.
    let pushed = post(
        &par_endpoint,
        &bank_key,
        &issuer,
        &[
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid profile offline_access"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
        None,
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", pushed.json);

    // 2. The browser carries only client_id and request_uri.
    let mut authorize = url::Url::parse(&text(&metadata, "authorization_endpoint")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", "bank")
        .append_pair("request_uri", &text(&pushed.json, "request_uri"));
    let browser = Browser::new();
    let page = browser.get(authorize.as_str()).await;
    let page = log_in(&server, &browser, page, "wonderland").await;
    let response = callback(&page);
    assert_eq!(response["state"], "st-1");
    assert_eq!(response["iss"], issuer, "RFC 9207: the client checks iss");

    // 3. Redeem the code with a DPoP proof.
    let tokens = post(
        &token_endpoint,
        &bank_key,
        &issuer,
        &[
            ("grant_type", "authorization_code"),
            ("code", response["code"].as_str()),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier.secret()),
        ],
        Some(key.proof("POST", &token_endpoint, None)),
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.json);
    assert_eq!(tokens.json["token_type"], "DPoP");
    let access = text(&tokens.json, "access_token");
    assert_eq!(jwt_claims(&access)["cnf"]["jkt"], key.thumbprint());
    assert_eq!(jwt_claims(&text(&tokens.json, "id_token"))["nonce"], "n-1");

    // 4. Userinfo with the DPoP-bound token and a proof over it.
    let claims = userinfo(&userinfo_endpoint, &key, &access).await;
    assert_eq!(claims.status, 200, "{}", claims.json);
    assert_eq!(claims.json["preferred_username"], "alice");

    // 5. Refresh with a proof: a new DPoP-bound access token and a rotated refresh token.
    let refresh_token = text(&tokens.json, "refresh_token");
    let refreshed = post(
        &token_endpoint,
        &bank_key,
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ],
        Some(key.proof("POST", &token_endpoint, None)),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert_eq!(refreshed.json["token_type"], "DPoP");
    assert_ne!(text(&refreshed.json, "refresh_token"), refresh_token);
    let access = text(&refreshed.json, "access_token");
    assert_eq!(
        userinfo(&userinfo_endpoint, &key, &access).await.status,
        200
    );
}

async fn a_fapi2_client_is_refused_every_shortcut(backend: Backend) {
    let key = bank_key();
    let server = server(backend, &key).await;
    let issuer = server.url.clone();
    // The front channel.
    let front = format!(
        "{}?response_type=code&client_id=bank&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let refused = callback(&Browser::new().get(&front).await);
    assert_eq!(refused["error"], "invalid_request");
    assert!(refused["error_description"].contains("push"), "{refused:?}");
    // No PKCE, though confidential.
    let pushed = post(
        &server.at("/par"),
        &key,
        &issuer,
        &[
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
        ],
        None,
    )
    .await;
    pushed.assert_error(400, "invalid_request");
    assert!(pushed.json["error_description"]
        .as_str()
        .unwrap()
        .contains("FAPI 2.0 clients must use PKCE"));
    // No DPoP at the token endpoint (refused before the code is looked at).
    let token = post(
        &server.at("/token"),
        &key,
        &issuer,
        &[("grant_type", "authorization_code"), ("code", "x")],
        None,
    )
    .await;
    token.assert_error(400, "invalid_dpop_proof");
    // A client secret instead of an assertion: the bank has none, and may use none.
    let secret = Reply::from(
        http()
            .post(server.at("/token"))
            .basic_auth("bank", Some("guessed"))
            .form(&[("grant_type", "authorization_code"), ("code", "x")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    secret.assert_error(401, "invalid_client");
    assert!(secret.json["error_description"]
        .as_str()
        .unwrap()
        .contains("registered for private_key_jwt"));
}

/// A change to the FAPI client's config entry.
type Change = fn(&mut ClientConfig);

#[test]
fn a_config_contradicting_the_profile_is_refused_naming_the_field() {
    let cases: [(Change, &str); 5] = [
        (
            |c| c.dpop_bound_access_tokens = Some(false),
            "clients[0].dpop_bound_access_tokens",
        ),
        (
            |c| c.require_pushed_authorization_requests = Some(false),
            "clients[0].require_pushed_authorization_requests",
        ),
        (
            |c| c.refresh_token_rotation = Some("reuse".into()),
            "clients[0].refresh_token_rotation",
        ),
        (
            |c| {
                c.public = true;
                c.token_endpoint_auth_method = None;
            },
            // A public client's config becomes `token_endpoint_auth_method = "none"`.
            "clients[0].token_endpoint_auth_method",
        ),
        (
            // FAPI 2.0 §5.3.1.1: no shared secrets.
            |c| {
                c.token_endpoint_auth_method = Some("client_secret_basic".into());
                c.secret = Some("bank-secret".to_owned().into());
            },
            "clients[0].token_endpoint_auth_method",
        ),
    ];
    let key = bank_key();
    for (change, field) in cases {
        let mut client = bank(&key);
        change(&mut client);
        let settings = Settings {
            clients: vec![client],
            ..Settings::default()
        };
        let err = settings.validate().unwrap_err();
        assert_eq!(err.key, field, "{err}");
        assert!(err.message.contains("fapi2"), "{err}");
    }
}

for_each_backend!(
    the_fapi2_flow_runs_as_a_client_library_runs_it,
    a_fapi2_client_is_refused_every_shortcut,
);
