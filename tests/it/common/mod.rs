//! Test harness: starts one real `redis-server` per test binary (own process, Unix socket in a
//! temp dir; or the Redis named by `REDIS_URL`), gives every test its own key prefix and never
//! flushes anything (tests that stop or restart Redis get a server of their own); starts a real
//! ferrid on `127.0.0.1:0` and talks HTTP to it (HTTPS with `Options::tls`, trusting only the
//! test CA of `tls`). The RSA key is generated once per test binary and seeded into each server's
//! key store, so tests do not pay for key generation.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ferrid::bootstrap;
use ferrid::clock::{ManualClock, SharedClock, SystemClock};
use ferrid::config::{ClientConfig, Settings};
use ferrid::context::Context;
use ferrid::http::server::Bound;
use ferrid::keys::persist::KeyPersistence;
use ferrid::keys::sealed::Sealer;
use ferrid::keys::{rsa_key, KeyMaterial, KeyState};
use ferrid::store::memory::MemoryStore;
use ferrid::store::redis::RedisStore;
use ferrid::store::SharedStore;
use oauth2::reqwest;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

pub use oauth2::reqwest::Client as HttpClient;

pub mod admin;
pub mod browser;
pub mod chromium;
pub mod client_keys;
pub mod cluster;
pub mod code_flow;
pub mod dpop;
pub mod grants;
pub mod logs;
pub mod sentinel;
pub mod tls;

/// The system secret tests run Redis-mode servers with.
pub const SYSTEM_SECRET: &str = "test-system-secret-0123456789abcdef";

/// Which store a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Redis,
    /// The run's shared three-master Redis Cluster (`cluster::SharedCluster`).
    Cluster,
}

/// Runs each named `async fn(Backend)` once per backend, as `memory::name` and `redis::name`.
macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::Backend::Memory).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::Backend::Redis).await })*
        }
    };
}

/// Runs each named `async fn(Backend)` on the shared Redis Cluster too, as `cluster::name`
/// (beside `for_each_backend!`, for the features whose keys and scripts a cluster shards).
macro_rules! on_cluster {
    ($($name:ident),* $(,)?) => {
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(crate::common::Backend::Cluster).await })*
        }
    };
}

/// A `redis-server` owned by one test, killed on drop.
pub struct RedisServer {
    dir: TempDir,
    child: Option<Child>,
    durable: bool,
}

impl RedisServer {
    /// Prepares a socket path without starting the server.
    pub fn stopped() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            child: None,
            durable: false,
        }
    }

    /// Starts a server.
    pub fn start() -> Self {
        let mut server = Self::stopped();
        server.run();
        server
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// `redis+unix://` URL of the socket.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Starts a server that syncs every write to its append-only file, so a restart loses
    /// nothing it acknowledged.
    pub fn start_durable() -> Self {
        let mut server = Self::stopped();
        server.durable = true;
        server.run();
        server
    }

    /// Kills the process (SIGKILL: no chance to flush anything more).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Starts (or restarts) the process and waits for its socket.
    pub fn run(&mut self) {
        let appendonly = if self.durable {
            ["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            ["--appendonly", "no", "--appendfsync", "no"]
        };
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(self.socket())
            .args(["--unixsocketperm", "700", "--save", ""])
            .args(appendonly)
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (.ci/run installs it)");
        self.child = Some(child);
        wait_for_socket(&self.socket());
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Freezes the process (SIGSTOP): connections hang, nothing is lost.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a paused process.
    pub fn resume(&self) {
        self.signal("-CONT");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where a Redis-mode test keeps its data.
pub struct RedisTarget {
    pub url: String,
    pub prefix: String,
}

impl RedisTarget {
    /// A fresh key prefix on the binary's shared `redis-server` (or on `REDIS_URL` when set):
    /// tests share one process and never see each other's keys or channels.
    pub fn new() -> Self {
        let prefix = format!("ferrid-test-{}:", ferrid::secret::random_token().unwrap());
        let url = match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => SharedRedis::get().url.clone(),
        };
        Self { url, prefix }
    }

    /// A fresh key prefix on the run's shared Redis Cluster.
    pub fn cluster() -> Self {
        let prefix = format!("ferrid-test-{}:", ferrid::secret::random_token().unwrap());
        Self {
            url: cluster::SharedCluster::get().url.clone(),
            prefix,
        }
    }

    /// Another handle on the same Redis and prefix (a second instance, or a restarted one).
    pub fn same(&self) -> Self {
        Self {
            url: self.url.clone(),
            prefix: self.prefix.clone(),
        }
    }

    /// A store handle on this target.
    pub fn store(&self) -> Arc<RedisStore> {
        Arc::new(RedisStore::connect_lazily(&self.url, &self.prefix).unwrap())
    }
}

/// The one `redis-server` a test binary shares, started on first use. A static is never
/// dropped, so the server runs under a small shell that waits on a pipe from this process: when
/// the test binary exits (however it exits) the pipe closes and the shell stops the server and
/// removes its directory.
struct SharedRedis {
    url: String,
    _keepalive: std::process::ChildStdin,
    _shell: Child,
}

impl SharedRedis {
    fn get() -> &'static SharedRedis {
        static SHARED: OnceLock<SharedRedis> = OnceLock::new();
        SHARED.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            let socket = dir.join("redis.sock");
            let script = r#"redis-server --port 0 --unixsocket "$1/redis.sock" --unixsocketperm 700 \
                  --save '' --appendonly no --dir "$1" >/dev/null 2>&1 &
                pid=$!
                cat >/dev/null
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
                rm -rf "$1""#;
            let mut child = Command::new("sh")
                .args(["-c", script, "shared-redis"])
                .arg(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh");
            let keepalive = child.stdin.take().expect("piped stdin");
            wait_for_socket(&socket);
            SharedRedis {
                url: format!("redis+unix://{}", socket.display()),
                _keepalive: keepalive,
                _shell: child,
            }
        })
    }
}

/// Waits for a `redis-server` to open its Unix socket. It polls another process's progress, not
/// the passage of time, and runs where no runtime may exist yet (a static's initialiser).
#[allow(clippy::disallowed_methods)]
fn wait_for_socket(socket: &std::path::Path) {
    for _ in 0..500 {
        if socket.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("redis-server did not open its socket (is it installed? .ci/run installs it)");
}

/// An Argon2id PHC string for `password` with the smallest parameters (8 KiB, one pass), made
/// once per password and binary: logins verify with the parameters in the hash, so test users
/// log in in microseconds while the production parameters stay as they are.
pub fn cheap_password_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    static HASHES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
        OnceLock::new();
    let mut hashes = HASHES.get_or_init(Default::default).lock().unwrap();
    hashes
        .entry(password.to_owned())
        .or_insert_with(|| {
            let params = argon2::Params::new(8, 1, 1, None).unwrap();
            let argon2 =
                argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
            let salt = SaltString::encode_b64(b"ferrid-test-salt").unwrap();
            argon2
                .hash_password(password.as_bytes(), &salt)
                .unwrap()
                .to_string()
        })
        .clone()
}

/// The RSA key every test server signs with, generated once per test binary.
pub fn test_key() -> KeyMaterial {
    static DER: OnceLock<Vec<u8>> = OnceLock::new();
    let der = DER.get_or_init(|| rsa_key::generate_pkcs8(2048).unwrap().to_vec());
    KeyMaterial::from_pkcs8(Zeroizing::new(der.clone()), KeyState::Active, 1_700_000_000).unwrap()
}

/// A confidential client-credentials client with secret `<id>-secret`.
pub fn service_client(id: &str, scopes: &[&str]) -> ClientConfig {
    ClientConfig {
        id: id.into(),
        name: Some(format!("{id} service")),
        secret: Some(format!("{id}-secret").into()),
        grant_types: vec!["client_credentials".into()],
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..ClientConfig::default()
    }
}

/// A ferrid serving on `127.0.0.1:<free port>`.
pub struct TestServer {
    pub url: String,
    pub ctx: Arc<Context>,
    pub keys_dir: TempDir,
    pub redis: Option<RedisTarget>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// How to build a test server.
pub struct Options {
    pub backend: Backend,
    pub clients: Vec<ClientConfig>,
    pub seed_key: bool,
    pub wait_ready: bool,
    pub redis: Option<RedisTarget>,
    pub keys_dir: Option<TempDir>,
    /// A manual clock for the server (default: the system clock).
    pub clock: Option<ManualClock>,
    /// Serve HTTPS with a certificate from `tls::ca()` (issuer `https://127.0.0.1:<port>`).
    pub tls: bool,
}

impl Options {
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            clients: Vec::new(),
            seed_key: true,
            wait_ready: true,
            redis: None,
            keys_dir: None,
            clock: None,
            tls: false,
        }
    }

    pub fn clients(mut self, clients: Vec<ClientConfig>) -> Self {
        self.clients = clients;
        self
    }
}

impl TestServer {
    /// A server on `backend` with `clients`.
    pub async fn start(backend: Backend, clients: Vec<ClientConfig>) -> Self {
        Self::start_with(Options::new(backend).clients(clients), |_| {}).await
    }

    /// A server built from `options`, with settings adjusted by `configure`.
    pub async fn start_with(options: Options, configure: impl FnOnce(&mut Settings)) -> Self {
        let keys_dir = options
            .keys_dir
            .unwrap_or_else(|| tempfile::tempdir().unwrap());
        let tls = options
            .tls
            .then(|| tls::ca().write(keys_dir.path(), "ferrid"));
        let identity = tls.as_ref().map(|files| {
            ferrid::config::Identity::load(("tls.cert", &files.cert), ("tls.key", &files.key))
                .unwrap()
        });
        let bound = Bound::bind_with("127.0.0.1:0", identity.as_ref())
            .await
            .unwrap();
        let url = format!("{}://{}", bound.scheme(), bound.local_addr());
        let mut settings = Settings {
            issuer: url.clone(),
            bind: bound.local_addr().to_string(),
            clients: options.clients,
            ..Settings::default()
        };
        if let Some(files) = tls {
            settings.tls.cert = Some(files.cert);
            settings.tls.key = Some(files.key);
        }
        settings.keys.dir = keys_dir.path().join("keys");
        settings.log.level = "warn".into();
        let clock: SharedClock = match options.clock {
            Some(manual) => Arc::new(manual),
            None => Arc::new(SystemClock),
        };
        let redis = match options.backend {
            Backend::Memory => None,
            Backend::Redis | Backend::Cluster => {
                let target = options.redis.unwrap_or_else(|| match options.backend {
                    Backend::Cluster => RedisTarget::cluster(),
                    _ => RedisTarget::new(),
                });
                settings.store = target.url.clone();
                settings.redis.prefix = target.prefix.clone();
                settings.secrets.system = Some(SYSTEM_SECRET.to_owned().into());
                Some(target)
            }
        };
        configure(&mut settings);
        settings.validate().unwrap();
        let store: SharedStore = match options.backend {
            Backend::Memory => Arc::new(MemoryStore::new(clock.clone())),
            // As `serve` builds it, with the `redis.tls_*` files `configure` may have named.
            Backend::Redis | Backend::Cluster => Arc::new(
                RedisStore::connect_lazily_with_tls(
                    &settings.store,
                    &settings.redis.prefix,
                    settings.redis.tls_certificates().unwrap(),
                )
                .unwrap(),
            ),
        };
        if options.seed_key {
            let persistence = match options.backend {
                Backend::Memory => KeyPersistence::Dir(settings.keys.dir.clone()),
                Backend::Redis | Backend::Cluster => KeyPersistence::Store {
                    store: store.clone(),
                    sealer: Sealer::from_secret(SYSTEM_SECRET).unwrap(),
                },
            };
            persistence.create(&[test_key()]).await.unwrap();
        }
        ferrid::telemetry::init(&settings.log);
        // Process-global, like the subscriber: the first server installs it for all of them.
        if settings.metrics.enabled {
            ferrid::telemetry::metrics::install();
        }
        let ctx = bootstrap::with_store(settings, store, clock).unwrap();
        if options.wait_ready {
            bootstrap::provision(&ctx).await.unwrap();
        } else {
            tokio::spawn(bootstrap::until_ready(ctx.clone()));
        }
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(bound.serve(ctx.clone(), async {
            let _ = stop.await;
        }));
        Self {
            url,
            ctx,
            keys_dir,
            redis,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Absolute URL of `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops serving, waits for the server task, and hands back the keys directory.
    pub async fn stop(mut self) -> TempDir {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        std::mem::replace(&mut self.keys_dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// An HTTP client that never follows redirects (as OAuth clients must not) and, over https,
/// trusts only the test CA (`tls::ca()`).
pub fn http() -> HttpClient {
    static CA: OnceLock<reqwest::Certificate> = OnceLock::new();
    let ca = CA.get_or_init(|| reqwest::Certificate::from_pem(tls::ca().pem().as_bytes()).unwrap());
    reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.clone())
        .build()
        .unwrap()
}

/// A response's status, headers and JSON body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
}

impl Reply {
    pub async fn from(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            json,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 6749 §5.2 error with `status` and `error`.
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(self.status, status, "body: {}", self.json);
        assert_eq!(self.json["error"], error, "body: {}", self.json);
        let description = self.json["error_description"].as_str().unwrap_or_default();
        assert!(
            !description.is_empty(),
            "an error_description is expected: {}",
            self.json
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
        assert!(self
            .header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"));
    }
}

/// POSTs a form to the token endpoint, optionally with Basic credentials.
pub async fn post_token(
    server: &TestServer,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> Reply {
    let mut request = http().post(server.at("/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    Reply::from(request.send().await.unwrap()).await
}
