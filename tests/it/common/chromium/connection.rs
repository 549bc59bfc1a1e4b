//! The Chrome DevTools Protocol over the browser's pipe: each command is written as one JSON
//! message ended by a NUL byte, with an id; a reader thread hands each answer to the caller
//! waiting for that id, and keeps the events that explain a failing page.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::process::ChildStdin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{COMMAND_TIMEOUT, KEPT_LINES};

/// Where the reader thread sends a command's result (or the browser's error).
type Answer = oneshot::Sender<Result<Value, String>>;

/// The CDP connection: writes commands, and a reader thread hands each answer to its caller.
pub(super) struct Connection {
    input: Mutex<ChildStdin>,
    /// Callers waiting for an answer, by command id; `None` once the browser closed the pipe.
    pending: Mutex<Option<HashMap<u64, Answer>>>,
    next_id: AtomicU64,
    /// Console errors, uncaught exceptions and browser log entries of the attached pages.
    console: Mutex<VecDeque<String>>,
    /// The browser's last stderr lines.
    stderr: Mutex<VecDeque<String>>,
}

fn keep(lines: &Mutex<VecDeque<String>>, line: String) {
    let mut lines = lines.lock().unwrap();
    if lines.len() == KEPT_LINES {
        lines.pop_front();
    }
    lines.push_back(line);
}

impl Connection {
    /// A connection writing commands to `input`; start [`Connection::read`] on the output.
    pub(super) fn new(input: ChildStdin) -> Self {
        Self {
            input: Mutex::new(input),
            pending: Mutex::new(Some(HashMap::new())),
            next_id: AtomicU64::new(1),
            console: Mutex::new(VecDeque::new()),
            stderr: Mutex::new(VecDeque::new()),
        }
    }

    /// Keeps a line the browser wrote to stderr, for failure messages.
    pub(super) fn keep_stderr(&self, line: String) {
        keep(&self.stderr, line);
    }

    /// Sends `method` (to the page of `session`, or to the browser) and waits for its answer.
    pub(super) async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        match self.pending.lock().unwrap().as_mut() {
            Some(pending) => pending.insert(id, answer),
            None => return Err(format!("{method}: Chromium has exited")),
        };
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        let written = {
            let mut input = self.input.lock().unwrap();
            input.write_all(&bytes).and_then(|()| input.flush())
        };
        if let Err(err) = written {
            return Err(format!("{method}: cannot write to Chromium: {err}"));
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, answered).await {
            Ok(Ok(result)) => result.map_err(|err| format!("{method}: {err}")),
            Ok(Err(_)) => Err(format!("{method}: Chromium has exited")),
            Err(_) => {
                if let Some(pending) = self.pending.lock().unwrap().as_mut() {
                    pending.remove(&id);
                }
                Err(format!("{method}: no answer within {COMMAND_TIMEOUT:?}"))
            }
        }
    }

    /// Reads the browser's messages until it closes the pipe, then fails every waiting call.
    pub(super) fn read(&self, output: impl std::io::Read) {
        let mut output = BufReader::new(output);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match output.read_until(0, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if buffer.last() == Some(&0) {
                buffer.pop();
            }
            let Ok(message) = serde_json::from_slice::<Value>(&buffer) else {
                continue;
            };
            match message["id"].as_u64() {
                Some(id) => {
                    let waiting = self
                        .pending
                        .lock()
                        .unwrap()
                        .as_mut()
                        .and_then(|p| p.remove(&id));
                    if let Some(waiting) = waiting {
                        let result = match message.get("error") {
                            Some(error) => Err(error.to_string()),
                            None => Ok(message["result"].clone()),
                        };
                        let _ = waiting.send(result);
                    }
                }
                None => self.note_event(&message),
            }
        }
        // Dropping the senders wakes every caller with "Chromium has exited".
        self.pending.lock().unwrap().take();
    }

    /// Keeps what explains a failing page: console errors and warnings, uncaught exceptions,
    /// browser log entries (blocked requests, CSP violations, failed loads).
    fn note_event(&self, message: &Value) {
        let params = &message["params"];
        let line = match message["method"].as_str() {
            Some("Runtime.exceptionThrown") => {
                let details = &params["exceptionDetails"];
                let text = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or_default();
                format!("uncaught exception: {text}")
            }
            Some("Runtime.consoleAPICalled")
                if matches!(
                    params["type"].as_str(),
                    Some("error" | "warning" | "assert")
                ) =>
            {
                let args: Vec<String> = params["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|arg| match &arg["value"] {
                        Value::String(text) => text.clone(),
                        Value::Null => arg["description"].as_str().unwrap_or_default().to_owned(),
                        other => other.to_string(),
                    })
                    .collect();
                format!(
                    "console.{}: {}",
                    params["type"].as_str().unwrap_or_default(),
                    args.join(" ")
                )
            }
            Some("Log.entryAdded") if params["entry"]["level"] != "verbose" => {
                let entry = &params["entry"];
                format!(
                    "{} {}: {} {}",
                    entry["source"].as_str().unwrap_or_default(),
                    entry["level"].as_str().unwrap_or_default(),
                    entry["text"].as_str().unwrap_or_default(),
                    entry["url"].as_str().unwrap_or_default()
                )
            }
            _ => return,
        };
        keep(&self.console, line);
    }

    /// The console and stderr tails, for failure messages.
    pub(super) fn report(&self) -> String {
        let console = self.console.lock().unwrap();
        let stderr = self.stderr.lock().unwrap();
        format!(
            "\n--- browser console (last {}) ---\n{}\n--- chromium stderr (last {}) ---\n{}",
            console.len(),
            console.iter().cloned().collect::<Vec<_>>().join("\n"),
            stderr.len(),
            stderr.iter().cloned().collect::<Vec<_>>().join("\n"),
        )
    }
}
