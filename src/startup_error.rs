//! The one error of start-up: whatever stops the service before it serves.

use std::fmt;

/// A start-up failure: one line naming the variable, or the file and line, that is wrong.
/// The binary prints it and exits with code 2.
#[derive(Debug)]
pub struct StartupError(pub String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

impl StartupError {
    pub fn new(message: impl Into<String>) -> Self {
        StartupError(message.into())
    }
}
