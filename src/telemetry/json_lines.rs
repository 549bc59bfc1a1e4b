//! ferrid's JSON log lines, written cheaply enough for the access line every request logs. The
//! shape is tracing-subscriber's flattened JSON format (`timestamp`, `level`, the event's fields,
//! `target`, then `span` with the current span's fields and `name`), but the span's fields —
//! already rendered as a JSON object when the span was created — are copied into the line as
//! they are, where tracing-subscriber parses them into a map and serialises them again for every
//! event (a measurable share of a JWKS or discovery request).

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats each event as one JSON object on one line.
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(320);
        line.push_str("{\"timestamp\":\"");
        SystemTime.format_time(&mut Writer::new(&mut line))?;
        line.push_str("\",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        let mut fields = JsonFieldWriter {
            line: &mut line,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        line.push_str(",\"target\":");
        push_json_str(&mut line, event.metadata().target())?;
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            line.push_str(",\"span\":{");
            let extensions = span.extensions();
            if let Some(rendered) = extensions.get::<FormattedFields<N>>() {
                // A JSON object rendered by the JSON field formatter: `{…}`, or empty.
                let inner = rendered
                    .fields
                    .trim()
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                    .unwrap_or("")
                    .trim();
                if !inner.is_empty() {
                    line.push_str(inner);
                    line.push(',');
                }
            }
            line.push_str("\"name\":");
            push_json_str(&mut line, span.metadata().name())?;
            line.push('}');
        }
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

/// Writes an event's fields as `,"name":value` members.
struct JsonFieldWriter<'a> {
    line: &'a mut String,
    result: fmt::Result,
}

impl JsonFieldWriter<'_> {
    fn key(&mut self, field: &Field) {
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.line.push(',');
        if self.result.is_ok() {
            self.result = push_json_str(self.line, name);
        }
        self.line.push(':');
    }

    fn raw(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        self.key(field);
        if self.result.is_ok() {
            self.result = self.line.write_fmt(value);
        }
    }
}

impl Visit for JsonFieldWriter<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        if self.result.is_ok() {
            self.result = push_json_str(self.line, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.raw(field, format_args!("{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if value.is_finite() {
            self.raw(field, format_args!("{value}"));
        } else {
            self.raw(field, format_args!("null"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        self.record_str(field, &text);
    }
}

/// Appends `value` as a JSON string literal (RFC 8259 §7 escaping).
fn push_json_str(line: &mut String, value: &str) -> fmt::Result {
    line.push('"');
    let mut plain_from = 0;
    for (at, c) in value.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        line.push_str(&value[plain_from..at]);
        if escape.is_empty() {
            write!(line, "\\u{:04x}", c as u32)?;
        } else {
            line.push_str(escape);
        }
        plain_from = at + c.len_utf8();
    }
    line.push_str(&value[plain_from..]);
    line.push('"');
    Ok(())
}

#[cfg(test)]
mod tests;
