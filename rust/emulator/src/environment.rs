//! The environment Lambda gives each process. Extensions and the runtime share
//! the function's configuration; only the runtime gets `_HANDLER`,
//! `LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR` and `AWS_EXECUTION_ENV`.
//! Logging as Lambda does it: `AWS_LAMBDA_LOG_FORMAT` always (`Text` unless the
//! function's logging configuration says `JSON`), `AWS_LAMBDA_LOG_LEVEL` only
//! when an application log level is configured (here: given with `--env`).

use std::collections::BTreeMap;

use crate::scenario::Scenario;

pub type Env = BTreeMap<String, String>;

/// Variables every process of the execution environment sees.
pub fn common(scenario: &Scenario, api_address: &str) -> Env {
    let name = &scenario.function_name;
    let mut env = Env::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set("AWS_LAMBDA_RUNTIME_API", api_address.to_owned());
    set("AWS_LAMBDA_FUNCTION_NAME", name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned());
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        scenario.memory_mb.to_string(),
    );
    set("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"));
    set(
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "2026/01/01/[$LATEST]00000000000000000000000000000000".to_owned(),
    );
    set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned());
    set("AWS_LAMBDA_LOG_FORMAT", "Text".to_owned());
    set("AWS_REGION", "us-east-1".to_owned());
    set("AWS_DEFAULT_REGION", "us-east-1".to_owned());
    set("LANG", "en_US.UTF-8".to_owned());
    set("TZ", ":UTC".to_owned());
    // Lambda's PATH, plus the host's so that scripts can find their interpreters.
    let host_path = std::env::var("PATH").unwrap_or_default();
    set(
        "PATH",
        format!("/usr/local/bin:/usr/bin:/bin:/opt/bin:{host_path}"),
    );
    for (k, v) in &scenario.env {
        env.insert(k.clone(), v.clone());
    }
    env
}

/// The runtime's environment.
pub fn runtime(scenario: &Scenario, api_address: &str) -> Env {
    let mut env = common(scenario, api_address);
    let task_root = scenario.function_dir.display().to_string();
    env.entry("_HANDLER".to_owned())
        .or_insert_with(|| "bootstrap".to_owned());
    env.insert("LAMBDA_TASK_ROOT".to_owned(), task_root);
    env.insert("LAMBDA_RUNTIME_DIR".to_owned(), "/var/runtime".to_owned());
    env.insert(
        "AWS_EXECUTION_ENV".to_owned(),
        "AWS_Lambda_provided.al2023".to_owned(),
    );
    env
}

/// An external extension's environment.
pub fn extension(scenario: &Scenario, api_address: &str) -> Env {
    let mut env = common(scenario, api_address);
    for runtime_only in [
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_EXECUTION_ENV",
    ] {
        env.remove(runtime_only);
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_only_variables_stay_out_of_extensions() {
        let s = Scenario::new("/var/task")
            .env("_HANDLER", "custom")
            .env("APP", "1");
        let rt = runtime(&s, "127.0.0.1:9");
        let ext = extension(&s, "127.0.0.1:9");
        assert_eq!(rt["_HANDLER"], "custom");
        assert_eq!(rt["LAMBDA_TASK_ROOT"], "/var/task");
        assert!(rt.contains_key("AWS_EXECUTION_ENV"));
        for k in [
            "_HANDLER",
            "LAMBDA_TASK_ROOT",
            "AWS_EXECUTION_ENV",
            "LAMBDA_RUNTIME_DIR",
        ] {
            assert!(
                !ext.contains_key(k),
                "{k} leaked into the extension environment"
            );
        }
        assert_eq!(ext["APP"], "1");
        assert_eq!(ext["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9");
        assert_eq!(ext["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    }

    #[test]
    fn log_format_is_always_set_and_log_level_only_when_configured() {
        let plain = Scenario::new("/var/task");
        for env in [runtime(&plain, "a"), extension(&plain, "a")] {
            assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "Text");
            assert!(
                !env.contains_key("AWS_LAMBDA_LOG_LEVEL"),
                "Lambda sets AWS_LAMBDA_LOG_LEVEL only when a level is configured"
            );
        }
        let configured = Scenario::new("/var/task")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG");
        for env in [runtime(&configured, "a"), extension(&configured, "a")] {
            assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "--env overrides");
            assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
        }
    }
}
