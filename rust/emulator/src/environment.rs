//! The environment Lambda gives each process. Extensions and the runtime share
//! the function's configuration; only the runtime gets `_HANDLER`,
//! `LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR` and `AWS_EXECUTION_ENV`.
//! Logging as Lambda does it: `AWS_LAMBDA_LOG_FORMAT` always (`Text` unless the
//! function's logging configuration says `JSON`), `AWS_LAMBDA_LOG_LEVEL` only
//! when an application log level is configured (here: given with `--env`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use graceful_shutdown_protocol::lambda::ENV_RUNTIME_API;

use crate::runtimes::Runtime;
use crate::scenario::Scenario;

pub type Env = BTreeMap<String, String>;

/// Variables every process of the execution environment sees.
pub fn common(scenario: &Scenario, api_address: &str) -> Env {
    let mut env = platform(scenario, api_address);
    user(scenario, &mut env);
    env
}

/// The user's `--env` variables on top of `env`. An empty `AWS_EXECUTION_ENV`
/// means unset (Lambda never sets it empty): the Python client's thread
/// polling depends on it, and container images run without it.
fn user(scenario: &Scenario, env: &mut Env) {
    for (k, v) in &scenario.env {
        env.insert(k.clone(), v.clone());
    }
    if env.get("AWS_EXECUTION_ENV").is_some_and(|v| v.is_empty()) {
        env.remove("AWS_EXECUTION_ENV");
    }
    // Managed Instances, also when only the concurrency is given with --env.
    if env.contains_key("AWS_LAMBDA_MAX_CONCURRENCY")
        && !scenario
            .env
            .iter()
            .any(|(k, _)| k == "AWS_LAMBDA_INITIALIZATION_TYPE")
    {
        env.insert(
            "AWS_LAMBDA_INITIALIZATION_TYPE".to_owned(),
            MANAGED_INSTANCES.to_owned(),
        );
    }
}

/// `AWS_LAMBDA_INITIALIZATION_TYPE` on Lambda Managed Instances.
pub const MANAGED_INSTANCES: &str = "lambda-managed-instances";

/// Lambda's own variables, before the user's.
fn platform(scenario: &Scenario, api_address: &str) -> Env {
    let name = &scenario.function_name;
    let mut env = Env::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set(ENV_RUNTIME_API, api_address.to_owned());
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
    match scenario.max_concurrency {
        Some(n) => {
            set(
                "AWS_LAMBDA_INITIALIZATION_TYPE",
                MANAGED_INSTANCES.to_owned(),
            );
            set("AWS_LAMBDA_MAX_CONCURRENCY", n.to_string());
        }
        None => set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
    }
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
    env
}

/// The runtime's environment: Lambda's variables, the runtime-only ones
/// (`_HANDLER`, `LAMBDA_TASK_ROOT`, `LAMBDA_RUNTIME_DIR`,
/// `AWS_EXECUTION_ENV`; on a managed runtime `PYTHONPATH` or `NODE_PATH`
/// from the function directory and `layer_roots`), then the user's.
pub fn runtime(scenario: &Scenario, api_address: &str, layer_roots: &[PathBuf]) -> Env {
    let mut env = platform(scenario, api_address);
    let task_root = scenario.function_dir.display().to_string();
    let handler = scenario
        .handler
        .clone()
        .unwrap_or_else(|| "bootstrap".to_owned());
    env.insert("_HANDLER".to_owned(), handler);
    env.insert("LAMBDA_TASK_ROOT".to_owned(), task_root);
    env.insert("LAMBDA_RUNTIME_DIR".to_owned(), "/var/runtime".to_owned());
    let managed = scenario
        .runtime
        .as_deref()
        .and_then(|id| Runtime::parse(id).ok());
    let execution_env = match &managed {
        Some(m) => {
            if let Some((name, value)) = m.search_path(&scenario.function_dir, layer_roots) {
                env.insert(name, value);
            }
            m.execution_env()
        }
        None => "AWS_Lambda_provided.al2023".to_owned(),
    };
    env.insert("AWS_EXECUTION_ENV".to_owned(), execution_env);
    user(scenario, &mut env);
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
        let rt = runtime(&s, "127.0.0.1:9", &[]);
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
        for env in [runtime(&plain, "a", &[]), extension(&plain, "a")] {
            assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "Text");
            assert!(
                !env.contains_key("AWS_LAMBDA_LOG_LEVEL"),
                "Lambda sets AWS_LAMBDA_LOG_LEVEL only when a level is configured"
            );
        }
        let configured = Scenario::new("/var/task")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG");
        for env in [runtime(&configured, "a", &[]), extension(&configured, "a")] {
            assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "--env overrides");
            assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
        }
    }

    #[test]
    fn managed_runtimes_get_lambdas_variables_and_user_values_win() {
        let s = Scenario::new("/var/task").managed_runtime("python3.12", "app.handler");
        let rt = runtime(&s, "a", &[]);
        assert_eq!(rt["_HANDLER"], "app.handler");
        assert_eq!(rt["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
        assert_eq!(rt["PYTHONPATH"], "/var/task");
        assert_eq!(rt["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
        let unset = s.clone().env("AWS_EXECUTION_ENV", "");
        assert!(!runtime(&unset, "a", &[]).contains_key("AWS_EXECUTION_ENV"));
        let other = s.clone().env("AWS_EXECUTION_ENV", "AWS_Lambda_python3.9");
        assert_eq!(
            runtime(&other, "a", &[])["AWS_EXECUTION_ENV"],
            "AWS_Lambda_python3.9"
        );
        let node = Scenario::new("/var/task").managed_runtime("nodejs22.x", "index.handler");
        assert_eq!(runtime(&node, "a", &[])["NODE_PATH"], "/var/task");
        let java =
            Scenario::new("/var/task").managed_runtime("java21", "example.Handler::handleRequest");
        let rt = runtime(&java, "a", &[]);
        assert_eq!(rt["AWS_EXECUTION_ENV"], "AWS_Lambda_java21");
        assert_eq!(rt["_HANDLER"], "example.Handler::handleRequest");
        assert_eq!(rt["LAMBDA_TASK_ROOT"], "/var/task");
        assert!(!rt.contains_key("PYTHONPATH") && !rt.contains_key("NODE_PATH"));
    }

    #[test]
    fn max_concurrency_means_managed_instances() {
        for s in [
            Scenario::new("/var/task").max_concurrency(4),
            Scenario::new("/var/task").env("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
        ] {
            for env in [runtime(&s, "a", &[]), extension(&s, "a")] {
                assert_eq!(env["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
                assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], MANAGED_INSTANCES);
            }
        }
    }
}
