//! Parsers for the two settings both sides read. Each error names the
//! variable and the value, in the form `VAR: expected ..., got "value"`.

use crate::limits::limits;
use crate::{ENV_PORT, ENV_TIMEOUT_MS};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The value is quoted as a JSON string, as every language can write it
    /// (Rust's `{:?}` escapes differently: `\0`, `\u{7f}`), so that the message
    /// is the same word for word in every library (`spec/vectors/settings.json`).
    #[error("{var}: expected {expected}, got {}", json_quoted(value))]
    Invalid {
        var: &'static str,
        expected: String,
        value: String,
    },
}

fn json_quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}

impl ConfigError {
    fn invalid(var: &'static str, expected: impl Into<String>, value: &str) -> Self {
        ConfigError::Invalid {
            var,
            expected: expected.into(),
            value: value.to_owned(),
        }
    }

    /// The variable the error is about.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Invalid { var, .. } => var,
        }
    }
}

/// Parse `GRACEFUL_SHUTDOWN_PORT`: a loopback port in the allowed range that
/// no common Lambda component already uses.
pub fn parse_port(raw: &str) -> Result<u16, ConfigError> {
    let l = &limits().port;
    let range = format!("a port number from {} to {}", l.min, l.max);
    let port: u32 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::invalid(ENV_PORT, range.clone(), raw))?;
    if port < u32::from(l.min) || port > u32::from(l.max) {
        return Err(ConfigError::invalid(ENV_PORT, range, raw));
    }
    let port = port as u16;
    if let Some(user) = l.reserved_by(port) {
        return Err(ConfigError::invalid(
            ENV_PORT,
            format!("a port not used by {user} (default {})", l.default),
            raw,
        ));
    }
    Ok(port)
}

/// Parse `GRACEFUL_SHUTDOWN_TIMEOUT_MS`: whole milliseconds that fit inside
/// the runtime's share of the shutdown phase.
pub fn parse_timeout_ms(raw: &str) -> Result<u32, ConfigError> {
    let l = &limits().timeout_ms;
    let t = &limits().shutdown;
    let ms: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::invalid(ENV_TIMEOUT_MS, "milliseconds", raw))?;
    if ms < u64::from(l.min) || ms > u64::from(l.max) {
        return Err(ConfigError::invalid(
            ENV_TIMEOUT_MS,
            format!(
                "milliseconds from {} to {} (the runtime's {} ms share of the shutdown \
                 phase, less {} ms for the last reports and the exit)",
                l.min, l.max, t.runtime_share_ms, t.runtime_exit_reserve_ms
            ),
            raw,
        ));
    }
    Ok(ms as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_values() {
        assert_eq!(parse_port("4471"), Ok(4471));
        assert_eq!(parse_port(" 20000 "), Ok(20000));
        assert_eq!(parse_timeout_ms("250"), Ok(250));
        assert_eq!(parse_timeout_ms("1"), Ok(1));
        assert_eq!(parse_timeout_ms("280"), Ok(280));
    }

    #[test]
    fn messages_name_variable_and_value() {
        assert_eq!(
            parse_timeout_ms("abc").expect_err("refused").to_string(),
            r#"GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc""#
        );
        assert_eq!(
            parse_port("70000").expect_err("refused").to_string(),
            r#"GRACEFUL_SHUTDOWN_PORT: expected a port number from 1024 to 65535, got "70000""#
        );
        assert_eq!(
            parse_port("9001").expect_err("refused").to_string(),
            r#"GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API (default 4471), got "9001""#
        );
        let e = parse_timeout_ms("281").expect_err("refused");
        assert_eq!(e.var(), ENV_TIMEOUT_MS);
        assert!(e.to_string().contains("from 1 to 280"), "{e}");
    }

    #[test]
    fn refuses_every_bad_value() {
        for bad in [
            "", " ", "-1", "0", "80", "1023", "65536", "4471.0", "0x1177", "port",
        ] {
            assert!(parse_port(bad).is_err(), "port {bad:?}");
        }
        for reserved in [9001, 8080, 2772, 2773] {
            assert!(parse_port(&reserved.to_string()).is_err(), "{reserved}");
        }
        for bad in ["", "0", "-5", "1.5", "301", "99999999999999999999", "250ms"] {
            assert!(parse_timeout_ms(bad).is_err(), "timeout {bad:?}");
        }
    }
}
