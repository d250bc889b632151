//! The one contract of the project, and only that:
//!
//! - [`lambda`]: the Lambda API vocabulary (Extensions API and Runtime API
//!   paths, header names, error types) and [`event`]: the events of
//!   `/event/next` with the one [`ShutdownReason`];
//! - [`report`]: the report schema, what a function library tells the
//!   extension; [`wire`]: its encoding, the HTTP request to loopback;
//! - [`limits`] and [`config`]: names, defaults and limits from
//!   `spec/limits.json`, and the parsers of the settings both sides read;
//! - [`verdict`]: the extension's verdict as data, and the one parser of
//!   its line (text and JSON).
//!
//! What one side alone does with it (the extension deciding and logging its
//! verdict, the library running handlers) lives in that side's crate.
//! Everything here is pure: no I/O, no environment reads.
//!
//! The protocol is documented in `docs/protocol.md` at the repository root.

pub mod config;
pub mod event;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod handoff;
pub mod lambda;
pub mod limits;
pub mod report;
pub mod text;
pub mod verdict;
pub mod wire;

pub use config::{parse_port, parse_timeout_ms, ConfigError};
pub use event::{Event, EventError, ShutdownReason};
pub use handoff::{Handoff, HandoffError, HandoffRequest};
pub use limits::limits;
pub use report::{HandlerName, Report, WorkerReport};

/// Prefix shared by every variable the product reads.
pub const ENV_PREFIX: &str = "GRACEFUL_SHUTDOWN_";
/// Loopback port on which the extension listens for reports.
pub const ENV_PORT: &str = "GRACEFUL_SHUTDOWN_PORT";
/// Budget, in milliseconds, that the function's handlers get on SIGTERM.
pub const ENV_TIMEOUT_MS: &str = "GRACEFUL_SHUTDOWN_TIMEOUT_MS";
/// Path of the per-environment secret file (mode 0600) written by the extension.
pub const ENV_SECRET_FILE: &str = "GRACEFUL_SHUTDOWN_SECRET_FILE";
/// `emf` to also log the verdict as a CloudWatch Embedded Metric Format line; `off` (default).
pub const ENV_METRICS: &str = "GRACEFUL_SHUTDOWN_METRICS";
/// PEM file of the certificate authorities the handoff trusts for `https://`
/// instead of the built-in Mozilla roots (a private endpoint, a test CA).
pub const ENV_HANDOFF_CA_FILE: &str = "GRACEFUL_SHUTDOWN_HANDOFF_CA_FILE";

/// Name the extension registers with; also its file name under `/opt/extensions/`.
pub const EXTENSION_NAME: &str = "graceful-shutdown";
/// Path of the report endpoint on the extension's loopback listener.
pub const REPORT_PATH: &str = "/v1/report";
/// Header that carries the per-environment secret on every report.
pub const SECRET_HEADER: &str = "x-graceful-shutdown-secret";
/// Largest report body the extension reads; bigger bodies get 413.
pub const MAX_REPORT_BYTES: usize = 4096;
/// Default location of the secret file.
pub const DEFAULT_SECRET_FILE: &str = "/tmp/.graceful-shutdown.secret";
/// Marker that starts every text verdict line, so that logs can be searched for it.
pub const VERDICT_MARKER: &str = "graceful-shutdown verdict";

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants above and `spec/limits.json` must never drift apart.
    #[test]
    fn constants_match_the_limits_file() {
        let l = limits();
        assert_eq!(l.extension_name, EXTENSION_NAME);
        assert_eq!(l.env.port, ENV_PORT);
        assert_eq!(l.env.timeout_ms, ENV_TIMEOUT_MS);
        assert_eq!(l.env.secret_file, ENV_SECRET_FILE);
        assert_eq!(l.env.metrics, ENV_METRICS);
        assert_eq!(l.env.handoff_ca_file, ENV_HANDOFF_CA_FILE);
        assert_eq!(l.report_path, REPORT_PATH);
        assert_eq!(l.secret_header, SECRET_HEADER);
        assert_eq!(l.max_report_bytes, MAX_REPORT_BYTES);
        assert_eq!(l.secret_file_default, DEFAULT_SECRET_FILE);
        assert_eq!(l.max_name_bytes, report::MAX_NAME_BYTES);
        assert_eq!(l.max_error_bytes, report::MAX_ERROR_BYTES);
        assert_eq!(l.max_reason_bytes, event::MAX_REASON_BYTES);
        for name in [
            ENV_PORT,
            ENV_TIMEOUT_MS,
            ENV_SECRET_FILE,
            ENV_METRICS,
            ENV_HANDOFF_CA_FILE,
        ] {
            assert!(name.starts_with(ENV_PREFIX), "{name}");
        }
    }
}
