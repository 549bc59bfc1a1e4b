use std::io;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;

use super::*;

/// Collects everything written, one buffer for the whole test.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Capture {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
            .collect()
    }
}

/// Logs the same events, inside and outside a request span, with awkward values.
fn log_some_events() {
    tracing::info!(target: "ferrid::audit", event = "token_issued", client_id = "demo", "access token issued");
    let span =
        tracing::info_span!("request", request_id = "r-1", method = %"POST", path = "/token");
    span.in_scope(|| {
        tracing::info!(
            status = 200u64,
            duration_us = 815u64,
            negative = -3i64,
            ok = true,
            ratio = 0.5f64,
            r#type = "raw",
            reason = "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓",
            "request served"
        );
        tracing::warn!(error = ?Some("debug value"), "with a Debug field");
    });
    let empty = tracing::info_span!("empty");
    empty.in_scope(|| tracing::info!("in a span without fields"));
}

fn capture(format: impl FnOnce(Capture) -> tracing::Dispatch) -> Vec<Value> {
    let capture = Capture::default();
    tracing::dispatcher::with_default(&format(capture.clone()), log_some_events);
    let mut lines = capture.lines();
    for line in &mut lines {
        let timestamp = line
            .as_object_mut()
            .unwrap()
            .remove("timestamp")
            .expect("a timestamp");
        assert!(timestamp.as_str().unwrap().ends_with('Z'), "{timestamp}");
    }
    lines
}

#[test]
fn lines_match_tracing_subscribers_flattened_json() {
    let ours = capture(|writer| {
        tracing_subscriber::fmt()
            .json()
            .event_format(JsonLines)
            .with_writer(writer)
            .finish()
            .into()
    });
    let stock = capture(|writer| {
        tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            .with_writer(writer)
            .finish()
            .into()
    });
    assert_eq!(ours.len(), 4);
    assert_eq!(ours, stock);
    assert_eq!(ours[1]["span"]["request_id"], "r-1");
    assert_eq!(ours[1]["span"]["name"], "request");
    assert_eq!(ours[1]["type"], "raw");
    assert_eq!(
        ours[1]["reason"],
        "quote \" backslash \\ newline \n tab \t bell \u{7} é ✓"
    );
}

#[test]
fn strings_are_escaped_as_json() {
    let mut line = String::new();
    push_json_str(&mut line, "a\"b\\c\nd\u{1}e✓").unwrap();
    assert_eq!(line, r#""a\"b\\c\nd\u0001e✓""#);
    assert_eq!(
        serde_json::from_str::<String>(&line).unwrap(),
        "a\"b\\c\nd\u{1}e✓"
    );
}
