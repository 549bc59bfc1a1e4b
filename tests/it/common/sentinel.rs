//! A master with one replica, watched by three sentinels (quorum 2), on loopback ports: always
//! private to one test, since its tests kill or freeze the master.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

use super::cluster::{cli, free_port, spawn_node, wait_for_port, wait_until};

/// A master, one replica and three sentinels watching them (quorum 2), owned by one test.
pub struct SentinelGroup {
    pub master_port: u16,
    /// The first replica: the one promoted when there is only one.
    pub replica_port: u16,
    /// Every replica.
    pub replica_ports: Vec<u16>,
    pub sentinel_ports: [u16; 3],
    master: Option<Child>,
    others: Vec<Child>,
    _dir: TempDir,
}

/// The name the sentinels know the master by.
pub const MASTER_NAME: &str = "ferrid-master";

impl SentinelGroup {
    pub fn start() -> Self {
        Self::with_replicas(1)
    }

    /// A master with `replicas` replicas (so that a promoted replica still has one when more
    /// than one).
    pub fn with_replicas(replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let master_port = free_port();
        let replica_ports: Vec<u16> = (0..replicas.max(1)).map(|_| free_port()).collect();
        let replica_port = replica_ports[0];
        let master = spawn_node(dir.path(), master_port, &[]);
        let mut others: Vec<Child> = replica_ports
            .iter()
            .map(|port| {
                spawn_node(
                    dir.path(),
                    *port,
                    &["--replicaof", "127.0.0.1", &master_port.to_string()],
                )
            })
            .collect();
        wait_for_port(master_port);
        for port in &replica_ports {
            wait_for_port(*port);
            wait_until("the replica to sync", || {
                cli(*port, &["INFO", "replication"]).contains("master_link_status:up")
            });
        }
        let expected_replicas = replica_ports.len().to_string();
        let sentinel_ports = [free_port(), free_port(), free_port()];
        for port in sentinel_ports {
            others.push(start_sentinel(dir.path(), port, master_port));
        }
        for port in sentinel_ports {
            wait_until("the sentinels to see the replica and each other", || {
                let master = cli(port, &["SENTINEL", "MASTER", MASTER_NAME]);
                field(&master, "num-slaves") == Some(expected_replicas.as_str())
                    && field(&master, "num-other-sentinels") == Some("2")
            });
        }
        Self {
            master_port,
            replica_port,
            replica_ports,
            sentinel_ports,
            master: Some(master),
            others,
            _dir: dir,
        }
    }

    /// The store URL naming the master through the sentinels.
    pub fn url(&self) -> String {
        let sentinels: Vec<String> = self
            .sentinel_ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", sentinels.join(","))
    }

    /// Kills the master (SIGKILL).
    pub fn kill_master(&mut self) {
        if let Some(mut master) = self.master.take() {
            let _ = master.kill();
            let _ = master.wait();
        }
    }

    /// Freezes the master (SIGSTOP): its connections hang rather than close.
    pub fn freeze_master(&self) {
        if let Some(master) = &self.master {
            let status = Command::new("kill")
                .args(["-STOP", &master.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
    }

    /// Lets a frozen master run again (SIGCONT): after a failover the sentinels demote it.
    pub fn thaw_master(&self) {
        if let Some(master) = &self.master {
            let status = Command::new("kill")
                .args(["-CONT", &master.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
    }

    /// The port of the master as the sentinels name it now.
    pub fn current_master_port(&self) -> Option<u16> {
        let reply = cli(
            self.sentinel_ports[0],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        );
        reply
            .lines()
            .nth(1)
            .and_then(|port| port.trim().parse().ok())
    }
}

impl Drop for SentinelGroup {
    fn drop(&mut self) {
        self.kill_master();
        for child in &mut self.others {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_sentinel(dir: &Path, port: u16, master_port: u16) -> Child {
    let config: PathBuf = dir.join(format!("sentinel-{port}.conf"));
    std::fs::write(
        &config,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 10000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir = dir.display()
        ),
    )
    .expect("sentinel config");
    let child = Command::new("redis-server")
        .arg(&config)
        .arg("--sentinel")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed (.ci/run installs it)");
    wait_for_port(port);
    child
}

/// The value after `name` in `redis-cli`'s flat rendering of a field/value reply.
fn field<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = reply.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == name {
            return lines.next();
        }
    }
    None
}
