//! The extension's settings, read once from the environment into a plain
//! struct. Every error names the variable, the value and what was expected.

use std::env::VarError;
use std::path::{Path, PathBuf};

use graceful_shutdown_protocol::{
    limits, parse_port, parse_timeout_ms, ConfigError, DEFAULT_SECRET_FILE, ENV_METRICS, ENV_PORT,
    ENV_SECRET_FILE, ENV_TIMEOUT_MS, EXTENSION_NAME,
};

use crate::log::{LogFormat, LogLevel};

/// Where the Extensions API lives, as Lambda sets it (`host:port`).
pub use graceful_shutdown_protocol::lambda::ENV_RUNTIME_API;
/// `JSON` or `Text`, set by Lambda from the function's logging configuration.
pub const ENV_LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// `TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR` or `FATAL`.
pub const ENV_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";

/// Whether the verdict is also logged as a CloudWatch EMF metric line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metrics {
    Off,
    Emf,
}

/// Everything the extension reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Loopback port of the report listener.
    pub port: u16,
    /// The handlers' budget, checked here so that a bad value is loud at init.
    pub timeout_ms: u32,
    /// Where the per-environment secret is written.
    pub secret_file: PathBuf,
    pub metrics: Metrics,
}

/// How the extension logs. Parsed apart from [`Config`] because it is needed
/// before anything else, and because Lambda, not the user, sets these: an
/// unknown value falls back to the default (with a warning) instead of failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: LogLevel,
    /// Values that were not understood, as `(variable, value)`, to warn about once logging works.
    pub ignored: Vec<(&'static str, String)>,
}

impl Config {
    /// Read the settings from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_vars(|name| std::env::var(name))
    }

    /// Read the settings through `lookup` (a map in tests). Unset variables
    /// take their documented defaults; a set variable must be valid.
    #[cfg(test)]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::from_vars(|name| lookup(name).ok_or(VarError::NotPresent))
    }

    /// [`Config::from_lookup`] with the answers of `std::env::var`: a value
    /// that is not UTF-8 is refused like any other bad value, naming the variable.
    fn from_vars(lookup: impl Fn(&str) -> Result<String, VarError>) -> Result<Config, ConfigError> {
        let lookup = |var: &'static str| match lookup(var) {
            Ok(raw) => Ok(Some(raw)),
            Err(VarError::NotPresent) => Ok(None),
            Err(VarError::NotUnicode(raw)) => Err(ConfigError::Invalid {
                var,
                expected: String::from("UTF-8 text"),
                value: raw.to_string_lossy().into_owned(),
            }),
        };
        let l = limits();
        let port = match lookup(ENV_PORT)? {
            Some(raw) => parse_port(&raw)?,
            None => l.port.default,
        };
        let timeout_ms = match lookup(ENV_TIMEOUT_MS)? {
            Some(raw) => parse_timeout_ms(&raw)?,
            None => l.timeout_ms.default,
        };
        let secret_file = match lookup(ENV_SECRET_FILE)? {
            Some(raw) if raw.trim().is_empty() => {
                return Err(ConfigError::Invalid {
                    var: ENV_SECRET_FILE,
                    expected: format!("a writable file path (default {DEFAULT_SECRET_FILE})"),
                    value: raw,
                })
            }
            Some(raw) => PathBuf::from(raw),
            None => PathBuf::from(DEFAULT_SECRET_FILE),
        };
        let metrics = match lookup(ENV_METRICS)? {
            None => Metrics::Off,
            Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
                "" | "off" => Metrics::Off,
                "emf" => Metrics::Emf,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: ENV_METRICS,
                        expected: String::from("\"off\" or \"emf\""),
                        value: raw,
                    })
                }
            },
        };
        Ok(Config {
            port,
            timeout_ms,
            secret_file,
            metrics,
        })
    }
}

impl LogSettings {
    pub fn from_env() -> LogSettings {
        LogSettings::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> LogSettings {
        let mut ignored = Vec::new();
        let format = match lookup(ENV_LOG_FORMAT) {
            None => LogFormat::Text,
            Some(raw) => LogFormat::parse(&raw).unwrap_or_else(|| {
                ignored.push((ENV_LOG_FORMAT, raw));
                LogFormat::Text
            }),
        };
        let level = match lookup(ENV_LOG_LEVEL) {
            None => LogLevel::Info,
            Some(raw) => LogLevel::parse(&raw).unwrap_or_else(|| {
                ignored.push((ENV_LOG_LEVEL, raw));
                LogLevel::Info
            }),
        };
        LogSettings {
            format,
            level,
            ignored,
        }
    }
}

/// The Extensions API address, `host:port`. Without it there is nobody to
/// register with or to report an error to.
pub fn runtime_api(lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    match lookup(ENV_RUNTIME_API) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_owned()),
        Some(v) => Err(format!(
            "{ENV_RUNTIME_API}: expected host:port of the Lambda Extensions API, got {v:?}"
        )),
        None => Err(format!(
            "{ENV_RUNTIME_API} is not set: this program is a Lambda extension and must be started by Lambda (or a Lambda emulator) from /opt/extensions/"
        )),
    }
}

/// The file name this program was started as: Lambda requires the name an
/// extension registers with to equal its file name under `/opt/extensions/`.
pub fn extension_name() -> String {
    let from_path = |p: &Path| p.file_name().and_then(|n| n.to_str()).map(str::to_owned);
    std::env::args_os()
        .next()
        .and_then(|arg0| from_path(Path::new(&arg0)))
        .filter(|n| !n.is_empty())
        .or_else(|| std::env::current_exe().ok().and_then(|p| from_path(&p)))
        .unwrap_or_else(|| EXTENSION_NAME.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn defaults_come_from_the_limits_file() {
        let c = Config::from_lookup(env(&[])).expect("defaults are valid");
        assert_eq!(
            c,
            Config {
                port: 4471,
                timeout_ms: 250,
                secret_file: PathBuf::from("/tmp/.graceful-shutdown.secret"),
                metrics: Metrics::Off,
            }
        );
    }

    #[test]
    fn reads_every_setting() {
        let c = Config::from_lookup(env(&[
            ("GRACEFUL_SHUTDOWN_PORT", "20000"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "280"),
            ("GRACEFUL_SHUTDOWN_SECRET_FILE", "/tmp/x.secret"),
            ("GRACEFUL_SHUTDOWN_METRICS", "EMF"),
        ]))
        .expect("valid");
        assert_eq!(c.port, 20000);
        assert_eq!(c.timeout_ms, 280);
        assert_eq!(c.secret_file, PathBuf::from("/tmp/x.secret"));
        assert_eq!(c.metrics, Metrics::Emf);
        let off = Config::from_lookup(env(&[("GRACEFUL_SHUTDOWN_METRICS", "off")])).expect("valid");
        assert_eq!(off.metrics, Metrics::Off);
    }

    #[test]
    fn every_bad_value_names_its_variable_and_value() {
        let cases: &[(&str, &str)] = &[
            ("GRACEFUL_SHUTDOWN_PORT", "abc"),
            ("GRACEFUL_SHUTDOWN_PORT", ""),
            ("GRACEFUL_SHUTDOWN_PORT", "-1"),
            ("GRACEFUL_SHUTDOWN_PORT", "0"),
            ("GRACEFUL_SHUTDOWN_PORT", "80"),
            ("GRACEFUL_SHUTDOWN_PORT", "1023"),
            ("GRACEFUL_SHUTDOWN_PORT", "65536"),
            ("GRACEFUL_SHUTDOWN_PORT", "9001"),
            ("GRACEFUL_SHUTDOWN_PORT", "8080"),
            ("GRACEFUL_SHUTDOWN_PORT", "2772"),
            ("GRACEFUL_SHUTDOWN_PORT", "2773"),
            ("GRACEFUL_SHUTDOWN_PORT", "44.71"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "abc"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", ""),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "0"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "-5"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "1.5"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "301"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "5000"),
            ("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "250ms"),
            ("GRACEFUL_SHUTDOWN_SECRET_FILE", ""),
            ("GRACEFUL_SHUTDOWN_SECRET_FILE", "  "),
            ("GRACEFUL_SHUTDOWN_METRICS", "cloudwatch"),
            ("GRACEFUL_SHUTDOWN_METRICS", "1"),
        ];
        for (var, value) in cases {
            let err = Config::from_lookup(env(&[(var, value)]))
                .expect_err(&format!("{var}={value:?} must be refused"));
            assert_eq!(err.var(), *var);
            let msg = err.to_string();
            assert!(msg.starts_with(&format!("{var}: expected ")), "{msg}");
            assert!(msg.ends_with(&format!("got {value:?}")), "{msg}");
        }
    }

    #[test]
    fn values_that_are_not_utf8_are_refused_not_ignored() {
        use std::os::unix::ffi::OsStringExt;
        for var in [
            "GRACEFUL_SHUTDOWN_PORT",
            "GRACEFUL_SHUTDOWN_TIMEOUT_MS",
            "GRACEFUL_SHUTDOWN_SECRET_FILE",
            "GRACEFUL_SHUTDOWN_METRICS",
        ] {
            let err = Config::from_vars(|name| {
                if name == var {
                    Err(VarError::NotUnicode(std::ffi::OsString::from_vec(vec![
                        b'4', 0xff,
                    ])))
                } else {
                    Err(VarError::NotPresent)
                }
            })
            .expect_err(var);
            assert_eq!(err.var(), var);
            assert_eq!(
                err.to_string(),
                format!("{var}: expected UTF-8 text, got \"4\u{fffd}\"")
            );
        }
    }

    #[test]
    fn timeout_beyond_the_runtime_share_says_so() {
        let err = Config::from_lookup(env(&[("GRACEFUL_SHUTDOWN_TIMEOUT_MS", "301")]))
            .expect_err("refused");
        assert!(
            err.to_string().contains(
                "from 1 to 280 (the runtime's 300 ms share of the shutdown phase, less 20 ms"
            ),
            "{err}"
        );
    }

    #[test]
    fn log_settings_follow_lambda_and_tolerate_unknown_values() {
        let s = LogSettings::from_lookup(env(&[]));
        assert_eq!((s.format, s.level), (LogFormat::Text, LogLevel::Info));
        let s = LogSettings::from_lookup(env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "debug"),
        ]));
        assert_eq!((s.format, s.level), (LogFormat::Json, LogLevel::Debug));
        assert!(s.ignored.is_empty());
        let s = LogSettings::from_lookup(env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "yaml"),
            ("AWS_LAMBDA_LOG_LEVEL", "loud"),
        ]));
        assert_eq!((s.format, s.level), (LogFormat::Text, LogLevel::Info));
        assert_eq!(
            s.ignored,
            vec![
                ("AWS_LAMBDA_LOG_FORMAT", String::from("yaml")),
                ("AWS_LAMBDA_LOG_LEVEL", String::from("loud"))
            ]
        );
    }

    #[test]
    fn runtime_api_is_required() {
        assert_eq!(
            runtime_api(env(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")])),
            Ok(String::from("127.0.0.1:9001"))
        );
        let missing = runtime_api(env(&[])).expect_err("missing");
        assert!(
            missing.starts_with("AWS_LAMBDA_RUNTIME_API is not set"),
            "{missing}"
        );
        let empty = runtime_api(env(&[("AWS_LAMBDA_RUNTIME_API", "")])).expect_err("empty");
        assert!(
            empty.contains("AWS_LAMBDA_RUNTIME_API: expected host:port"),
            "{empty}"
        );
    }
}
