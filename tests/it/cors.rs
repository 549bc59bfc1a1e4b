//! CORS for browser apps: discovery and the JWKS answer any origin; `/token`, `/revoke`,
//! `/userinfo` and registration answer a preflight only from an origin some client registered, and let an origin
//! read an answer only when it is registered for the client the request speaks for. Over plain
//! HTTP for every rule and each refusal, on both stores (with origins added and removed at
//! runtime through the admin API). The same in a real browser: `cors_browser`.

use ferrid::config::RegistrationMode;
use oauth2::reqwest::{Method, RequestBuilder};
use serde_json::json;

use crate::common::admin::{self, Admin};
use crate::common::code_flow::spa;
use crate::common::{
    http, service_client, Backend, Options, RedisServer, RedisTarget, Reply, TestServer,
};

const APP: &str = "https://app.example.com";
const SERVICE: &str = "https://service.example.com";
const OTHER: &str = "https://other.example.com";
const STRANGER: &str = "https://stranger.example.com";

/// The admin server with `spa` (public, origin `APP`), `svc` and `svc2` (client credentials,
/// origins `SERVICE` and `OTHER`).
async fn server(backend: Backend) -> TestServer {
    let mut app = spa("spa");
    app.allowed_cors_origins = vec![APP.into()];
    let mut service = service_client("svc-a", &["read"]);
    service.allowed_cors_origins = vec![SERVICE.into()];
    let mut other = service_client("svc-b", &["read"]);
    other.allowed_cors_origins = vec![OTHER.into()];
    admin::server(backend, vec![app, service, other]).await
}

async fn send(request: RequestBuilder, origin: Option<&str>) -> Reply {
    let request = match origin {
        Some(origin) => request.header("origin", origin),
        None => request,
    };
    Reply::from(request.send().await.unwrap()).await
}

/// A CORS preflight for `method` on `path` from `origin`.
async fn preflight(server: &TestServer, path: &str, origin: &str, method: &str) -> Reply {
    let request = http()
        .request(Method::OPTIONS, server.at(path))
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "authorization,dpop");
    send(request, Some(origin)).await
}

fn assert_no_cors(reply: &Reply, what: &str) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-expose-headers",
        "access-control-allow-credentials",
    ] {
        assert_eq!(reply.header(name), None, "{what}: {name}");
    }
}

fn assert_varies_by_origin(reply: &Reply, what: &str) {
    let vary: Vec<&str> = reply
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    assert!(
        vary.iter()
            .any(|value| value.split(',').any(|v| v.trim() == "Origin")),
        "{what}: Vary {vary:?}"
    );
}

fn assert_readable_by(reply: &Reply, origin: &str, what: &str) {
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some(origin),
        "{what}"
    );
    assert_eq!(
        reply.header("access-control-expose-headers"),
        Some("DPoP-Nonce, WWW-Authenticate"),
        "{what}"
    );
    assert_eq!(reply.header("access-control-allow-credentials"), None);
    assert_varies_by_origin(reply, what);
}

async fn preflights_are_answered_only_for_registered_origins(backend: Backend) {
    let server = server(backend).await;
    for (path, methods) in [
        ("/token", "POST"),
        ("/revoke", "POST"),
        ("/userinfo", "GET, POST"),
    ] {
        for origin in [APP, SERVICE] {
            let allowed = preflight(&server, path, origin, "POST").await;
            assert_eq!(allowed.status, 204, "{path} {origin}");
            assert_eq!(
                allowed.header("access-control-allow-origin"),
                Some(origin),
                "{path}"
            );
            assert_eq!(
                allowed.header("access-control-allow-methods"),
                Some(methods)
            );
            assert_eq!(
                allowed.header("access-control-allow-headers"),
                Some("Authorization, Content-Type, DPoP")
            );
            assert_eq!(allowed.header("access-control-max-age"), Some("600"));
            assert_eq!(allowed.header("access-control-allow-credentials"), None);
            assert_varies_by_origin(&allowed, path);
        }
        // Attacker side: an origin no client registered, a look-alike, a method the endpoint
        // does not serve.
        for (origin, method) in [
            (STRANGER, "POST"),
            ("https://app.example.com.stranger.example.com", "POST"),
            ("http://app.example.com", "POST"),
            ("null", "POST"),
            (APP, "DELETE"),
        ] {
            let refused = preflight(&server, path, origin, method).await;
            assert_eq!(refused.status, 204, "{path} {origin} {method}");
            assert_no_cors(&refused, &format!("{path} {origin} {method}"));
            assert_varies_by_origin(&refused, path);
        }
    }
    // Introspection is for resource servers, never for browsers.
    let introspect = preflight(&server, "/introspect", APP, "POST").await;
    assert_no_cors(&introspect, "/introspect");
}

async fn origins_follow_clients_changed_at_runtime(backend: Backend) {
    let server = server(backend).await;
    let admin = Admin::new(&server).await;
    let new = "https://new.example.com";
    let moved = "https://moved.example.com";
    assert_no_cors(&preflight(&server, "/token", new, "POST").await, "before");

    let created = admin
        .post(
            "/admin/clients",
            json!({"client_id": "runtime", "grant_types": ["client_credentials"], "scope": "read",
                   "allowed_cors_origins": [new]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let secret = created.json["client_secret"].as_str().unwrap().to_owned();
    let allowed = preflight(&server, "/token", new, "POST").await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some(new));
    let issued = send(
        http()
            .post(server.at("/token"))
            .basic_auth("runtime", Some(&secret))
            .form(&[("grant_type", "client_credentials")]),
        Some(new),
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    assert_readable_by(&issued, new, "a client created at runtime");

    let replaced = admin
        .put(
            "/admin/clients/runtime",
            json!({"grant_types": ["client_credentials"], "scope": "read",
                   "allowed_cors_origins": [moved]}),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    assert_no_cors(
        &preflight(&server, "/token", new, "POST").await,
        "the dropped origin",
    );
    let allowed = preflight(&server, "/token", moved, "POST").await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some(moved));

    // Another client keeps an origin a deleted client shared with it.
    let shared = admin
        .post(
            "/admin/clients",
            json!({"client_id": "sharing", "grant_types": ["client_credentials"],
                   "scope": "read", "allowed_cors_origins": [moved, APP]}),
        )
        .await;
    assert_eq!(shared.status, 201, "{}", shared.json);
    let deleted = admin.delete("/admin/clients/runtime").await;
    assert_eq!(deleted.status, 200, "{}", deleted.json);
    let kept = preflight(&server, "/token", moved, "POST").await;
    assert_eq!(kept.header("access-control-allow-origin"), Some(moved));
    assert_eq!(admin.delete("/admin/clients/sharing").await.status, 200);
    assert_no_cors(
        &preflight(&server, "/token", moved, "POST").await,
        "no client has it any more",
    );
    let app = preflight(&server, "/token", APP, "POST").await;
    assert_eq!(app.header("access-control-allow-origin"), Some(APP), "spa");
}

async fn token_answers_are_readable_only_by_the_clients_own_origins(backend: Backend) {
    let server = server(backend).await;
    let token = |basic: (&str, &str), form: &[(&str, &str)]| {
        http()
            .post(server.at("/token"))
            .basic_auth(basic.0, Some(basic.1))
            .form(form)
    };
    let grant = [("grant_type", "client_credentials")];
    let svc = ("svc-a", "svc-a-secret");

    let issued = send(token(svc, &grant), Some(SERVICE)).await;
    assert_eq!(issued.status, 200, "{}", issued.json);
    assert_readable_by(&issued, SERVICE, "tokens for the client's origin");
    // An error for an identified client is readable by its origin too.
    let bad_scope = send(token(svc, &[grant[0], ("scope", "write")]), Some(SERVICE)).await;
    bad_scope.assert_error(400, "invalid_scope");
    assert_readable_by(&bad_scope, SERVICE, "invalid_scope");

    // Attacker side: an origin registered for another client, an unregistered origin, a client
    // that failed authentication, an unknown client.
    for (reply, what) in [
        (
            send(token(svc, &grant), Some(OTHER)).await,
            "another client's origin",
        ),
        (
            send(token(svc, &grant), Some(APP)).await,
            "another client's origin",
        ),
        (
            send(token(svc, &grant), Some(STRANGER)).await,
            "an unregistered origin",
        ),
        (
            send(token(("svc-a", "wrong"), &grant), Some(SERVICE)).await,
            "a wrong secret",
        ),
        (
            send(token(("ghost", "x"), &grant), Some(SERVICE)).await,
            "an unknown client",
        ),
    ] {
        assert_no_cors(&reply, what);
        assert_varies_by_origin(&reply, what);
    }
    // Without an Origin: as ever, and still `Vary: Origin` for caches.
    let plain = send(token(svc, &grant), None).await;
    assert_eq!(plain.status, 200);
    assert_no_cors(&plain, "no Origin");
    assert_varies_by_origin(&plain, "no Origin");

    // A public client named in the body: its origin reads invalid_grant; another's does not.
    let redeem = [
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", "not-a-code"),
        ("redirect_uri", crate::common::browser::CALLBACK),
        ("code_verifier", crate::common::grants::VERIFIER),
    ];
    let readable = send(http().post(server.at("/token")).form(&redeem), Some(APP)).await;
    readable.assert_error(400, "invalid_grant");
    assert_readable_by(&readable, APP, "invalid_grant for the public client");
    let hidden = send(
        http().post(server.at("/token")).form(&redeem),
        Some(SERVICE),
    )
    .await;
    hidden.assert_error(400, "invalid_grant");
    assert_no_cors(&hidden, "invalid_grant read from another client's origin");

    // Revocation follows the same rule.
    let revoke = |origin| {
        send(
            http()
                .post(server.at("/revoke"))
                .basic_auth("svc-a", Some("svc-a-secret"))
                .form(&[("token", "whatever")]),
            Some(origin),
        )
    };
    let revoked = revoke(SERVICE).await;
    assert_eq!(revoked.status, 200);
    assert_readable_by(&revoked, SERVICE, "/revoke");
    assert_no_cors(&revoke(OTHER).await, "/revoke from another client's origin");
}

async fn userinfo_answers_follow_the_tokens_client(backend: Backend) {
    let server = server(backend).await;
    let token = admin::token(&server, "svc-a").await;
    let userinfo = |token: &str, origin| {
        send(
            http().get(server.at("/userinfo")).bearer_auth(token),
            Some(origin),
        )
    };
    // The token has no `openid`: the error, with its challenge, is readable by the client's
    // origin.
    let readable = userinfo(&token, SERVICE).await;
    assert_eq!(readable.status, 403, "{}", readable.json);
    assert_readable_by(&readable, SERVICE, "/userinfo for the token's client");
    assert!(readable.header("www-authenticate").is_some());
    let in_body = send(
        http()
            .post(server.at("/userinfo"))
            .form(&[("access_token", token.as_str())]),
        Some(SERVICE),
    )
    .await;
    assert_readable_by(&in_body, SERVICE, "the token in the body");

    // Attacker side: the token presented from another client's origin; a forged token.
    assert_no_cors(&userinfo(&token, OTHER).await, "another client's origin");
    let mut forged = token.clone();
    forged.push('x');
    assert_no_cors(
        &userinfo(&forged, SERVICE).await,
        "a token that does not verify",
    );
    let none = send(http().get(server.at("/userinfo")), Some(SERVICE)).await;
    assert_eq!(none.status, 401);
    assert_no_cors(&none, "no token");
    assert_varies_by_origin(&none, "no token");
}

async fn an_expired_tokens_challenge_is_readable_by_its_clients_origin(backend: Backend) {
    let clock = crate::common::grants::now_clock();
    let mut service = service_client("svc-a", &["read"]);
    service.allowed_cors_origins = vec![SERVICE.into()];
    let options = Options {
        clock: Some(clock.clone()),
        ..Options::new(backend).clients(vec![service])
    };
    let server = TestServer::start_with(options, |_| {}).await;
    let token = admin::token(&server, "svc-a").await;
    clock.advance(std::time::Duration::from_secs(3600));
    let expired = send(
        http().get(server.at("/userinfo")).bearer_auth(&token),
        Some(SERVICE),
    )
    .await;
    assert_eq!(expired.status, 401, "{}", expired.json);
    assert_eq!(expired.json["error"], "invalid_token");
    assert!(expired
        .header("www-authenticate")
        .is_some_and(|challenge| challenge.contains("invalid_token")));
    assert_readable_by(&expired, SERVICE, "an expired token's challenge");
}

async fn discovery_and_jwks_answer_any_origin(backend: Backend) {
    let server = TestServer::start(backend, vec![]).await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        for origin in [Some(STRANGER), None] {
            let reply = send(http().get(server.at(path)), origin).await;
            assert_eq!(reply.status, 200, "{path}");
            assert_eq!(
                reply.header("access-control-allow-origin"),
                Some("*"),
                "{path}"
            );
            assert_eq!(reply.header("access-control-allow-credentials"), None);
        }
        let pre = preflight(&server, path, STRANGER, "GET").await;
        assert_eq!(pre.status, 204, "{path}");
        assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
        assert_eq!(pre.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(pre.header("access-control-allow-credentials"), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_gives_503_to_preflights_and_no_cors_header() {
    let redis = RedisServer::start();
    let mut service = service_client("svc-a", &["read"]);
    service.allowed_cors_origins = vec![SERVICE.into()];
    let options = Options {
        redis: Some(RedisTarget {
            url: redis.url(),
            prefix: "ferrid-cors-outage:".into(),
        }),
        ..Options::new(Backend::Redis).clients(vec![service])
    };
    let server = TestServer::start_with(options, |_| {}).await;
    let allowed = preflight(&server, "/token", SERVICE, "POST").await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some(SERVICE));

    redis.pause();
    let unavailable = preflight(&server, "/token", SERVICE, "POST").await;
    unavailable.assert_error(503, "temporarily_unavailable");
    assert_eq!(unavailable.header("retry-after"), Some("1"));
    assert_no_cors(&unavailable, "a preflight during the outage");
    // A client this instance has not cached (svc-a may be: start-up read every client).
    let token = send(
        http()
            .post(server.at("/token"))
            .basic_auth("svc-unseen", Some("svc-unseen-secret"))
            .form(&[("grant_type", "client_credentials")]),
        Some(SERVICE),
    )
    .await;
    token.assert_error(503, "temporarily_unavailable");
    assert_no_cors(&token, "a token request during the outage");
    // Discovery needs no store.
    let discovery = send(
        http().get(server.at("/.well-known/openid-configuration")),
        Some(STRANGER),
    )
    .await;
    assert_eq!(discovery.status, 200);
    assert_eq!(discovery.header("access-control-allow-origin"), Some("*"));
    redis.resume();
}

async fn registration_answers_follow_the_registered_client(backend: Backend) {
    let server = crate::registration::start(backend, RegistrationMode::Open, None).await;
    let metadata = json!({
        "client_name": "Browser app",
        "redirect_uris": [format!("{APP}/callback")],
        "token_endpoint_auth_method": "none",
        "allowed_cors_origins": [APP],
    });
    let register = |origin: &'static str| {
        let request = http()
            .post(server.at("/register"))
            .header("content-type", "application/json")
            .body(metadata.to_string());
        send(request, Some(origin))
    };

    // Registered from its own origin: readable there, and only there.
    let stranger = register(STRANGER).await;
    assert_eq!(stranger.status, 201, "{}", stranger.json);
    assert_no_cors(&stranger, "registration read from a stranger origin");
    let registered = register(APP).await;
    assert_eq!(registered.status, 201, "{}", registered.json);
    assert_readable_by(&registered, APP, "registration from the app's origin");
    let client_uri = registered.json["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = registered.json["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = client_uri.strip_prefix(&server.at("")).unwrap().to_owned();

    // Management preflights: the client's origin only.
    let allowed = preflight(&server, &path, APP, "DELETE").await;
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    assert_no_cors(
        &preflight(&server, &path, STRANGER, "GET").await,
        "management preflight from a stranger origin",
    );

    // Reading it: the client's origin, with its token; a wrong token gets no CORS header.
    let read = |origin: &'static str, token: String| {
        send(http().get(&client_uri).bearer_auth(token), Some(origin))
    };
    let reply = read(APP, token.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.json);
    assert_readable_by(&reply, APP, "management read from the app's origin");
    assert_no_cors(
        &read(STRANGER, token.clone()).await,
        "management read from a stranger origin",
    );
    let forged = read(APP, "not-the-token".into()).await;
    assert_eq!(forged.status, 401);
    assert_no_cors(&forged, "management with a wrong token");

    // Deleting it: the 204 is readable by the origin of the client it deleted.
    let deleted = send(http().delete(&client_uri).bearer_auth(&token), Some(APP)).await;
    assert_eq!(deleted.status, 204);
    assert_readable_by(&deleted, APP, "deletion from the app's origin");
}

for_each_backend!(
    registration_answers_follow_the_registered_client,
    preflights_are_answered_only_for_registered_origins,
    origins_follow_clients_changed_at_runtime,
    token_answers_are_readable_only_by_the_clients_own_origins,
    userinfo_answers_follow_the_tokens_client,
    an_expired_tokens_challenge_is_readable_by_its_clients_origin,
    discovery_and_jwks_answer_any_origin,
);
