//! Headless Chromium for browser tests, driven through the Chrome DevTools Protocol (CDP) over a
//! pipe: started with `--remote-debugging-pipe`, the browser reads commands on its fd 3 and
//! writes answers and events on its fd 4, each a JSON message ended by a NUL byte. A shell maps
//! those two to the child's stdin and stdout. So there is no port to discover, no WebDriver
//! process beside the browser, and nothing to compile beyond `serde_json`; and when the test
//! process dies the pipe closes and the browser exits with it.
//!
//! [`Chromium::launch`] starts a browser on a new, empty profile; [`Chromium::new_page`] opens a
//! tab; [`Chromium::wait_for_page`] attaches to a tab a page opened itself (a popup). A [`Page`]
//! navigates, evaluates JavaScript, waits for a selector or any condition, clicks, fills inputs
//! and reads text. Every wait has a deadline and, when it passes, fails naming what it waited
//! for, the page's URL and text and the console errors the browser reported — never a fixed sleep.
//! Debian's `chromium` package is required (`.ci/run` installs it); without it, `launch` fails
//! saying so.

mod connection;
mod page;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::time::Instant;

use connection::Connection;
pub use page::Page;

/// How long one wait (for a page, a selector, a condition) may take. Generous: CI builds and
/// tests on two shared cores, and Swagger UI parses 1.5 MB of JavaScript on every load.
pub const WAIT: Duration = Duration::from_secs(45);
/// How long the browser may take to answer one command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// How many console messages and stderr lines are kept for failure messages.
const KEPT_LINES: usize = 40;

/// Flags for a headless browser that runs as root on a machine without outside network: without
/// the background-networking ones Chromium stalls on refused connections.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-pipe",
];

/// The browser binary: `$CHROMIUM` when set, else `chromium` (Debian) or `chromium-browser` on
/// `PATH`. Fails the test, saying what to install, when there is none.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "CHROMIUM={} names no file: point it at a Chromium binary, or unset it to use \
             `chromium` from PATH",
            path.display()
        );
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the browser tests need headless Chromium, and there is no `chromium` on PATH: \
                 install Debian's package (`apt-get install chromium`; .ci/run does) or set \
                 CHROMIUM to the browser's path"
            )
        })
}

/// A headless Chromium with its own temporary profile, killed on drop.
pub struct Chromium {
    connection: Arc<Connection>,
    child: Option<Child>,
    _profile: TempDir,
}

impl Chromium {
    /// Starts the browser and waits (with a deadline) until it answers.
    pub async fn launch() -> Self {
        let binary = binary();
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            // fd 3 ← our stdin pipe (commands), fd 4 → our stdout pipe (answers and events).
            .args([
                "-c",
                r#"exec "$@" 3<&0 4>&1 </dev/null >/dev/null"#,
                "chromium",
            ])
            .arg(&binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
        let connection = Arc::new(Connection::new(child.stdin.take().unwrap()));
        let output = child.stdout.take().unwrap();
        let reader = connection.clone();
        std::thread::spawn(move || reader.read(output));
        let stderr = child.stderr.take().unwrap();
        let lines = connection.clone();
        std::thread::spawn(move || {
            // Without a D-Bus on the machine, Chromium logs its absence again and again: noise.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !line.contains(":ERROR:dbus/") {
                    lines.keep_stderr(line);
                }
            }
        });
        let browser = Self {
            connection,
            child: Some(child),
            _profile: profile,
        };
        if let Err(err) = browser.call("Browser.getVersion", json!({})).await {
            panic!(
                "{} started but does not answer over the DevTools pipe: {err}{}",
                binary.display(),
                browser.connection.report()
            );
        }
        browser
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.connection.call(None, method, params).await
    }

    /// Opens a new tab on `about:blank`.
    pub async fn new_page(&self) -> Page {
        let created = self
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await
            .unwrap_or_else(|err| panic!("cannot open a tab: {err}{}", self.connection.report()));
        self.attach(created["targetId"].as_str().unwrap()).await
    }

    /// Waits for a tab whose URL satisfies `matches` (one the page opened, such as an OAuth
    /// popup) and attaches to it.
    pub async fn wait_for_page(&self, what: &str, matches: impl Fn(&str) -> bool) -> Page {
        let deadline = Instant::now() + WAIT;
        loop {
            let targets = self
                .call("Target.getTargets", json!({}))
                .await
                .unwrap_or_else(|err| panic!("{err}{}", self.connection.report()));
            let pages: Vec<&Value> = targets["targetInfos"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|target| target["type"] == "page")
                .collect();
            let url = |target: &Value| target["url"].as_str().unwrap_or_default().to_owned();
            if let Some(found) = pages.iter().find(|target| matches(&url(target))) {
                return self.attach(found["targetId"].as_str().unwrap()).await;
            }
            if Instant::now() >= deadline {
                let open: Vec<String> = pages.iter().map(|target| url(target)).collect();
                panic!(
                    "no tab showed {what} within {WAIT:?}; open tabs: {open:?}{}",
                    self.connection.report()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn attach(&self, target_id: &str) -> Page {
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await
            .unwrap_or_else(|err| panic!("{err}{}", self.connection.report()));
        let session = attached["sessionId"].as_str().unwrap();
        let page = Page::new(self.connection.clone(), session, target_id);
        for domain in ["Page", "Runtime", "Log"] {
            page.call(&format!("{domain}.enable"), json!({})).await;
        }
        page
    }

    /// Closes the browser and waits for it to exit (killing it after a deadline).
    pub async fn close(mut self) {
        let _ = self.call("Browser.close", json!({})).await;
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let mut exited = tokio::task::spawn_blocking(move || child.wait());
            if tokio::time::timeout(COMMAND_TIMEOUT, &mut exited)
                .await
                .is_err()
            {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                let _ = exited.await;
            }
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
