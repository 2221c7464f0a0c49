//! Error types shared by every lab and by the runner.

use thiserror::Error;

/// Everything that can go wrong inside the engine, phrased for a person to read.
#[derive(Debug, Error)]
pub enum LabError {
    /// A configuration value is out of range or inconsistent.
    #[error("bad value for `{key}`: {message}")]
    Config {
        /// The config key at fault.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// A knob name the lab does not have, or a value of the wrong kind.
    #[error("knob `{0}`: {1}")]
    Knob(String, String),
    /// An action the lab cannot carry out (malformed, stale id, wrong moment).
    #[error("action: {0}")]
    Action(String),
    /// A dataset file could not be read or is malformed.
    #[error("{path}: {message}")]
    Data {
        /// The file (or embedded asset) that failed.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A tensor computation failed (device lost, shape mismatch in data read-back...).
    #[error("compute error: {0}")]
    Compute(String),
    /// A preset file or override is malformed.
    #[error("{0}")]
    Preset(String),
    /// Any other I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl LabError {
    /// Shorthand for a [`LabError::Config`].
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        LabError::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a [`LabError::Data`].
    pub fn data(path: impl Into<String>, message: impl Into<String>) -> Self {
        LabError::Data {
            path: path.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a [`LabError::Compute`].
    pub fn compute(message: impl std::fmt::Display) -> Self {
        LabError::Compute(message.to_string())
    }
}

/// The message of a caught panic (`catch_unwind`'s payload): the text given to `panic!`, or
/// "unknown panic" for a payload that is not a string. The runner and the CLI both show it.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_text_reads_str_and_string_payloads() {
        let caught = |f: fn()| std::panic::catch_unwind(f).expect_err("it panics");
        assert_eq!(panic_text(&*caught(|| panic!("plain"))), "plain");
        assert_eq!(
            panic_text(&*caught(|| panic!("formatted {}", 7))),
            "formatted 7"
        );
        assert_eq!(panic_text(&42u8), "unknown panic");
    }
}
