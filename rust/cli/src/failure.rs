//! How a command fails, and the exit code each kind of failure gets.

use std::process::ExitCode;

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code when the work itself failed (build, I/O).
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the command line is wrong; clap uses it too.
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line asks for something impossible; the message names the
    /// option and the fix.
    #[error("{0}")]
    Usage(String),
    /// The command line was fine but the work failed.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Failed(_) => EXIT_FAILED,
        })
    }
}
