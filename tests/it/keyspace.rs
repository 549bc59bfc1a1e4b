//! The store key layout as an operator sees it in Redis (README, "Store key layout"): after a
//! grant, a refresh and a revocation, every key ferrid wrote is one of the documented kinds,
//! carries a non-empty hash tag, expires unless its record is permanent, and holds no token or
//! cookie value.

use std::collections::BTreeSet;

use ferrid::store::keyspace::KEY_RING;

use crate::common::browser::{Browser, CALLBACK};
use crate::common::dpop::DpopKey;
use crate::common::grants::{grant, refresh, revoke, server, text};
use crate::common::{http, Backend, Reply};

/// Kinds whose records never expire.
const PERMANENT: &[&str] = &[
    "client",
    "clients",
    "cors-origins",
    "user",
    "users",
    "username",
    "provisioned",
];
/// Every kind the README lists.
const DOCUMENTED: &[&str] = &[
    "client",
    "clients",
    "cors-origins",
    "client-codes",
    "client-families",
    "user",
    "users",
    "username",
    "user-sessions",
    "user-families",
    "provisioned",
    "keys",
    "code",
    "refresh",
    "refresh-family",
    "session",
    "session-families",
    "consent",
    "interaction",
    "interactions",
    "login-failures",
    "revoked-jti",
    "dpop-jti",
    "assertion-jti",
    "par",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_follows_the_documented_layout() {
    let server = server(Backend::Redis).await;
    let target = server.redis.as_ref().unwrap();
    let browser = Browser::new();
    let tokens = grant(&server, &browser, "app", "openid offline_access").await;
    let first_refresh = text(&tokens, "refresh_token");
    let rotated = refresh(&server, "app", &first_refresh, None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    // A DPoP proof leaves its replay marker.
    let middle = text(&rotated.json, "refresh_token");
    let proof = DpopKey::new().proof("POST", &server.at("/token"), None);
    let with_proof = http()
        .post(server.at("/token"))
        .basic_auth("app", Some("app-secret"))
        .header("DPoP", proof)
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", middle.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(with_proof.status(), 200);
    let rotated = Reply::from(with_proof).await;
    // A pushed authorization request waits under its request_uri's digest.
    let pushed = http()
        .post(server.at("/par"))
        .basic_auth("app", Some("app-secret"))
        .form(&[
            ("response_type", "code"),
            ("redirect_uri", CALLBACK),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    let pushed = Reply::from(pushed).await;
    assert_eq!(pushed.status, 201, "{}", pushed.json);
    let access = text(&rotated.json, "access_token");
    revoke(&server, "app", &access, Some("access_token")).await;
    // A second grant, revoked: its family's revocation marker.
    let second = grant(&server, &browser, "app", "openid offline_access").await;
    revoke(
        &server,
        "app",
        &text(&second, "refresh_token"),
        Some("refresh_token"),
    )
    .await;
    let mut secrets = vec![
        first_refresh,
        middle,
        text(&rotated.json, "refresh_token"),
        text(&pushed.json, "request_uri"),
    ];
    secrets.extend(
        browser
            .cookie_header()
            .split("; ")
            .filter_map(|pair| pair.split_once('=').map(|(_, value)| value.to_owned())),
    );

    let client = redis::Client::open(target.url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", target.prefix))
        .query_async(&mut connection)
        .await
        .unwrap();
    let mut kinds = BTreeSet::new();
    for key in &keys {
        let name = key.strip_prefix(&target.prefix).unwrap();
        let kind = name.split(':').next().unwrap();
        assert!(DOCUMENTED.contains(&kind), "undocumented key {name}");
        kinds.insert(kind.to_owned());
        let tag = name
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(tag, _)| tag);
        assert!(
            tag.is_some_and(|tag| !tag.is_empty()),
            "no hash tag: {name}"
        );
        for secret in &secrets {
            assert!(!name.contains(secret.as_str()), "{name} holds a secret");
        }
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        if PERMANENT.contains(&kind) || name == KEY_RING {
            assert_eq!(ttl, -1, "{name} must not expire");
        } else {
            assert!(ttl > 0, "{name} must expire (PTTL {ttl})");
        }
    }
    assert!(
        keys.iter().any(|key| key.ends_with(":revoked")),
        "no family revocation marker in {keys:?}"
    );
    for expected in [
        "client",
        "clients",
        "client-codes",
        "client-families",
        "user",
        "users",
        "username",
        "user-sessions",
        "user-families",
        "provisioned",
        "keys",
        "code",
        "refresh",
        "refresh-family",
        "session",
        "session-families",
        "revoked-jti",
        "dpop-jti",
        "par",
    ] {
        assert!(kinds.contains(expected), "no {expected} key in {keys:?}");
    }
}
