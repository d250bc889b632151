//! The handoff: HTTP requests a shutdown handler could not finish in the
//! runtime's share, handed to the extension, which sends them after the
//! runtime has gone (`docs/protocol.md`, Handoff).
//!
//! One handoff is one `POST` to [`limits`]`().handoff.path` carrying
//! `{"type":"handoff","requests":[...],"worker":...}`. This module is the
//! one parser and checker of that body, and the one encoder of it: every
//! refusal names the field (`requests[1].url: ...`) or the limit
//! (`handoff.maxRequestBytes`) it broke.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::limits::{limits, HandoffLimits};
use crate::report::clean_worker;

/// A request to send on the function's behalf, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    /// The caller's name for it, for the log and the dead-letter record.
    pub id: Option<String>,
    /// Upper-case HTTP method.
    pub method: String,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    /// Header names and values, in the order given.
    pub headers: Vec<(String, String)>,
    /// The body, as bytes.
    pub body: Vec<u8>,
    /// Sign with AWS SigV4 for this service and region, with the credentials
    /// of the extension's environment.
    pub sign: Option<Signing>,
}

/// What a request is signed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signing {
    pub service: String,
    pub region: String,
}

/// One handoff post, checked: its requests and the worker that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub worker: Option<String>,
    pub requests: Vec<HandoffRequest>,
}

/// Why a handoff is refused: the field or limit it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HandoffError(pub String);

/// Headers the extension writes itself; a request may not set them.
pub const RESERVED_HEADERS: [&str; 5] = [
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "expect",
];
/// Headers the signature writes; a signed request may not set them.
pub const SIGNATURE_HEADERS: [&str; 4] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];
/// Longest URL taken.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest method taken.
pub const MAX_METHOD_BYTES: usize = 16;

fn refuse<T>(message: impl Into<String>) -> Result<T, HandoffError> {
    Err(HandoffError(message.into()))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn excerpt(s: &str) -> String {
    let cut: String = s.chars().take(64).collect();
    serde_json::to_string(&cut).unwrap_or_default()
}

impl Handoff {
    /// Parse and check one handoff body against `spec/limits.json`.
    pub fn parse(body: &[u8]) -> Result<Handoff, HandoffError> {
        Self::parse_with(body, &limits().handoff)
    }

    /// [`Handoff::parse`] against explicit limits.
    pub fn parse_with(body: &[u8], limits: &HandoffLimits) -> Result<Handoff, HandoffError> {
        if body.len() > limits.max_body_bytes {
            return refuse(format!(
                "handoff: body of {} bytes; handoff.maxBodyBytes is {}",
                body.len(),
                limits.max_body_bytes
            ));
        }
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| HandoffError(format!("handoff: not JSON: {e}")))?;
        let Value::Object(object) = value else {
            return refuse(format!("handoff: expected an object, got {}", kind(&value)));
        };
        match object.get("type") {
            Some(Value::String(t)) if t == "handoff" => {}
            Some(other) => {
                return refuse(format!(
                    "type: expected \"handoff\", got {}",
                    serde_json::to_string(other).unwrap_or_default()
                ))
            }
            None => return refuse("type: missing; expected \"handoff\""),
        }
        let worker = match object.get("worker") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(clean_worker(s)).filter(|w| !w.is_empty()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                return refuse(format!("worker: expected a string, got {}", kind(other)))
            }
        };
        let requests = match object.get("requests") {
            Some(Value::Array(list)) if list.is_empty() => {
                return refuse("requests: empty; hand off at least one request")
            }
            Some(Value::Array(list)) => list,
            Some(other) => {
                return refuse(format!("requests: expected an array, got {}", kind(other)))
            }
            None => return refuse("requests: missing"),
        };
        if requests.len() > limits.max_requests {
            return refuse(format!(
                "requests: {} requests; handoff.maxRequests is {}",
                requests.len(),
                limits.max_requests
            ));
        }
        let requests = requests
            .iter()
            .enumerate()
            .map(|(i, r)| HandoffRequest::from_value(r, &format!("requests[{i}]"), limits))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Handoff { worker, requests })
    }

    /// Bytes of the bodies together, as held.
    pub fn body_bytes(&self) -> usize {
        self.requests.iter().map(|r| r.body.len()).sum()
    }

    /// The JSON body of this handoff, as every library writes it: `type`,
    /// `requests` (each as [`HandoffRequest::to_json`]), then `worker` when
    /// there is one.
    pub fn to_json(&self) -> String {
        let requests: Vec<String> = self.requests.iter().map(HandoffRequest::to_json).collect();
        let mut json = format!(
            "{{\"type\":\"handoff\",\"requests\":[{}]",
            requests.join(",")
        );
        if let Some(worker) = self
            .worker
            .as_deref()
            .map(clean_worker)
            .filter(|w| !w.is_empty())
        {
            json.push_str(",\"worker\":");
            json.push_str(&quote(&worker));
        }
        json.push('}');
        json
    }
}

/// `s` as a JSON string.
fn quote(s: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    field: &str,
    at: &str,
) -> Result<Option<&'a str>, HandoffError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => refuse(format!(
            "{at}.{field}: expected a string, got {}",
            kind(other)
        )),
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl HandoffRequest {
    fn from_value(
        value: &Value,
        at: &str,
        limits: &HandoffLimits,
    ) -> Result<HandoffRequest, HandoffError> {
        let Value::Object(object) = value else {
            return refuse(format!("{at}: expected an object, got {}", kind(value)));
        };
        let id = string_field(object, "id", at)?.map(str::to_owned);
        if let Some(id) = &id {
            let max = limits_name_bytes();
            if id.len() > max || id.chars().any(char::is_control) {
                return refuse(format!(
                    "{at}.id: at most {max} bytes without control characters, got {}",
                    excerpt(id)
                ));
            }
        }
        let method = string_field(object, "method", at)?
            .ok_or_else(|| HandoffError(format!("{at}.method: missing")))?;
        if method.is_empty()
            || method.len() > MAX_METHOD_BYTES
            || !method.chars().all(|c| c.is_ascii_uppercase())
        {
            return refuse(format!(
                "{at}.method: expected an upper-case HTTP method such as \"POST\", got {}",
                excerpt(method)
            ));
        }
        let url = string_field(object, "url", at)?
            .ok_or_else(|| HandoffError(format!("{at}.url: missing")))?;
        check_url(url)
            .map_err(|why| HandoffError(format!("{at}.url: {why}, got {}", excerpt(url))))?;
        let sign = match object.get("sign") {
            None | Some(Value::Null) => None,
            Some(Value::Object(sign)) => {
                let service = string_field(sign, "service", &format!("{at}.sign"))?
                    .ok_or_else(|| HandoffError(format!("{at}.sign.service: missing")))?;
                let region = string_field(sign, "region", &format!("{at}.sign"))?
                    .ok_or_else(|| HandoffError(format!("{at}.sign.region: missing")))?;
                if !is_label(service, 64) {
                    return refuse(format!(
                        "{at}.sign.service: expected an AWS signing name such as \"dynamodb\", got {}",
                        excerpt(service)
                    ));
                }
                if !is_label(region, 32) {
                    return refuse(format!(
                        "{at}.sign.region: expected an AWS region such as \"us-east-1\", got {}",
                        excerpt(region)
                    ));
                }
                Some(Signing {
                    service: service.to_owned(),
                    region: region.to_owned(),
                })
            }
            Some(other) => {
                return refuse(format!(
                    "{at}.sign: expected an object, got {}",
                    kind(other)
                ))
            }
        };
        let headers = match object.get("headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Object(map)) => {
                let mut headers = Vec::with_capacity(map.len());
                let mut bytes = 0;
                for (name, value) in map {
                    let Value::String(value) = value else {
                        return refuse(format!(
                            "{at}.headers.{name}: expected a string, got {}",
                            kind(value)
                        ));
                    };
                    if name.is_empty() || !name.chars().all(is_token_char) {
                        return refuse(format!(
                            "{at}.headers: {} is not a header name",
                            excerpt(name)
                        ));
                    }
                    let lower = name.to_ascii_lowercase();
                    if RESERVED_HEADERS.contains(&lower.as_str()) {
                        return refuse(format!(
                            "{at}.headers.{name}: set by the extension; leave it out"
                        ));
                    }
                    if sign.is_some() && SIGNATURE_HEADERS.contains(&lower.as_str()) {
                        return refuse(format!(
                            "{at}.headers.{name}: written by the signature of a signed request; leave it out"
                        ));
                    }
                    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
                        return refuse(format!(
                            "{at}.headers.{name}: a value may not hold CR, LF or NUL"
                        ));
                    }
                    bytes += name.len() + value.len();
                    headers.push((name.clone(), value.clone()));
                }
                if bytes > limits.max_header_bytes {
                    return refuse(format!(
                        "{at}.headers: {bytes} bytes; handoff.maxHeaderBytes is {}",
                        limits.max_header_bytes
                    ));
                }
                headers
            }
            Some(other) => {
                return refuse(format!(
                    "{at}.headers: expected an object, got {}",
                    kind(other)
                ))
            }
        };
        let text = string_field(object, "body", at)?;
        let encoded = string_field(object, "bodyBase64", at)?;
        let body = match (text, encoded) {
            (Some(_), Some(_)) => {
                return refuse(format!(
                    "{at}: both body and bodyBase64; send text in body or bytes in bodyBase64"
                ))
            }
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| HandoffError(format!("{at}.bodyBase64: not base64: {e}")))?,
            (None, None) => Vec::new(),
        };
        if body.len() > limits.max_request_bytes {
            return refuse(format!(
                "{at}.body: {} bytes; handoff.maxRequestBytes is {}",
                body.len(),
                limits.max_request_bytes
            ));
        }
        Ok(HandoffRequest {
            id,
            method: method.to_owned(),
            url: url.to_owned(),
            headers,
            body,
            sign,
        })
    }

    /// This request as a JSON object, fields in the wire's order: `id`,
    /// `method`, `url`, `headers`, `body` (text) or `bodyBase64` (bytes that
    /// are not UTF-8), `sign`. The dead-letter record holds it too, so that a
    /// record can be handed off again as it is.
    pub fn to_json(&self) -> String {
        let mut fields = Vec::with_capacity(6);
        if let Some(id) = &self.id {
            fields.push(format!("\"id\":{}", quote(id)));
        }
        fields.push(format!("\"method\":{}", quote(&self.method)));
        fields.push(format!("\"url\":{}", quote(&self.url)));
        if !self.headers.is_empty() {
            let headers: Vec<String> = self
                .headers
                .iter()
                .map(|(n, v)| format!("{}:{}", quote(n), quote(v)))
                .collect();
            fields.push(format!("\"headers\":{{{}}}", headers.join(",")));
        }
        if !self.body.is_empty() {
            match std::str::from_utf8(&self.body) {
                Ok(text) => fields.push(format!("\"body\":{}", quote(text))),
                Err(_) => fields.push(format!(
                    "\"bodyBase64\":{}",
                    quote(&base64::engine::general_purpose::STANDARD.encode(&self.body))
                )),
            }
        }
        if let Some(sign) = &self.sign {
            fields.push(format!(
                "\"sign\":{{\"service\":{},\"region\":{}}}",
                quote(&sign.service),
                quote(&sign.region)
            ));
        }
        format!("{{{}}}", fields.join(","))
    }

    /// The request for one call of an AWS JSON-protocol API (DynamoDB,
    /// SQS, Kinesis, ...), signed by the extension: `POST` of `body` with
    /// `content-type: application/x-amz-json-1.0` and `x-amz-target: target`,
    /// to `AWS_ENDPOINT_URL_<SERVICE>` (the service upper-cased, `-` as `_`),
    /// else `AWS_ENDPOINT_URL`, else `https://<service>.<region>.amazonaws.com/`,
    /// as the AWS SDKs choose it. The region is `region`, else `AWS_REGION`,
    /// else `AWS_DEFAULT_REGION`. `env` reads the environment (tests pass
    /// their own).
    pub fn aws_json(
        service: &str,
        target: &str,
        body: &str,
        region: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<HandoffRequest, HandoffError> {
        if !is_label(service, 64) {
            return refuse(format!(
                "service: expected an AWS signing name such as \"dynamodb\", got {}",
                excerpt(service)
            ));
        }
        if target.is_empty() || target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return refuse(format!(
                "target: expected an X-Amz-Target such as \"DynamoDB_20120810.BatchWriteItem\", got {}",
                excerpt(target)
            ));
        }
        let set = |name: &str| env(name).filter(|v| !v.is_empty());
        let region = match region {
            Some(region) => region.to_owned(),
            None => set("AWS_REGION")
                .or_else(|| set("AWS_DEFAULT_REGION"))
                .ok_or_else(|| {
                    HandoffError(
                        "region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set"
                            .into(),
                    )
                })?,
        };
        if !is_label(&region, 32) {
            return refuse(format!(
                "region: expected an AWS region such as \"us-east-1\", got {}",
                excerpt(&region)
            ));
        }
        let service_variable = format!(
            "AWS_ENDPOINT_URL_{}",
            service.to_ascii_uppercase().replace('-', "_")
        );
        let url = match set(&service_variable).or_else(|| set("AWS_ENDPOINT_URL")) {
            Some(endpoint) => with_path(&endpoint),
            None => format!("https://{service}.{region}.amazonaws.com/"),
        };
        check_url(&url).map_err(|why| {
            HandoffError(format!("{service_variable}: {why}, got {}", excerpt(&url)))
        })?;
        Ok(HandoffRequest {
            id: None,
            method: "POST".into(),
            url,
            headers: vec![
                ("content-type".into(), "application/x-amz-json-1.0".into()),
                ("x-amz-target".into(), target.into()),
            ],
            body: body.as_bytes().to_vec(),
            sign: Some(Signing {
                service: service.into(),
                region,
            }),
        })
    }

    /// Whether the URL is `https://`.
    pub fn is_https(&self) -> bool {
        self.url.starts_with("https://")
    }
}

fn limits_name_bytes() -> usize {
    limits().max_name_bytes
}

/// An endpoint URL with at least the root path: `http://host:1` becomes `http://host:1/`.
fn with_path(endpoint: &str) -> String {
    let after_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    if after_scheme.contains('/') {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/")
    }
}

/// An absolute `http://` or `https://` URL with a host, no white space or
/// control characters, at most [`MAX_URL_BYTES`].
fn check_url(url: &str) -> Result<(), &'static str> {
    if url.len() > MAX_URL_BYTES {
        return Err("longer than 2048 bytes");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("expected an http:// or https:// URL")?;
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("white space or a control character in the URL");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err("no host in the URL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Handoff, String> {
        Handoff::parse(body.as_bytes()).map_err(|e| e.0)
    }

    #[test]
    fn a_full_request_round_trips() {
        let body = r#"{"type":"handoff","requests":[{"id":"flush-1","method":"POST","url":"https://dynamodb.us-east-1.amazonaws.com/","headers":{"content-type":"application/x-amz-json-1.0","x-amz-target":"DynamoDB_20120810.BatchWriteItem"},"body":"{}","sign":{"service":"dynamodb","region":"us-east-1"}}],"worker":"4242"}"#;
        let handoff = parse(body).expect("valid");
        assert_eq!(handoff.worker.as_deref(), Some("4242"));
        assert_eq!(handoff.requests[0].body, b"{}");
        assert_eq!(handoff.to_json(), body);
    }

    #[test]
    fn bytes_travel_as_base64() {
        let handoff = Handoff {
            worker: None,
            requests: vec![HandoffRequest {
                id: None,
                method: "PUT".into(),
                url: "http://127.0.0.1:9/x".into(),
                headers: vec![],
                body: vec![0xff, 0x00, 0x01],
                sign: None,
            }],
        };
        let json = handoff.to_json();
        assert_eq!(
            json,
            r#"{"type":"handoff","requests":[{"method":"PUT","url":"http://127.0.0.1:9/x","bodyBase64":"/wAB"}]}"#
        );
        assert_eq!(parse(&json).expect("valid"), handoff);
    }

    #[test]
    fn every_refusal_names_its_field_or_limit() {
        let cases = [
            (r#"[]"#, "handoff: expected an object, got an array"),
            (r#"{"requests":[]}"#, "type: missing"),
            (
                r#"{"type":"started","requests":[]}"#,
                "type: expected \"handoff\"",
            ),
            (r#"{"type":"handoff"}"#, "requests: missing"),
            (r#"{"type":"handoff","requests":[]}"#, "requests: empty"),
            (
                r#"{"type":"handoff","requests":[{"url":"http://a/"}]}"#,
                "requests[0].method: missing",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"post","url":"http://a/"}]}"#,
                "requests[0].method: expected an upper-case HTTP method",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"ftp://a/"}]}"#,
                "requests[0].url: expected an http:// or https:// URL, got \"ftp://a/\"",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http:///x"}]}"#,
                "requests[0].url: no host",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"Host":"b"}}]}"#,
                "requests[0].headers.Host: set by the extension",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"x":"a\r\nb: c"}}]}"#,
                "requests[0].headers.x: a value may not hold CR, LF or NUL",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","headers":{"Authorization":"x"},"sign":{"service":"sqs","region":"eu-west-1"}}]}"#,
                "requests[0].headers.Authorization: written by the signature",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","sign":{"service":"sqs"}}]}"#,
                "requests[0].sign.region: missing",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","sign":{"service":"SQS","region":"eu-west-1"}}]}"#,
                "requests[0].sign.service: expected an AWS signing name",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","body":"x","bodyBase64":"eA=="}]}"#,
                "requests[0]: both body and bodyBase64",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/","bodyBase64":"!"}]}"#,
                "requests[0].bodyBase64: not base64",
            ),
            (
                r#"{"type":"handoff","requests":[{"method":"POST","url":"http://a/"}],"worker":[1]}"#,
                "worker: expected a string, got an array",
            ),
        ];
        for (body, expected) in cases {
            let error = parse(body).expect_err(body);
            assert!(error.starts_with(expected), "{body}: {error}");
        }
    }

    #[test]
    fn the_limits_are_named() {
        let l = &limits().handoff;
        let big = "x".repeat(l.max_request_bytes + 1);
        let body = format!(
            r#"{{"type":"handoff","requests":[{{"method":"POST","url":"http://a/","body":"{big}"}}]}}"#
        );
        let error = parse(&body).expect_err("too large");
        assert!(error.contains("handoff.maxRequestBytes"), "{error}");
        let one = r#"{"method":"POST","url":"http://a/"}"#;
        let many = vec![one; l.max_requests + 1].join(",");
        let error =
            parse(&format!(r#"{{"type":"handoff","requests":[{many}]}}"#)).expect_err("too many");
        assert!(error.contains("handoff.maxRequests is"), "{error}");
        let huge = vec![b' '; l.max_body_bytes + 1];
        let error = Handoff::parse(&huge).expect_err("too big").0;
        assert!(error.contains("handoff.maxBodyBytes"), "{error}");
        let header = "v".repeat(l.max_header_bytes);
        let body = format!(
            r#"{{"type":"handoff","requests":[{{"method":"POST","url":"http://a/","headers":{{"x-big":"{header}"}}}}]}}"#
        );
        let error = parse(&body).expect_err("headers too large");
        assert!(error.contains("handoff.maxHeaderBytes"), "{error}");
    }
}
