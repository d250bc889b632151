//! The environment variables a function needs next to the layer: the same
//! names and values the construct library sets.

use clap::ValueEnum;
use graceful_shutdown_protocol::{ENV_METRICS, ENV_PORT, ENV_TIMEOUT_MS};
use serde::Serialize;

/// Whether the extension also logs its verdict as a CloudWatch EMF metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metrics {
    /// Only the verdict log line.
    #[default]
    Off,
    /// Also an Embedded Metric Format line (a CloudWatch metric, no API calls).
    Emf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub port: u16,
    pub timeout_ms: u32,
    pub metrics: Metrics,
}

/// One environment variable, as the templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvVar {
    pub name: &'static str,
    pub value: String,
}

impl Settings {
    /// The variables to set on the function, in a stable order. Port and
    /// timeout are always written, even at their defaults, so that the
    /// deployed configuration says what it runs with.
    pub fn env_vars(&self) -> Vec<EnvVar> {
        let mut vars = vec![
            EnvVar {
                name: ENV_PORT,
                value: self.port.to_string(),
            },
            EnvVar {
                name: ENV_TIMEOUT_MS,
                value: self.timeout_ms.to_string(),
            },
        ];
        if self.metrics == Metrics::Emf {
            vars.push(EnvVar {
                name: ENV_METRICS,
                value: "emf".into(),
            });
        }
        vars
    }

    /// `NAME=value` lines, the format of an env file (`docker --env-file`,
    /// `set -a; . file`).
    pub fn env_file(&self) -> String {
        self.env_vars()
            .iter()
            .map(|v| format!("{}={}\n", v.name, v.value))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_lists_port_and_timeout_and_metrics_only_when_on() {
        let s = Settings {
            port: 4471,
            timeout_ms: 250,
            metrics: Metrics::Off,
        };
        assert_eq!(
            s.env_file(),
            "GRACEFUL_SHUTDOWN_PORT=4471\nGRACEFUL_SHUTDOWN_TIMEOUT_MS=250\n"
        );
        let s = Settings {
            metrics: Metrics::Emf,
            ..s
        };
        assert!(s.env_file().ends_with("GRACEFUL_SHUTDOWN_METRICS=emf\n"));
    }
}
