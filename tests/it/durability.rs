//! `store.durability = "replicated"` on a private master and replica (TCP on loopback, since a
//! replica follows its master by host and port): credentials are handed out only once the replica
//! has them; with the replica frozen a refresh answers 503 and hands nothing out, and the
//! presented refresh token then works exactly once. The same holds for the writes merged
//! later: a registration hands out no client, a replacement keeps the presented registration
//! access token working, an admin rotation shows no secret, and a client assertion whose replay
//! marker no replica holds is refused.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrid::config::{ClientConfig, RegistrationMode, Settings};
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::admin::{assert_admin_error, Admin, OPS};
use crate::common::browser::{log_in, Browser, CALLBACK};
use crate::common::client_keys::{jwks, ClientKey, JWT_BEARER};
use crate::common::grants::{alice, app_client, grant, introspect, refresh, text, CHALLENGE};
use crate::common::{http, service_client, Backend, Options, RedisTarget, Reply, TestServer};
use crate::registration::{assert_refused, register, web_app};

/// A `redis-server` of this test's own on a TCP port.
struct Node {
    child: Child,
    port: u16,
    _dir: TempDir,
}

impl Node {
    fn start(replica_of: Option<u16>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path());
        if let Some(master) = replica_of {
            command.args(["--replicaof", "127.0.0.1", &master.to_string()]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        let node = Self {
            child,
            port,
            _dir: dir,
        };
        node.wait_until(|info| info.contains("role:"));
        node
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn replication(&self) -> Option<String> {
        let client = redis::Client::open(self.url()).ok()?;
        let mut connection = client.get_connection().ok()?;
        redis::cmd("INFO")
            .arg("replication")
            .query(&mut connection)
            .ok()
    }

    /// Waits until `INFO replication` satisfies `ready`. It polls another process's progress,
    /// not the passage of time.
    #[allow(clippy::disallowed_methods)]
    fn wait_until(&self, ready: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.replication().is_some_and(|info| ready(&info)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on {} not ready",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_rotation_hands_nothing_out_and_the_old_token_works_once() {
    let master = Node::start(None);
    let replica = Node::start(Some(master.port));
    replica.wait_until(|info| info.contains("master_link_status:up"));
    let options = Options {
        redis: Some(RedisTarget {
            url: master.url(),
            prefix: "ferrid-durability:".into(),
        }),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.store_options.durability = "replicated".into();
        settings.store_options.replica_timeout_ms = 100;
        // Strict rotation: a second use of a rotated token is reuse, never a grace replay.
        settings.tokens.refresh_token_reuse_grace_secs = 0;
    })
    .await;

    // With the replica up, the whole code flow and a refresh work.
    let tokens = grant(&server, &Browser::new(), "app", "openid offline_access").await;
    let first = refresh(&server, "app", &text(&tokens, "refresh_token"), None).await;
    assert_eq!(first.status, 200, "{}", first.json);
    let held = text(&first.json, "refresh_token");

    // The replica stops acknowledging: the refresh fails with 503 and hands out nothing.
    replica.signal("-STOP");
    refresh(&server, "app", &held, None)
        .await
        .assert_error(503, "temporarily_unavailable");
    // Nothing of it is left: the token the client holds is still the current one.
    assert_eq!(
        introspect(&server, "app", &held).await["token_type"],
        "refresh_token"
    );
    replica.signal("-CONT");
    replica.wait_until(|info| info.contains("master_link_status:up"));

    // Once the replica is back the same token rotates — exactly once.
    let retried = refresh(&server, "app", &held, None).await;
    assert_eq!(retried.status, 200, "{}", retried.json);
    refresh(&server, "app", &held, None)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replica_nothing_is_handed_out() {
    let master = Node::start(None);
    let options = Options {
        redis: Some(RedisTarget {
            url: master.url(),
            prefix: "ferrid-durability:".into(),
        }),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.store_options.durability = "replicated".into();
        settings.store_options.replica_timeout_ms = 50;
    })
    .await;
    // Signing in hands out a session cookie: refused, with no cookie, before any code exists.
    let browser = Browser::new();
    let authorize = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = browser.get(&authorize).await;
    let signed_in = log_in(&server, &browser, page, "wonderland").await;
    assert_eq!(signed_in.status, 503, "{}", signed_in.body);
    assert!(signed_in.location.is_none());
    assert!(
        !browser.cookie_header().contains("ferrid-session="),
        "{}",
        browser.cookie_header()
    );
    // Client credentials write nothing and are unaffected.
    let reply = crate::common::post_token(
        &server,
        Some(("app", "app-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert!(reply.status == 200 || reply.status == 400, "{}", reply.json);
    assert_ne!(reply.status, 503);
}

/// A master with a replica that follows it, and a ferrid with `store.durability = "replicated"`
/// on the master: the config clients `clients` plus `ops` (admin), `configure` on top.
async fn replicated(
    clients: Vec<ClientConfig>,
    configure: impl FnOnce(&mut Settings),
) -> (Node, Node, TestServer) {
    let master = Node::start(None);
    let replica = Node::start(Some(master.port));
    replica.wait_until(|info| info.contains("master_link_status:up"));
    let mut clients = clients;
    clients.push(service_client(OPS, &["admin"]));
    let options = Options {
        redis: Some(RedisTarget {
            url: master.url(),
            prefix: "ferrid-durability:".into(),
        }),
        ..Options::new(Backend::Redis).clients(clients)
    };
    let server = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.store_options.durability = "replicated".into();
        settings.store_options.replica_timeout_ms = 100;
        configure(settings);
    })
    .await;
    (master, replica, server)
}

fn frozen(replica: &Node) {
    replica.signal("-STOP");
}

fn thawed(replica: &Node) {
    replica.signal("-CONT");
    replica.wait_until(|info| info.contains("master_link_status:up"));
}

/// Sends `method` with `body` to the registration client URI `uri` with `token`.
async fn manage(method: &str, uri: &str, token: &str, body: Option<&Value>) -> Reply {
    let method = oauth2::reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http().request(method, uri).bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    Reply::from(request.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_registration_hands_out_no_client() {
    let (_master, replica, server) = replicated(Vec::new(), |settings| {
        settings.registration.mode = RegistrationMode::Open;
    })
    .await;
    let admin = Admin::new(&server).await;
    let before = admin.get("/admin/clients").await;
    assert_eq!(before.status, 200, "{}", before.json);

    frozen(&replica);
    let refused = register(&server, None, &web_app()).await;
    assert_refused(&refused, 503, "temporarily_unavailable");
    for secret in ["client_id", "client_secret", "registration_access_token"] {
        assert!(refused.json.get(secret).is_none(), "{}", refused.json);
    }
    // Nor is a client left behind for anyone to find.
    assert_eq!(admin.get("/admin/clients").await.json, before.json);
    thawed(&replica);

    let registered = register(&server, None, &web_app()).await;
    assert_eq!(registered.status, 201, "{}", registered.json);
    let uri = text(&registered.json, "registration_client_uri");
    let token = text(&registered.json, "registration_access_token");

    // A replacement no replica holds hands out no new token, and the one the client holds
    // keeps working for the retry.
    let mut replacement = web_app();
    replacement["client_id"] = registered.json["client_id"].clone();
    frozen(&replica);
    let refused = manage("PUT", &uri, &token, Some(&replacement)).await;
    assert_refused(&refused, 503, "temporarily_unavailable");
    assert!(refused.json.get("registration_access_token").is_none());
    thawed(&replica);
    let replaced = manage("PUT", &uri, &token, Some(&replacement)).await;
    assert_eq!(replaced.status, 200, "{}", replaced.json);
    let token = text(&replaced.json, "registration_access_token");

    // A deletion is answered only once a replica holds it.
    frozen(&replica);
    let refused = manage("DELETE", &uri, &token, None).await;
    assert_refused(&refused, 503, "temporarily_unavailable");
    thawed(&replica);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_secret_rotation_shows_no_secret() {
    let (_master, replica, server) = replicated(Vec::new(), |_| {}).await;
    let admin = Admin::new(&server).await;
    let created = admin
        .post(
            "/admin/clients",
            json!({ "client_id": "batch", "grant_types": ["client_credentials"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);

    frozen(&replica);
    let rotated = admin.post("/admin/clients/batch/secret", json!({})).await;
    assert_admin_error(&rotated, 503, "temporarily_unavailable");
    assert!(
        rotated.json.get("client_secret").is_none(),
        "{}",
        rotated.json
    );
    // Creating hands out no secret either, and leaves no client in the way of a retry.
    let refused = admin
        .post(
            "/admin/clients",
            json!({ "client_id": "later", "grant_types": ["client_credentials"] }),
        )
        .await;
    assert_admin_error(&refused, 503, "temporarily_unavailable");
    assert!(
        refused.json.get("client_secret").is_none(),
        "{}",
        refused.json
    );
    thawed(&replica);

    let rotated = admin.post("/admin/clients/batch/secret", json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.json);
    assert!(
        rotated.json["client_secret"].is_string(),
        "{}",
        rotated.json
    );
    let retried = admin
        .post(
            "/admin/clients",
            json!({ "client_id": "later", "grant_types": ["client_credentials"] }),
        )
        .await;
    assert_eq!(retried.status, 201, "{}", retried.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_whose_replay_marker_no_replica_holds_is_refused() {
    let key = ClientKey::es256(Some("k1"));
    let client = ClientConfig {
        id: "signer".into(),
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        grant_types: vec!["client_credentials".into()],
        jwks: Some(jwks(&[&key])),
        ..ClientConfig::default()
    };
    let (_master, replica, server) = replicated(vec![client], |_| {}).await;
    let token = |assertion: String| {
        let server = &server;
        async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion.as_str()),
            ];
            let response = http()
                .post(server.at("/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            Reply::from(response).await
        }
    };

    frozen(&replica);
    let assertion = key.assertion("signer", &server.url);
    let refused = token(assertion.clone()).await;
    refused.assert_error(503, "temporarily_unavailable");
    assert!(
        refused.json.get("access_token").is_none(),
        "{}",
        refused.json
    );
    thawed(&replica);

    // The marker reached the master: the same assertion stays spent.
    token(assertion).await.assert_error(401, "invalid_client");
    let fresh = token(key.assertion("signer", &server.url)).await;
    assert_eq!(fresh.status, 200, "{}", fresh.json);
}
