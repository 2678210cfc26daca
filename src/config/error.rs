//! Config errors: every problem with its path and, where known, its position.

use std::fmt;
use std::path::PathBuf;

use super::location::Location;

/// One problem (or warning) found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Path in the file, e.g. `routes[2].pool`; empty for the whole file.
    pub path: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
    /// Where in the text, when known.
    pub location: Option<Location>,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if let Some(loc) = self.location {
            write!(f, " (line {}, column {})", loc.line, loc.column)?;
        }
        Ok(())
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid config.
    #[error("invalid config: {}", join(.0))]
    Invalid(Vec<ConfigIssue>),
}

impl ConfigError {
    /// Every problem, one per entry (a read error is one problem).
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            Self::Read { .. } => vec![ConfigIssue {
                path: String::new(),
                message: self.to_string(),
                location: None,
            }],
            Self::Invalid(issues) => issues.clone(),
        }
    }
}

fn join(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
