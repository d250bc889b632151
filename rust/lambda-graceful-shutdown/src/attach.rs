//! The cold-start check: is the shutdown extension attached?
//!
//! The extension writes the per-environment secret file before it registers,
//! and Lambda starts extensions before the runtime, so at cold start the file
//! is there exactly when the extension is. Checking costs one small file read
//! and no network, so init is not delayed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use graceful_shutdown_protocol::{ENV_SECRET_FILE, EXTENSION_NAME};

use crate::fallback;

/// Longest secret accepted; the extension writes 64 hex characters.
const MAX_SECRET_CHARS: usize = 512;

/// Read the secret, or say why the extension looks absent.
pub(crate) fn read_secret(path: &Path) -> Result<String, String> {
    let raw = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{} does not exist", path.display()),
        _ => format!("{} cannot be read: {e}", path.display()),
    })?;
    let secret = raw.trim();
    // The secret goes into a header line: refuse anything that could break it.
    let printable = secret.chars().all(|c| c.is_ascii_graphic());
    if secret.is_empty() || !printable || secret.len() > MAX_SECRET_CHARS {
        return Err(format!(
            "{} does not hold a secret (expected one line of printable text)",
            path.display()
        ));
    }
    Ok(secret.to_owned())
}

/// The warning for a missing extension, naming the handlers that will not run.
pub(crate) fn missing_warning(reason: &str, handler_names: &[String]) -> String {
    let handlers = if handler_names.is_empty() {
        String::from("(none registered yet)")
    } else {
        handler_names.join(", ")
    };
    format!(
        "graceful-shutdown: the {EXTENSION_NAME} extension is not attached ({ENV_SECRET_FILE}: {reason}). \
         Without a registered extension Lambda sends no SIGTERM: it kills the function without warning, \
         so these shutdown handlers will NOT run when the environment is retired: {handlers}. \
         Fix: attach the {EXTENSION_NAME} layer to this function (the CDK construct library does it for you; \
         without the CDK, `gracefulctl render` prints the SAM, CloudFormation and Terraform snippets), \
         and keep {ENV_SECRET_FILE} the same for the function and the extension. \
         The handlers still run on SIGTERM or SIGINT, for example in local runs; nothing is reported."
    )
}

/// Log the missing-extension warning, once per process; on stderr when the
/// function has no `tracing` subscriber, so that it is never silent.
pub(crate) fn warn_missing_once(reason: &str, handler_names: &[String]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        let warning = missing_warning(reason, handler_names);
        if fallback::has_subscriber() {
            tracing::warn!("{warning}");
        } else {
            fallback::to_stderr(&warning);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_secret_and_refuses_bad_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = dir.path().join("good");
        std::fs::write(&good, format!("{}\n", "ab".repeat(32))).expect("write");
        assert_eq!(read_secret(&good), Ok("ab".repeat(32)));

        let missing = dir.path().join("missing");
        let err = read_secret(&missing).expect_err("missing");
        assert!(err.ends_with("missing does not exist"), "{err}");

        let injected = dir.path().join("injected");
        std::fs::write(&injected, "abc\r\nx-evil: 1").expect("write");
        assert!(read_secret(&injected)
            .expect_err("injected")
            .contains("does not hold a secret"));

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").expect("write");
        assert!(read_secret(&empty).is_err());
    }

    #[test]
    fn warning_says_why_and_how_to_fix() {
        let w = missing_warning(
            "/tmp/x does not exist",
            &["flush".into(), "close-pool".into()],
        );
        assert!(
            w.contains("GRACEFUL_SHUTDOWN_SECRET_FILE: /tmp/x does not exist"),
            "{w}"
        );
        assert!(w.contains("Lambda sends no SIGTERM"), "{w}");
        assert!(
            w.contains("will NOT run when the environment is retired: flush, close-pool"),
            "{w}"
        );
        assert!(w.contains("attach the graceful-shutdown layer"), "{w}");
    }
}
