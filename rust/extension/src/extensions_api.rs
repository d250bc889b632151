//! The Lambda Extensions API requests, built as plain values: method, path,
//! headers, body. Pure: nothing here opens a socket (see `client.rs`).
//! The base endpoint is injected, so tests point it anywhere.

use graceful_shutdown_protocol::lambda::extensions::{
    EVENT_NEXT_PATH, EVENT_SHUTDOWN, EXIT_ERROR_PATH, FEATURE_ACCOUNT_ID, HEADER_ACCEPT_FEATURE,
    HEADER_ERROR_TYPE, HEADER_IDENTIFIER, HEADER_NAME, INIT_ERROR_PATH, REGISTER_PATH,
};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Where the API is: `AWS_LAMBDA_RUNTIME_API` (`host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    authority: String,
}

/// One request, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// Absolute path, e.g. `/2020-01-01/extension/register`.
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

impl Endpoint {
    pub fn new(authority: impl Into<String>) -> Endpoint {
        Endpoint {
            authority: authority.into(),
        }
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// `http://host:port/path`, for log lines.
    pub fn url(&self, request: &Request) -> String {
        format!("http://{}{}", self.authority, request.path)
    }

    /// `POST /register` for `SHUTDOWN` only (no per-invoke cost, and accepted
    /// on Lambda Managed Instances), asking for the account id.
    /// `name` must be the executable's file name under `/opt/extensions/`.
    pub fn register(&self, name: &str) -> Request {
        Request {
            method: Method::Post,
            path: REGISTER_PATH.to_owned(),
            headers: vec![
                (HEADER_NAME, name.to_owned()),
                (HEADER_ACCEPT_FEATURE, FEATURE_ACCOUNT_ID.to_owned()),
                ("Content-Type", String::from("application/json")),
            ],
            body: Some(format!(r#"{{"events":["{EVENT_SHUTDOWN}"]}}"#)),
        }
    }

    /// `GET /event/next`: blocks until Lambda has an event for us.
    pub fn next_event(&self, identifier: &str) -> Request {
        Request {
            method: Method::Get,
            path: EVENT_NEXT_PATH.to_owned(),
            headers: vec![(HEADER_IDENTIFIER, identifier.to_owned())],
            body: None,
        }
    }

    /// `POST /init/error`: the extension cannot start; Lambda fails the init.
    pub fn init_error(&self, identifier: &str, error_type: &str, message: &str) -> Request {
        self.error_request(INIT_ERROR_PATH, identifier, error_type, message)
    }

    /// `POST /exit/error`: the extension stops because of an error after init.
    pub fn exit_error(&self, identifier: &str, error_type: &str, message: &str) -> Request {
        self.error_request(EXIT_ERROR_PATH, identifier, error_type, message)
    }

    fn error_request(
        &self,
        path: &str,
        identifier: &str,
        error_type: &str,
        message: &str,
    ) -> Request {
        let body = json!({
            "errorMessage": message,
            "errorType": error_type,
            "stackTrace": [],
        });
        Request {
            method: Method::Post,
            path: path.to_owned(),
            headers: vec![
                (HEADER_IDENTIFIER, identifier.to_owned()),
                (HEADER_ERROR_TYPE, error_type.to_owned()),
                ("Content-Type", String::from("application/json")),
            ],
            body: Some(body.to_string()),
        }
    }
}

impl Request {
    /// The exact HTTP/1.1 bytes, one request per connection.
    pub fn to_http(&self, endpoint: &Endpoint) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method.as_str(),
            self.path,
            endpoint.authority()
        );
        for (name, value) in &self.headers {
            head.push_str(name);
            head.push_str(": ");
            // A header value never carries a line break onto the wire.
            head.extend(value.chars().filter(|c| *c != '\r' && *c != '\n'));
            head.push_str("\r\n");
        }
        let body = self.body.as_deref().unwrap_or("");
        if self.body.is_some() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("Connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }

    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_protocol::lambda::extensions::ERROR_CONFIG_INVALID;
    use serde_json::Value;

    fn api() -> Endpoint {
        Endpoint::new("127.0.0.1:9001")
    }

    #[test]
    fn register_is_shutdown_only_with_name_and_account_id() {
        let r = api().register("graceful-shutdown");
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.path, "/2020-01-01/extension/register");
        assert_eq!(r.header("lambda-extension-name"), Some("graceful-shutdown"));
        assert_eq!(
            r.header("Lambda-Extension-Accept-Feature"),
            Some("accountId")
        );
        assert_eq!(r.header("Lambda-Extension-Identifier"), None);
        assert_eq!(r.body.as_deref(), Some(r#"{"events":["SHUTDOWN"]}"#));
        assert_eq!(
            String::from_utf8(r.to_http(&api())).expect("utf8"),
            "POST /2020-01-01/extension/register HTTP/1.1\r\n\
             Host: 127.0.0.1:9001\r\n\
             Lambda-Extension-Name: graceful-shutdown\r\n\
             Lambda-Extension-Accept-Feature: accountId\r\n\
             Content-Type: application/json\r\n\
             Content-Length: 23\r\n\
             Connection: close\r\n\r\n\
             {\"events\":[\"SHUTDOWN\"]}"
        );
    }

    #[test]
    fn next_event_is_a_bare_get_with_the_identifier() {
        let r = api().next_event("id-1");
        assert_eq!(
            String::from_utf8(r.to_http(&api())).expect("utf8"),
            "GET /2020-01-01/extension/event/next HTTP/1.1\r\n\
             Host: 127.0.0.1:9001\r\n\
             Lambda-Extension-Identifier: id-1\r\n\
             Connection: close\r\n\r\n"
        );
        assert_eq!(
            api().url(&r),
            "http://127.0.0.1:9001/2020-01-01/extension/event/next"
        );
    }

    #[test]
    fn init_and_exit_errors_carry_type_header_and_body() {
        for (r, path) in [
            (
                api().init_error("id-2", ERROR_CONFIG_INVALID, "GRACEFUL_SHUTDOWN_PORT: bad"),
                "/2020-01-01/extension/init/error",
            ),
            (
                api().exit_error("id-2", ERROR_CONFIG_INVALID, "GRACEFUL_SHUTDOWN_PORT: bad"),
                "/2020-01-01/extension/exit/error",
            ),
        ] {
            assert_eq!(r.method, Method::Post);
            assert_eq!(r.path, path);
            assert_eq!(
                r.headers,
                vec![
                    ("Lambda-Extension-Identifier", String::from("id-2")),
                    (
                        "Lambda-Extension-Function-Error-Type",
                        String::from("Extension.ConfigInvalid")
                    ),
                    ("Content-Type", String::from("application/json")),
                ]
            );
            let body: Value =
                serde_json::from_str(r.body.as_deref().unwrap_or("")).expect("json body");
            assert_eq!(
                body,
                json!({"errorMessage":"GRACEFUL_SHUTDOWN_PORT: bad","errorType":"Extension.ConfigInvalid","stackTrace":[]})
            );
        }
    }

    #[test]
    fn header_values_cannot_inject_lines() {
        let r = api().next_event("id\r\nX-Evil: 1");
        let wire = String::from_utf8(r.to_http(&api())).expect("utf8");
        assert!(
            wire.contains("Lambda-Extension-Identifier: idX-Evil: 1\r\n"),
            "{wire}"
        );
    }
}
