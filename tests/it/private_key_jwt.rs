//! `private_key_jwt` client authentication (RFC 7523, OIDC Core §9) from outside: assertions of
//! each algorithm accepted at `/token`, `/introspect` and `/revoke` with the client's inline
//! `jwks`; every forged, stale, replayed or misaddressed assertion refused with `invalid_client`
//! naming the check (both stores: the `jti` replay cache is in the store); the one-method rule
//! both ways; registration through the admin API; a Redis outage. `keys` covers where the keys
//! come from (`jwks_uri` fetching, registration checks), `audience` the audience injection
//! attack and the `accept_endpoint_audience` switch.

mod audience;
mod keys;

use aws_lc_rs::hmac;
use ferrid::clock::Clock;
use ferrid::config::ClientConfig;
use serde_json::{json, Value};

use crate::common::client_keys::{self, claims, ClientKey, JWT_BEARER};
use crate::common::dpop::b64;
use crate::common::grants::text;
use crate::common::{http, service_client, Backend, Options, Reply, TestServer};

/// A client_credentials client authenticating with `private_key_jwt` and these keys.
fn pkjwt_client(id: &str, jwks: Option<Value>, jwks_uri: Option<String>) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        grant_types: vec!["client_credentials".into()],
        jwks,
        jwks_uri,
        ..ClientConfig::default()
    }
}

/// POSTs `form` plus the assertion to `path`.
async fn post_assertion(
    server: &TestServer,
    path: &str,
    assertion: &str,
    form: &[(&str, &str)],
) -> Reply {
    let mut form = form.to_vec();
    form.extend([
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]);
    let response = http()
        .post(server.at(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    Reply::from(response).await
}

async fn token(server: &TestServer, assertion: &str) -> Reply {
    post_assertion(
        server,
        "/token",
        assertion,
        &[("grant_type", "client_credentials")],
    )
    .await
}

fn assert_refused(reply: &Reply, status: u16, error: &str, says: &str) {
    reply.assert_error(status, error);
    let description = reply.json["error_description"].as_str().unwrap();
    assert!(
        description.contains(says),
        "expected `{says}` in: {description}"
    );
}

/// The keys of `inline`: one per algorithm family, each with a `kid`.
struct Keys {
    ec: ClientKey,
    rsa: ClientKey,
    ps: ClientKey,
    ed: ClientKey,
    /// The attacker's: registered for client `mallory`.
    mallory: ClientKey,
}

impl Keys {
    fn new() -> Self {
        Self {
            ec: ClientKey::es256(Some("ec-1")),
            rsa: ClientKey::rsa("RS256", Some("rsa-1")),
            ps: ClientKey::rsa("PS256", Some("rsa-1")),
            ed: ClientKey::eddsa(Some("ed-1")),
            mallory: ClientKey::es256(Some("ec-1")),
        }
    }
}

async fn inline_server(backend: Backend, keys: &Keys) -> TestServer {
    let clients = vec![
        pkjwt_client(
            "inline",
            Some(client_keys::jwks(&[&keys.ec, &keys.rsa, &keys.ed])),
            None,
        ),
        pkjwt_client("mallory", Some(client_keys::jwks(&[&keys.mallory])), None),
        service_client("secretive", &[]),
    ];
    TestServer::start(backend, clients).await
}

async fn every_algorithm_authenticates_at_every_endpoint(backend: Backend) {
    let keys = Keys::new();
    let server = inline_server(backend, &keys).await;
    let issuer = server.url.clone();
    for key in [&keys.ec, &keys.rsa, &keys.ps, &keys.ed] {
        let reply = token(&server, &key.assertion("inline", &issuer)).await;
        assert_eq!(reply.status, 200, "{}: {}", key.alg(), reply.json);
    }
    // An array holding the issuer alone is the same audience.
    let mut claims = claims("inline", &issuer);
    claims["aud"] = json!([issuer]);
    let reply = token(&server, &keys.ec.assertion_with(&claims)).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    // Without a kid, the keys whose type fits are tried.
    let no_kid = ClientKey::eddsa(None);
    let server2 = TestServer::start(
        backend,
        vec![pkjwt_client(
            "nokid",
            Some(client_keys::jwks(&[&keys.ec, &no_kid])),
            None,
        )],
    )
    .await;
    let reply = token(&server2, &no_kid.assertion("nokid", &server2.url)).await;
    assert_eq!(reply.status, 200, "{}", reply.json);

    let access = text(
        &token(&server, &keys.ec.assertion("inline", &issuer))
            .await
            .json,
        "access_token",
    );
    let introspected = post_assertion(
        &server,
        "/introspect",
        &keys.ec.assertion("inline", &issuer),
        &[("token", &access)],
    )
    .await;
    assert_eq!(introspected.status, 200, "{}", introspected.json);
    assert_eq!(introspected.json["active"], true);
    let revoked = post_assertion(
        &server,
        "/revoke",
        &keys.ed.assertion("inline", &issuer),
        &[("token", &access)],
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.json);
    let after = post_assertion(
        &server,
        "/introspect",
        &keys.ec.assertion("inline", &issuer),
        &[("token", &access)],
    )
    .await;
    assert_eq!(after.json["active"], false);
}

async fn every_forged_assertion_is_refused(backend: Backend) {
    let keys = Keys::new();
    let server = inline_server(backend, &keys).await;
    let issuer = server.url.clone();
    let now = ferrid::clock::SystemClock.now_secs();
    let honest = || claims("inline", &issuer);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = honest();
        change(&mut claims);
        keys.ec.assertion_with(&claims)
    };
    let header_b64 = |header: Value| b64(header.to_string().as_bytes());
    let payload = b64(honest().to_string().as_bytes());
    // RFC 8725 §2.1: `none`, and HS256 keyed with the client's public key (the key-confusion
    // attack).
    let unsigned = format!("{}.{payload}.", header_b64(json!({"alg": "none"})));
    let hs_input = format!(
        "{}.{payload}",
        header_b64(json!({"alg": "HS256", "kid": "rsa-1"}))
    );
    let hs_key = hmac::Key::new(hmac::HMAC_SHA256, keys.rsa.jwk().to_string().as_bytes());
    let hs256 = format!(
        "{hs_input}.{}",
        b64(hmac::sign(&hs_key, hs_input.as_bytes()).as_ref())
    );
    let stranger = ClientKey::es256(Some("ec-1"));
    let unknown_kid = ClientKey::es256(Some("ec-9"));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            with(&|c| {
                c["iat"] = json!(now - 300);
                c["exp"] = json!(now - 120);
            }),
            "client assertion expired",
        ),
        (
            "exp too far",
            with(&|c| c["exp"] = json!(now + 3600)),
            "seconds ahead",
        ),
        (
            "no exp",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
            "exp is missing",
        ),
        (
            "no jti",
            with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti is missing",
        ),
        (
            "nbf ahead",
            with(&|c| c["nbf"] = json!(now + 120)),
            "not valid yet",
        ),
        (
            "iat ahead",
            with(&|c| c["iat"] = json!(now + 120)),
            "iat is in the future",
        ),
        (
            "another server",
            with(&|c| c["aud"] = json!("https://other-server.example.com")),
            "client assertion audience",
        ),
        (
            "no aud",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
            "client assertion audience",
        ),
        (
            "iss is not sub",
            with(&|c| c["iss"] = json!("mallory")),
            "iss/sub must be the client id",
        ),
        (
            "sub another client, signed by mallory's registered key",
            keys.mallory.assertion("inline", &issuer),
            "client assertion signature",
        ),
        (
            "a key not in the JWKS under a registered kid",
            stranger.assertion("inline", &issuer),
            "client assertion signature",
        ),
        (
            "unknown kid",
            unknown_kid.assertion("inline", &issuer),
            "no key with kid `ec-9` in the client's JWKS",
        ),
        ("alg none", unsigned, "alg `none` is not allowed"),
        (
            "HS256 with the public key",
            hs256,
            "alg `HS256` is not allowed",
        ),
        (
            "the key's type does not fit the alg",
            keys.ec
                .jws(&json!({"alg": "RS256", "kid": "ec-1"}), &honest()),
            "not usable for RS256",
        ),
        ("not a JWT", "abc.def".into(), "compact JWS"),
        (
            "no such client",
            keys.ec.assertion("nobody", &issuer),
            "no client is registered as `nobody`",
        ),
    ];
    for (name, assertion, says) in cases {
        let reply = token(&server, &assertion).await;
        reply.assert_error(401, "invalid_client");
        let description = reply.json["error_description"].as_str().unwrap();
        assert!(description.contains(says), "{name}: {description}");
    }
    // client_id beside the assertion must be its sub.
    let reply = post_assertion(
        &server,
        "/token",
        &keys.ec.assertion("inline", &issuer),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "mallory"),
        ],
    )
    .await;
    assert_refused(
        &reply,
        401,
        "invalid_client",
        "iss/sub must be the client id",
    );
    // The assertion type is checked, and goes with the assertion.
    let wrong_type = Reply::from(
        http()
            .post(server.at("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", &keys.ec.assertion("inline", &issuer)),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&wrong_type, 401, "invalid_client", "is not supported");
    let no_type = Reply::from(
        http()
            .post(server.at("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion", &keys.ec.assertion("inline", &issuer)),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&no_type, 400, "invalid_request", "go together");
}

async fn a_replayed_assertion_is_refused(backend: Backend) {
    let keys = Keys::new();
    let server = inline_server(backend, &keys).await;
    let assertion = keys.ec.assertion("inline", &server.url);
    assert_eq!(token(&server, &assertion).await.status, 200);
    let replayed = token(&server, &assertion).await;
    assert_refused(
        &replayed,
        401,
        "invalid_client",
        "client assertion jti already used",
    );
    // At another endpoint too: the jti is the client's, not the endpoint's.
    let elsewhere = post_assertion(&server, "/revoke", &assertion, &[("token", "x")]).await;
    assert_refused(&elsewhere, 401, "invalid_client", "jti already used");
    // Another client may use the same jti.
    let mut claims = claims("mallory", &server.url);
    claims["jti"] = client_keys::claims("x", "y")["jti"].clone();
    let first = token(&server, &keys.mallory.assertion_with(&claims)).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let mut inline_claims = client_keys::claims("inline", &server.url);
    inline_claims["jti"] = claims["jti"].clone();
    let same_jti = token(&server, &keys.ec.assertion_with(&inline_claims)).await;
    assert_eq!(same_jti.status, 200, "{}", same_jti.json);
}

async fn one_method_per_request_and_the_registered_one(backend: Backend) {
    let keys = Keys::new();
    let server = inline_server(backend, &keys).await;
    let issuer = server.url.clone();
    // An assertion and a secret together.
    let with_basic = Reply::from(
        http()
            .post(server.at("/token"))
            .basic_auth("inline", Some("whatever"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &keys.ec.assertion("inline", &issuer)),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&with_basic, 400, "invalid_request", "exactly one");
    let with_post = post_assertion(
        &server,
        "/token",
        &keys.ec.assertion("inline", &issuer),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "inline"),
            ("client_secret", "whatever"),
        ],
    )
    .await;
    assert_refused(&with_post, 400, "invalid_request", "exactly one");
    // A private_key_jwt client sending a secret, or nothing.
    let secret = Reply::from(
        http()
            .post(server.at("/token"))
            .basic_auth("inline", Some("guess"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(
        &secret,
        401,
        "invalid_client",
        "client_secret_basic was used but the client is registered for private_key_jwt",
    );
    let bare = Reply::from(
        http()
            .post(server.at("/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "inline"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&bare, 401, "invalid_client", "no client assertion was sent");
    // A secret client sending an assertion (signed by any key: the method is refused first).
    let reverse = token(&server, &keys.ec.assertion("secretive", &issuer)).await;
    assert_refused(
        &reverse,
        401,
        "invalid_client",
        "private_key_jwt was used but the client is registered for client_secret_basic",
    );
}

for_each_backend!(
    every_algorithm_authenticates_at_every_endpoint,
    every_forged_assertion_is_refused,
    a_replayed_assertion_is_refused,
    one_method_per_request_and_the_registered_one,
    the_admin_api_registers_a_private_key_jwt_client_without_a_secret,
);

async fn the_admin_api_registers_a_private_key_jwt_client_without_a_secret(backend: Backend) {
    let server = crate::common::admin::server(backend, vec![]).await;
    let admin = crate::common::admin::Admin::new(&server).await;
    let key = ClientKey::es256(Some("k1"));
    let created = admin
        .post(
            "/admin/clients",
            json!({
                "client_id": "signed",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": client_keys::jwks(&[&key]),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert!(
        created.json.get("client_secret").is_none(),
        "{}",
        created.json
    );
    let reply = token(&server, &key.assertion("signed", &server.url)).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    // A private key, or a plain-http jwks_uri on another host, is refused naming the field.
    let mut private = key.jwk();
    private["d"] = json!("c2VjcmV0");
    for (body, field) in [
        (json!({"jwks": {"keys": [private]}}), "jwks"),
        (
            json!({"jwks_uri": "http://keys.example.com/jwks.json"}),
            "jwks_uri",
        ),
    ] {
        let mut registration = json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
        });
        for (name, value) in body.as_object().unwrap() {
            registration[name] = value.clone();
        }
        let refused = admin.post("/admin/clients", registration).await;
        assert_eq!(refused.status, 400, "{}", refused.json);
        let description = refused.json["error_description"]
            .as_str()
            .unwrap_or_default();
        assert!(description.contains(field), "{}", refused.json);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_answers_503_not_a_verdict_on_the_assertion() {
    let redis = crate::common::RedisServer::start();
    let key = ClientKey::es256(Some("k1"));
    let options = Options {
        redis: Some(crate::common::RedisTarget {
            url: redis.url(),
            prefix: "ferrid-pkjwt-outage:".into(),
        }),
        ..Options::new(Backend::Redis).clients(vec![pkjwt_client(
            "signed",
            Some(client_keys::jwks(&[&key])),
            None,
        )])
    };
    let server = TestServer::start_with(options, |_| {}).await;
    assert_eq!(
        token(&server, &key.assertion("signed", &server.url))
            .await
            .status,
        200
    );
    redis.pause();
    let reply = token(&server, &key.assertion("signed", &server.url)).await;
    reply.assert_error(503, "temporarily_unavailable");
    redis.resume();
}
