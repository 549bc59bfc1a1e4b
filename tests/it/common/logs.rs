//! Log output kept in memory, for tests that read what ferrid logged: install
//! `ferrid::telemetry::subscriber(&settings, captured.clone())` as the thread's default on a
//! current-thread runtime, and every line the servers write lands here.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The bytes written so far.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
