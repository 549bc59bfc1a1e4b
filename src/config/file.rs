//! The config file's TOML syntax, checked before figment reads it: figment reports a syntax
//! error as one line from the TOML parser ("TOML parse error at line 1, column 24") that names
//! neither the file nor what is on that line. Here the error names the file, the line and the
//! column, and shows the line with a caret under the offending place.

use std::path::Path;

use figment::providers::{Format, Toml};
use figment::value::Dict;

use super::ConfigError;

/// Fails unless `path` is a readable file of valid TOML.
pub(super) fn check_syntax(path: &Path) -> Result<(), ConfigError> {
    if !path.is_file() {
        return Err(ConfigError::new(
            "",
            format!("config file {} does not exist", path.display()),
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|err| ConfigError::new("", format!("cannot read {}: {err}", path.display())))?;
    match Toml::from_str::<Dict>(&text) {
        Ok(_) => Ok(()),
        Err(err) => {
            let message = err
                .message()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let located = match err.span() {
                Some(span) => {
                    let (line, column, snippet) = locate(&text, span.start);
                    format!(
                        "{}:{line}:{column}: TOML syntax error: {message}\n{snippet}",
                        path.display()
                    )
                }
                None => format!("{}: TOML syntax error: {message}", path.display()),
            };
            Err(ConfigError::new("", located))
        }
    }
}

/// The 1-based line and column of byte `offset`, and that line with a caret under the column.
fn locate(text: &str, offset: usize) -> (usize, usize, String) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |at| at + 1);
    let line_end = text[offset..]
        .find('\n')
        .map_or(text.len(), |at| offset + at);
    let line = text[..offset].matches('\n').count() + 1;
    let column = text[line_start..offset].chars().count() + 1;
    let content = text[line_start..line_end].trim_end_matches('\r');
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let snippet = format!(
        "  {gutter} |\n  {number} | {content}\n  {gutter} | {}^",
        " ".repeat(column - 1)
    );
    (line, column, snippet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_the_file_and_shows_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferrid.toml");
        std::fs::write(
            &path,
            "issuer = \"http://127.0.0.1:8080\"\n[log]\nlevel = warn\n",
        )
        .unwrap();
        let err = check_syntax(&path).unwrap_err().to_string();
        let expected_location = format!("{}:3:9: TOML syntax error", path.display());
        assert!(err.contains(&expected_location), "{err}");
        assert!(err.contains("  3 | level = warn\n"), "{err}");
        assert!(err.ends_with("    |         ^"), "{err}");
    }

    #[test]
    fn valid_toml_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ferrid.toml");
        std::fs::write(&path, "[log]\nlevel = \"info\"\n").unwrap();
        check_syntax(&path).unwrap();
    }

    #[test]
    fn locate_counts_characters_not_bytes() {
        let (line, column, snippet) = locate("a = 1\nnäme = x\n", 14);
        assert_eq!((line, column), (2, 8));
        assert!(snippet.ends_with("  |        ^"), "{snippet}");
    }
}
