//! The Lambda API vocabulary the extension speaks and the emulator serves:
//! paths, header names, feature names and error types of the Extensions API
//! and the Runtime API. Events from `/event/next` are [`crate::event`]'s.
//!
//! Header names are written as AWS documents them; HTTP compares them
//! without case, and so must every reader here.

/// The variable that holds where both APIs are (`host:port`).
pub const ENV_RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// The Extensions API (`2020-01-01`).
pub mod extensions {
    /// Path prefix of every Extensions API call.
    pub const BASE_PATH: &str = "/2020-01-01/extension";
    /// `POST`: register for events; answers with the identifier header.
    pub const REGISTER_PATH: &str = "/2020-01-01/extension/register";
    /// `GET`: block until the next event.
    pub const EVENT_NEXT_PATH: &str = "/2020-01-01/extension/event/next";
    /// `POST`: the extension could not start.
    pub const INIT_ERROR_PATH: &str = "/2020-01-01/extension/init/error";
    /// `POST`: the extension stops because of an error after init.
    pub const EXIT_ERROR_PATH: &str = "/2020-01-01/extension/exit/error";

    /// The extension's name on `register`: its file name under `/opt/extensions/`.
    pub const HEADER_NAME: &str = "Lambda-Extension-Name";
    /// The identifier `register` answers with, sent on every later call.
    pub const HEADER_IDENTIFIER: &str = "Lambda-Extension-Identifier";
    /// Optional features asked for on `register` (see [`FEATURE_ACCOUNT_ID`]).
    pub const HEADER_ACCEPT_FEATURE: &str = "Lambda-Extension-Accept-Feature";
    /// The error type of `/init/error` and `/exit/error`.
    pub const HEADER_ERROR_TYPE: &str = "Lambda-Extension-Function-Error-Type";

    /// The feature that adds `accountId` to the `register` answer.
    pub const FEATURE_ACCOUNT_ID: &str = "accountId";

    /// Event types one can register for (`{"events":[...]}`) and that
    /// `/event/next` sends as `eventType`.
    pub const EVENT_SHUTDOWN: &str = "SHUTDOWN";
    pub const EVENT_INVOKE: &str = "INVOKE";

    /// Error type for a bad setting, reported with `/init/error`.
    pub const ERROR_CONFIG_INVALID: &str = "Extension.ConfigInvalid";
}

/// The Runtime API (`2018-06-01`).
pub mod runtime {
    /// Path prefix of every Runtime API call.
    pub const BASE_PATH: &str = "/2018-06-01/runtime";
    /// `GET`: block until the next invocation.
    pub const INVOCATION_NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
    /// `POST`: the answer to invocation `{id}` (a path template).
    pub const INVOCATION_RESPONSE_PATH: &str = "/2018-06-01/runtime/invocation/{id}/response";
    /// `POST`: invocation `{id}` failed (a path template).
    pub const INVOCATION_ERROR_PATH: &str = "/2018-06-01/runtime/invocation/{id}/error";
    /// `POST`: the runtime could not start.
    pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";

    /// Headers of the `invocation/next` answer.
    pub const HEADER_REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
    pub const HEADER_DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
    pub const HEADER_INVOKED_FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";
    pub const HEADER_TRACE_ID: &str = "Lambda-Runtime-Trace-Id";
    /// The error type of `invocation/{id}/error` and `init/error`.
    pub const HEADER_ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";

    /// A path template with the request id filled in.
    pub fn with_id(template: &str, id: &str) -> String {
        template.replace("{id}", id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_under_their_base() {
        for path in [
            extensions::REGISTER_PATH,
            extensions::EVENT_NEXT_PATH,
            extensions::INIT_ERROR_PATH,
            extensions::EXIT_ERROR_PATH,
        ] {
            assert!(path.starts_with(extensions::BASE_PATH), "{path}");
        }
        for path in [
            runtime::INVOCATION_NEXT_PATH,
            runtime::INVOCATION_RESPONSE_PATH,
            runtime::INVOCATION_ERROR_PATH,
            runtime::INIT_ERROR_PATH,
        ] {
            assert!(path.starts_with(runtime::BASE_PATH), "{path}");
        }
        assert_eq!(
            runtime::with_id(runtime::INVOCATION_RESPONSE_PATH, "r-1"),
            "/2018-06-01/runtime/invocation/r-1/response"
        );
    }

    #[test]
    fn header_names_are_valid_http_tokens() {
        for name in [
            extensions::HEADER_NAME,
            extensions::HEADER_IDENTIFIER,
            extensions::HEADER_ACCEPT_FEATURE,
            extensions::HEADER_ERROR_TYPE,
            runtime::HEADER_REQUEST_ID,
            runtime::HEADER_DEADLINE_MS,
            runtime::HEADER_INVOKED_FUNCTION_ARN,
            runtime::HEADER_TRACE_ID,
            runtime::HEADER_ERROR_TYPE,
        ] {
            assert!(
                name.starts_with("Lambda-")
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{name}"
            );
        }
    }
}
