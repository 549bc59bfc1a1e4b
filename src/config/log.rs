//! `[log]`: the output format and the `tracing` filter. A filter `EnvFilter` accepts is not
//! necessarily one that means what was meant: a bare word it does not know as a level
//! (`warning`, `verbose`) is taken as a target name, and the server then logs nothing at all.
//! So every directive must be a level, or `target=level`, with a level `tracing` knows.

use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::LevelFilter;

use super::ConfigError;

/// The levels a directive may name, as the error message lists them.
pub const LEVELS: &str = "`trace`, `debug`, `info`, `warn`, `error` or `off`";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `json`, `pretty`, or `auto` (json unless stdout is a terminal).
    pub format: String,
    /// A level (`info`) or comma-separated `target=level` directives
    /// (`ferrid=debug,poem=info`), optionally with a bare level for everything else.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "auto".into(),
            level: "info".into(),
        }
    }
}

impl LogSettings {
    /// Checks the format and that every filter directive names a known level.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.format.as_str(), "auto" | "json" | "pretty") {
            return Err(ConfigError::new(
                "log.format",
                "must be `auto`, `json` or `pretty`",
            ));
        }
        validate_level(&self.level)
    }
}

fn validate_level(filter: &str) -> Result<(), ConfigError> {
    let invalid = |what: String| {
        ConfigError::new(
            "log.level",
            format!("{what}: use a level ({LEVELS}) or directives such as `ferrid=debug,info`"),
        )
    };
    if filter.trim().is_empty() {
        return Err(invalid("is empty".into()));
    }
    for directive in filter.split(',').map(str::trim) {
        // Span and field filters (`target[span{field=value}]=level`) are left to EnvFilter.
        if directive.is_empty() || directive.contains('[') {
            continue;
        }
        let (target, level) = match directive.rsplit_once('=') {
            Some((target, level)) => (Some(target.trim()), level.trim()),
            None => (None, directive),
        };
        if target.is_some_and(str::is_empty) {
            return Err(invalid(format!("`{directive}` names no target")));
        }
        if level.is_empty() || level.parse::<LevelFilter>().is_err() {
            return Err(invalid(format!("`{level}` is not a log level")));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter)
        .map(|_| ())
        .map_err(|err| invalid(format!("`{filter}` is not a valid filter ({err})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(filter: &str) -> Result<(), ConfigError> {
        LogSettings {
            level: filter.into(),
            ..LogSettings::default()
        }
        .validate()
    }

    #[test]
    fn levels_and_target_directives_are_accepted() {
        for filter in [
            "info",
            "WARN",
            "ferrid=debug",
            "ferrid=debug,poem=info",
            "ferrid::audit=info, warn",
            "off",
        ] {
            level(filter).unwrap_or_else(|err| panic!("{filter}: {err}"));
        }
    }

    #[test]
    fn an_unknown_level_names_the_key_and_the_valid_levels() {
        for filter in [
            "warning",
            "ferrid=verbose",
            "info,ferrid=loud",
            "=debug",
            "",
        ] {
            let err = level(filter).unwrap_err();
            assert_eq!(err.key, "log.level", "{filter}");
            assert!(err.message.contains("`warn`"), "{filter}: {err}");
            assert!(!err.to_string().contains('\n'), "{filter}: {err}");
        }
        let err = level("warning").unwrap_err();
        assert!(
            err.message.contains("`warning` is not a log level"),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_format_names_the_key() {
        let settings = LogSettings {
            format: "xml".into(),
            ..LogSettings::default()
        };
        assert_eq!(settings.validate().unwrap_err().key, "log.format");
    }
}
