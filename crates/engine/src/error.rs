//! Configuration errors that name the file, the place and what was expected.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A configuration text and the name it is reported under (usually its path).
#[derive(Debug, Clone)]
pub struct Source {
    name: Arc<str>,
    text: Arc<str>,
}

impl Source {
    /// Wraps `text`, reported as `name` in errors.
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// The name errors use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at `span` of this source.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = self.line_column(span.start);
        ConfigError {
            file: self.name.to_string(),
            line: Some((line, column)),
            message: message.into(),
        }
    }
}

/// Invalid configuration: where, and what was expected.
///
/// Displays as `file:line:column: message` (or `file: message` when the
/// problem has no single place), the form editors and `nginx -t` users know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The file (or other source name) the error is in.
    pub file: String,
    /// 1-based line and column, when the error has a place.
    pub line: Option<(usize, usize)>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// An error about a whole file.
    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }

    /// An error at a known line and column.
    pub fn at(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line: Some((line, column)),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some((line, col)) => write!(f, "{}:{}:{}: {}", self.file, line, col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let s = Source::new("a.toml", "x = 1\nname = \"é\" bad\n");
        assert_eq!(s.line_column(0), (1, 1));
        assert_eq!(s.line_column(6), (2, 1));
        // "é" is two bytes but one column.
        let bad = s.text().find("bad").expect("present");
        assert_eq!(s.line_column(bad), (2, 12));
        assert_eq!(
            s.error(bad..bad + 3, "oops").to_string(),
            "a.toml:2:12: oops"
        );
    }
}
