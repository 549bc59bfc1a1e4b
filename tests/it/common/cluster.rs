//! Redis Cluster deployments on loopback for the tests: three masters made into a cluster with
//! `redis-cli --cluster create` (one shared by the tests of a run, each with its own key prefix,
//! like the shared single Redis; a private one for tests that move slots; one speaking only TLS).
//! Ports are free ports below 55535, since a cluster node's bus listens on its port + 10000.
//! The node helpers here also serve the sentinel group (`sentinel`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tempfile::TempDir;

use super::tls::TlsFiles;

/// A free loopback port whose cluster-bus port (+10000) is valid too.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        if port < 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// Runs `redis-cli` against `port` and returns its output.
pub fn cli(port: u16, args: &[&str]) -> String {
    cli_over(None, port, args)
}

/// `cli`, over TLS trusting the CA of `tls` when given.
fn cli_over(tls: Option<&TlsFiles>, port: u16, args: &[&str]) -> String {
    let mut command = Command::new("redis-cli");
    if let Some(tls) = tls {
        command.arg("--tls").arg("--cacert").arg(&tls.ca);
    }
    let output = command
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli must be installed (.ci/run installs redis-tools)");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Polls another process's progress (not the passage of time), from sync code.
#[allow(clippy::disallowed_methods)]
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

pub fn spawn_node(dir: &Path, port: u16, extra: &[&str]) -> Child {
    spawn_node_over(None, dir, port, extra)
}

/// A node listening on `port`, only over TLS (certificate of `tls`, cluster bus and replication
/// too) when given.
fn spawn_node_over(tls: Option<&TlsFiles>, dir: &Path, port: u16, extra: &[&str]) -> Child {
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).expect("node dir");
    let mut command = Command::new("redis-server");
    match tls {
        Some(tls) => {
            command
                .args(["--port", "0", "--tls-port", &port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca)
                .args(["--tls-auth-clients", "no"])
                .args(["--tls-cluster", "yes", "--tls-replication", "yes"]);
        }
        None => {
            command.args(["--port", &port.to_string()]);
        }
    }
    command
        .args(["--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&node_dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (.ci/run installs it)")
}

pub fn wait_for_port(port: u16) {
    wait_for_port_over(None, port);
}

fn wait_for_port_over(tls: Option<&TlsFiles>, port: u16) {
    wait_until("redis-server to listen", || {
        cli_over(tls, port, &["PING"]).trim() == "PONG"
    });
}

/// Three cluster-enabled nodes, made into one cluster with every slot assigned.
fn create_cluster(dir: &Path, ports: &[u16; 3]) -> Vec<Child> {
    create_cluster_over(None, dir, ports)
}

fn create_cluster_over(tls: Option<&TlsFiles>, dir: &Path, ports: &[u16; 3]) -> Vec<Child> {
    let children: Vec<Child> = ports
        .iter()
        .map(|port| {
            spawn_node_over(
                tls,
                dir,
                *port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
            )
        })
        .collect();
    for port in ports {
        wait_for_port_over(tls, *port);
    }
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let mut command = Command::new("redis-cli");
    if let Some(tls) = tls {
        command.arg("--tls").arg("--cacert").arg(&tls.ca);
    }
    let status = command
        .arg("--cluster")
        .arg("create")
        .args(&nodes)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("redis-cli must be installed (.ci/run installs redis-tools)");
    assert!(status.success(), "redis-cli --cluster create failed");
    for port in ports {
        wait_until("the cluster to agree", || {
            cli_over(tls, *port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        });
    }
    children
}

/// The store URL of a cluster on `ports`.
pub fn cluster_url(ports: &[u16]) -> String {
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    format!("redis+cluster://{}/", nodes.join(","))
}

/// The cluster the tests of one run share, started on first use and stopped (by a shell
/// waiting on a pipe from this process, as for the shared single Redis) when the run ends.
pub struct SharedCluster {
    pub url: String,
    _keepalive: std::process::ChildStdin,
    _shell: Child,
}

impl SharedCluster {
    pub fn get() -> &'static SharedCluster {
        static SHARED: OnceLock<SharedCluster> = OnceLock::new();
        SHARED.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            let ports = [free_port(), free_port(), free_port()];
            let children = create_cluster(&dir, &ports);
            let pids: Vec<String> = children.iter().map(|c| c.id().to_string()).collect();
            // The shell outlives the static's missing destructor: it kills the nodes when this
            // process's end closes its stdin.
            let script = r#"cat >/dev/null; shift; kill "$@" 2>/dev/null; rm -rf "$DIR""#;
            let mut shell = Command::new("sh")
                .args(["-c", script, "shared-cluster", "-"])
                .args(&pids)
                .env("DIR", &dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("sh");
            let keepalive = shell.stdin.take().expect("piped stdin");
            // The nodes now belong to the shell; dropping a `Child` does not kill it.
            drop(children);
            SharedCluster {
                url: cluster_url(&ports),
                _keepalive: keepalive,
                _shell: shell,
            }
        })
    }
}

/// A cluster owned by one test (its slots may be moved), stopped on drop.
pub struct RedisCluster {
    pub ports: [u16; 3],
    children: Vec<Child>,
    _dir: TempDir,
}

/// A cluster whose nodes speak only TLS (client connections, bus and replication), with
/// certificates from the test CA, stopped on drop.
pub struct TlsCluster {
    pub ports: [u16; 3],
    pub files: TlsFiles,
    children: Vec<Child>,
    _dir: TempDir,
}

impl TlsCluster {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = super::tls::ca().write(dir.path(), "redis");
        let ports = [free_port(), free_port(), free_port()];
        let children = create_cluster_over(Some(&files), dir.path(), &ports);
        Self {
            ports,
            files,
            children,
            _dir: dir,
        }
    }

    /// `rediss+cluster://…`.
    pub fn url(&self) -> String {
        cluster_url(&self.ports).replacen("redis+cluster://", "rediss+cluster://", 1)
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl RedisCluster {
    pub fn start() -> Self {
        Self::start_on([free_port(), free_port(), free_port()])
    }

    /// A cluster on the given ports.
    pub fn start_on(ports: [u16; 3]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let children = create_cluster(dir.path(), &ports);
        Self {
            ports,
            children,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        cluster_url(&self.ports)
    }

    /// The port of the node that owns `slot`.
    pub fn owner_of(&self, slot: u16) -> u16 {
        let shards = cli(self.ports[0], &["CLUSTER", "SLOTS"]);
        // `redis-cli` prints CLUSTER SLOTS flat: start, end, then each node's ip, port, id.
        let lines: Vec<&str> = shards.lines().map(str::trim).collect();
        let mut i = 0;
        while i + 3 < lines.len() {
            let (start, end) = (lines[i].parse::<u16>(), lines[i + 1].parse::<u16>());
            if let (Ok(start), Ok(end)) = (start, end) {
                if (start..=end).contains(&slot) {
                    return lines[i + 3].parse().expect("port");
                }
            }
            i += 1;
        }
        panic!("no owner for slot {slot}: {shards}");
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        cli(port, &["CLUSTER", "MYID"]).trim().to_owned()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
