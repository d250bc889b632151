//! The function's settings, read once at cold start into a plain struct.

use thiserror::Error;

/// Name of the variable that holds the DynamoDB table name (set by the stack).
pub const ENV_TABLE_NAME: &str = "TABLE_NAME";
/// Name of the variable that sets how many writes make a batch.
pub const ENV_BATCH_SIZE: &str = "BATCH_SIZE";
/// Name of the variable that says how the shutdown handler stores the last
/// batch: `direct` (itself, default) or `handoff` (hands it to the layer).
pub const ENV_SHUTDOWN_FLUSH: &str = "SHUTDOWN_FLUSH";
/// Writes per batch when `BATCH_SIZE` is unset.
pub const DEFAULT_BATCH_SIZE: usize = 10;
/// DynamoDB's `BatchWriteItem` takes at most 25 items per request.
pub const MAX_BATCH_SIZE: usize = 25;

/// What the function needs to know about its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// DynamoDB table the writes go to.
    pub table_name: String,
    /// Writes kept in memory before a batch is written.
    pub batch_size: usize,
    /// How the shutdown handler stores the last batch.
    pub flush: Flush,
}

/// How the shutdown handler stores the last batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// It writes the batch itself, within the handlers' budget.
    Direct,
    /// It hands the signed `BatchWriteItem` to the layer, which sends it
    /// after the runtime has gone (`docs/protocol.md`, Handoff).
    Handoff,
}

/// A missing or bad setting, naming the variable and the fix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{ENV_TABLE_NAME} is not set: set it to the name of the DynamoDB table to write to")]
    MissingTable,
    #[error(
        "{ENV_BATCH_SIZE}={value:?} is not valid: use a whole number from 1 to {MAX_BATCH_SIZE}"
    )]
    BadBatchSize { value: String },
    #[error("{ENV_SHUTDOWN_FLUSH}={value:?} is not valid: use direct or handoff")]
    BadFlush { value: String },
}

impl Config {
    /// Read the settings from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Build the settings from any variable lookup (pure; tests use it).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let table_name = lookup(ENV_TABLE_NAME)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(ConfigError::MissingTable)?;
        let batch_size = match lookup(ENV_BATCH_SIZE) {
            None => DEFAULT_BATCH_SIZE,
            Some(value) => match value.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
                _ => return Err(ConfigError::BadBatchSize { value }),
            },
        };
        let flush = match lookup(ENV_SHUTDOWN_FLUSH).as_deref().map(str::trim) {
            None | Some("" | "direct") => Flush::Direct,
            Some("handoff") => Flush::Handoff,
            Some(value) => {
                return Err(ConfigError::BadFlush {
                    value: value.to_owned(),
                })
            }
        };
        Ok(Config {
            table_name,
            batch_size,
            flush,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn reads_table_and_defaults_the_batch_size() {
        let config = Config::from_lookup(lookup(&[("TABLE_NAME", "writes")])).unwrap();
        assert_eq!(
            config,
            Config {
                table_name: "writes".into(),
                batch_size: DEFAULT_BATCH_SIZE,
                flush: Flush::Direct,
            }
        );
    }

    #[test]
    fn missing_table_names_the_variable() {
        let error = Config::from_lookup(lookup(&[("TABLE_NAME", "  ")])).unwrap_err();
        assert_eq!(error, ConfigError::MissingTable);
        assert!(error.to_string().contains("TABLE_NAME"));
    }

    #[test]
    fn batch_size_must_fit_one_batch_write_request() {
        for bad in ["0", "26", "ten", "-1"] {
            let error = Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("BATCH_SIZE", bad)]))
                .unwrap_err();
            assert!(error.to_string().contains("BATCH_SIZE"), "{error}");
        }
        let config =
            Config::from_lookup(lookup(&[("TABLE_NAME", "t"), ("BATCH_SIZE", "25")])).unwrap();
        assert_eq!(config.batch_size, 25);
    }

    #[test]
    fn the_flush_is_direct_or_handoff_and_anything_else_is_named() {
        let with = |v: &'static str| {
            let pairs = [("TABLE_NAME", "t"), ("SHUTDOWN_FLUSH", v)];
            Config::from_lookup(lookup(&pairs))
        };
        assert_eq!(with("handoff").unwrap().flush, Flush::Handoff);
        assert_eq!(with("direct").unwrap().flush, Flush::Direct);
        let error = with("later").unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"SHUTDOWN_FLUSH="later" is not valid: use direct or handoff"#
        );
    }
}
