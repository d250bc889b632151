//! The library's settings, read once from the environment into a plain struct.
//!
//! The extension refuses bad values at init (`Extension.ConfigInvalid`), so a
//! bad value only reaches the library when the layer is missing. Then the
//! library logs one line naming the variable and the value, and uses the
//! default: a typo must never stop a function from starting.

use std::env::VarError;
use std::path::PathBuf;
use std::time::Duration;

use graceful_shutdown_protocol::{
    limits, parse_port, parse_timeout_ms, ConfigError, DEFAULT_SECRET_FILE, ENV_PORT,
    ENV_SECRET_FILE, ENV_TIMEOUT_MS,
};

use crate::fallback;

/// Where the reports go and how long the handlers may take.
///
/// Build it with [`Config::from_env`] in a function, or directly in a test:
///
/// ```
/// use std::time::Duration;
/// let config = lambda_graceful_shutdown::Config {
///     timeout: Duration::from_millis(100),
///     ..lambda_graceful_shutdown::Config::default()
/// };
/// assert_eq!(config.port, 4471);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Loopback port of the extension's report listener (`GRACEFUL_SHUTDOWN_PORT`).
    pub port: u16,
    /// Budget for all handlers together, counted from the signal (`GRACEFUL_SHUTDOWN_TIMEOUT_MS`).
    pub timeout: Duration,
    /// File holding the per-environment secret the extension writes (`GRACEFUL_SHUTDOWN_SECRET_FILE`).
    pub secret_file: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        let l = limits();
        Config {
            port: l.port.default,
            timeout: Duration::from_millis(u64::from(l.timeout_ms.default)),
            secret_file: PathBuf::from(DEFAULT_SECRET_FILE),
        }
    }
}

impl Config {
    /// Read the settings from the process environment. Call it once, at cold start.
    /// Each bad value is logged (on stderr if the function has no `tracing`
    /// subscriber); a value that is not UTF-8 is a bad value.
    pub fn from_env() -> Config {
        let (config, problems) = Config::from_vars(|name| std::env::var(name));
        let subscriber = fallback::has_subscriber();
        for problem in problems {
            if subscriber {
                tracing::warn!(variable = problem.var(), "{problem}");
            } else {
                fallback::to_stderr(&format!("graceful-shutdown: {problem}"));
            }
        }
        config
    }

    /// Build the settings from any variable lookup. Returns the settings and one
    /// message per bad value (each names the variable, the value and the default
    /// used instead). Pure: [`Config::from_env`] is this plus logging.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Config, Vec<BadSetting>) {
        Config::from_vars(|name| lookup(name).ok_or(VarError::NotPresent))
    }

    /// [`Config::from_lookup`] with the answers of `std::env::var`: a value
    /// that is not UTF-8 is a bad value (named, then the default is used).
    fn from_vars(lookup: impl Fn(&str) -> Result<String, VarError>) -> (Config, Vec<BadSetting>) {
        let mut config = Config::default();
        let mut problems = Vec::new();
        let mut read = |var: &'static str, default: String| match lookup(var) {
            Ok(raw) => Some(raw),
            Err(VarError::NotPresent) => None,
            Err(VarError::NotUnicode(raw)) => {
                problems.push(BadSetting {
                    error: ConfigError::Invalid {
                        var,
                        expected: String::from("UTF-8 text"),
                        value: raw.to_string_lossy().into_owned(),
                    },
                    default,
                });
                None
            }
        };
        let port = read(ENV_PORT, config.port.to_string());
        let timeout = read(ENV_TIMEOUT_MS, config.timeout.as_millis().to_string());
        let secret_file = read(ENV_SECRET_FILE, DEFAULT_SECRET_FILE.to_owned());
        if let Some(raw) = port {
            match parse_port(&raw) {
                Ok(port) => config.port = port,
                Err(error) => problems.push(BadSetting {
                    error,
                    default: config.port.to_string(),
                }),
            }
        }
        if let Some(raw) = timeout {
            match parse_timeout_ms(&raw) {
                Ok(ms) => config.timeout = Duration::from_millis(u64::from(ms)),
                Err(error) => problems.push(BadSetting {
                    error,
                    default: config.timeout.as_millis().to_string(),
                }),
            }
        }
        if let Some(raw) = secret_file {
            // A NUL cannot be in a path the kernel opens (nor in a real
            // environment variable); refused as the other libraries refuse it.
            if raw.trim().is_empty() || raw.contains('\0') {
                problems.push(BadSetting {
                    error: ConfigError::Invalid {
                        var: ENV_SECRET_FILE,
                        expected: String::from("a file path"),
                        value: raw,
                    },
                    default: DEFAULT_SECRET_FILE.to_owned(),
                });
            } else {
                config.secret_file = PathBuf::from(raw);
            }
        }
        (config, problems)
    }
}

/// A variable whose value was refused; the default was used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSetting {
    /// What was wrong, naming the variable and the value.
    pub error: ConfigError,
    /// The value used instead.
    pub default: String,
}

impl BadSetting {
    /// The variable the problem is about.
    pub fn var(&self) -> &'static str {
        self.error.var()
    }
}

impl std::fmt::Display for BadSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; using the default {}", self.error, self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_come_from_the_limits_file() {
        let (config, problems) = Config::from_lookup(lookup(&[]));
        assert!(problems.is_empty());
        assert_eq!(config.port, limits().port.default);
        assert_eq!(config.timeout, Duration::from_millis(250));
        assert_eq!(
            config.secret_file,
            PathBuf::from("/tmp/.graceful-shutdown.secret")
        );
    }

    #[test]
    fn good_values_are_used() {
        let (config, problems) = Config::from_lookup(lookup(&[
            (ENV_PORT, "20001"),
            (ENV_TIMEOUT_MS, "120"),
            (ENV_SECRET_FILE, "/tmp/x.secret"),
        ]));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.port, 20001);
        assert_eq!(config.timeout, Duration::from_millis(120));
        assert_eq!(config.secret_file, PathBuf::from("/tmp/x.secret"));
    }

    #[test]
    fn values_that_are_not_utf8_are_bad_values_not_unset() {
        use std::os::unix::ffi::OsStringExt;
        let (config, problems) = Config::from_vars(|name| match name {
            ENV_TIMEOUT_MS => Err(VarError::NotUnicode(std::ffi::OsString::from_vec(vec![
                b'1', 0xff, b'0',
            ]))),
            ENV_PORT => Ok(String::from("20001")),
            _ => Err(VarError::NotPresent),
        });
        assert_eq!(config.port, 20001);
        assert_eq!(config.timeout, Config::default().timeout);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].var(), ENV_TIMEOUT_MS);
        assert_eq!(
            problems[0].to_string(),
            "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected UTF-8 text, got \"1\u{fffd}0\"; using the default 250"
        );
        let (config, problems) = Config::from_vars(|name| match name {
            ENV_SECRET_FILE => Err(VarError::NotUnicode(std::ffi::OsString::from_vec(vec![
                0xfe,
            ]))),
            _ => Err(VarError::NotPresent),
        });
        assert_eq!(config.secret_file, PathBuf::from(DEFAULT_SECRET_FILE));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].var(), ENV_SECRET_FILE);
    }

    #[test]
    fn bad_values_name_variable_and_value_and_fall_back() {
        let (config, problems) = Config::from_lookup(lookup(&[
            (ENV_PORT, "9001"),
            (ENV_TIMEOUT_MS, "5000"),
            (ENV_SECRET_FILE, " "),
        ]));
        assert_eq!(config, Config::default());
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with(
                r#"GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API"#
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].ends_with(r#"got "9001"; using the default 4471"#),
            "{}",
            lines[0]
        );
        assert!(
            lines[1]
                .starts_with("GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with(r#"got "5000"; using the default 250"#),
            "{}",
            lines[1]
        );
        assert_eq!(problems[2].var(), ENV_SECRET_FILE);
    }
}
