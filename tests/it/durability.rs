//! `store.durability = "replicated"` on a private master and replica (TCP on loopback, since a
//! replica follows its master by host and port): credentials are handed out only once the replica
//! has them; with the replica frozen a refresh answers 503 and hands nothing out, and the
//! presented refresh token then works exactly once.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common::browser::{log_in, Browser, CALLBACK};
use crate::common::grants::{alice, app_client, grant, introspect, refresh, text, CHALLENGE};
use crate::common::{Backend, Options, RedisTarget, TestServer};

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
