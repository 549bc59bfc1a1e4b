//! How `ferrid client` and `ferrid user` print: a table for people (the default) or JSON for
//! scripts (`--format json`), and the one way they open the store the config names — Redis only:
//! the embedded memory store lives inside the running server, so a separate command cannot
//! reach it.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;

use crate::admin::AdminError;
use crate::bootstrap;
use crate::clock::SystemClock;
use crate::config::{Settings, StoreKind};
use crate::context::Context;

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON document for scripts.
    Json,
}

/// A context on the configured Redis store, or exit code 2 with the reason when the config
/// names the memory store.
pub(crate) fn redis_context(settings: Settings, what: &str) -> Result<Arc<Context>, ExitCode> {
    if matches!(settings.store_kind(), Ok(StoreKind::Memory)) {
        eprintln!(
            "ferrid: `ferrid {what}` works on the store the config names, and this config uses \
             the embedded memory store, which only the running server holds. Set `store` to a \
             Redis URL (FERRID_STORE=redis://...), or manage {what}s through the admin API of \
             the running server (/admin/{what}s, see the README)."
        );
        return Err(ExitCode::from(2));
    }
    bootstrap::build(settings, Arc::new(SystemClock)).map_err(|err| {
        eprintln!("ferrid: {err}");
        ExitCode::FAILURE
    })
}

/// Prints the error of an administrative operation; exit code 1.
pub(crate) fn fail(err: &AdminError) -> ExitCode {
    eprintln!("ferrid: {} ({})", err.description(), err.code());
    ExitCode::FAILURE
}

/// Prints `value` as JSON.
pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints rows under `headers`, each column as wide as its widest cell.
pub(crate) fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints `field: value` lines, aligned.
pub(crate) fn print_fields(fields: &[(&str, String)]) {
    let width = fields.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in fields {
        println!("{name:<width$}  {value}");
    }
}
