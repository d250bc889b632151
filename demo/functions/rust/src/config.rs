//! The function's settings, read once at cold start into a plain struct.

use thiserror::Error;

/// Name of the variable that holds the DynamoDB table name (set by the stack).
pub const ENV_TABLE_NAME: &str = "TABLE_NAME";
/// Name of the variable that sets how many writes make a batch.
pub const ENV_BATCH_SIZE: &str = "BATCH_SIZE";
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
        Ok(Config {
            table_name,
            batch_size,
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
                batch_size: DEFAULT_BATCH_SIZE
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
}
