//! When a handed-off request is done, and how long to wait before the next
//! attempt: pure, from the answer alone (`docs/protocol.md`, Delivery).

use std::time::Duration;

/// What one attempt's answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `2xx`: delivered.
    Delivered,
    /// Throttled, a server error, or no answer: try again if there is time.
    Retry(String),
    /// Any other answer: the request will not succeed as it is.
    Final(String),
}

/// AWS error types that mean "slow down" (in a JSON body's `__type` or
/// `code`, or the `x-amzn-ErrorType` header), which AWS answers with 400.
/// The same list the AWS SDKs retry as throttling.
pub const THROTTLING_ERRORS: [&str; 9] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

/// The answer `status` with the error type AWS named (`error_type`), if any.
pub fn classify(status: u16, reason: &str, error_type: Option<&str>) -> Answer {
    let said = format!("{status} {reason}").trim_end().to_owned();
    match status {
        200..=299 => Answer::Delivered,
        429 | 500..=599 => Answer::Retry(said),
        _ => match error_type.map(short_error_type) {
            Some(kind) if THROTTLING_ERRORS.contains(&kind) => {
                Answer::Retry(format!("{said} ({kind})"))
            }
            Some(kind) if !kind.is_empty() => Answer::Final(format!("{said} ({kind})")),
            _ => Answer::Final(said),
        },
    }
}

/// `com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException`
/// and `ThrottlingException:http://internal.amazon.com/` are both the part
/// AWS means: the name after `#`, before `:`.
pub fn short_error_type(raw: &str) -> &str {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash.split(':').next().unwrap_or(after_hash).trim()
}

/// The AWS error type in a JSON error body: `__type`, else `code`.
pub fn error_type_in_body(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["__type", "code", "Code"]
        .iter()
        .find_map(|key| value.get(key)?.as_str().map(str::to_owned))
}

/// The wait before attempt `retry + 1` (after `retry` failed ones, from 1):
/// exponential backoff with full jitter, a uniformly random wait up to
/// `min(max, base × 2^(retry-1))`; `unit` is a random number in `[0, 1)`.
pub fn backoff(retry: u32, base: Duration, max: Duration, unit: f64) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(max);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundreds_deliver_and_throttling_and_server_errors_retry() {
        assert_eq!(classify(200, "OK", None), Answer::Delivered);
        assert_eq!(classify(204, "No Content", None), Answer::Delivered);
        assert_eq!(
            classify(503, "Service Unavailable", None),
            Answer::Retry("503 Service Unavailable".into())
        );
        assert!(matches!(
            classify(429, "Too Many Requests", None),
            Answer::Retry(_)
        ));
        assert_eq!(
            classify(
                400,
                "Bad Request",
                Some("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException")
            ),
            Answer::Retry("400 Bad Request (ProvisionedThroughputExceededException)".into())
        );
        assert!(matches!(
            classify(
                400,
                "",
                Some("ThrottlingException:http://internal.amazon.com/")
            ),
            Answer::Retry(_)
        ));
    }

    #[test]
    fn other_answers_are_final_and_say_why() {
        assert_eq!(
            classify(
                400,
                "Bad Request",
                Some("com.amazonaws.dynamodb.v20120810#ValidationException")
            ),
            Answer::Final("400 Bad Request (ValidationException)".into())
        );
        assert_eq!(
            classify(403, "Forbidden", None),
            Answer::Final("403 Forbidden".into())
        );
        assert_eq!(classify(301, "", None), Answer::Final("301".into()));
    }

    #[test]
    fn the_error_type_is_read_from_the_body() {
        assert_eq!(
            error_type_in_body(br#"{"__type":"x#SlowDown","message":"m"}"#).as_deref(),
            Some("x#SlowDown")
        );
        assert_eq!(
            error_type_in_body(br#"{"code":"Throttling"}"#).as_deref(),
            Some("Throttling")
        );
        assert_eq!(error_type_in_body(b"<html>"), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let (base, max) = (Duration::from_millis(20), Duration::from_millis(200));
        assert_eq!(backoff(1, base, max, 0.999_999).as_millis(), 19);
        assert_eq!(backoff(2, base, max, 0.999_999).as_millis(), 39);
        assert_eq!(backoff(4, base, max, 0.999_999).as_millis(), 159);
        assert_eq!(backoff(5, base, max, 0.999_999).as_millis(), 199);
        assert_eq!(backoff(60, base, max, 0.5), Duration::from_millis(100));
        assert_eq!(backoff(3, base, max, 0.0), Duration::ZERO);
    }
}
