//! Log lines on stdout, in the format Lambda asks for (`AWS_LAMBDA_LOG_FORMAT`:
//! `Text` or `JSON`) and filtered by `AWS_LAMBDA_LOG_LEVEL`.
//!
//! A small logger instead of `tracing` + `tracing-subscriber`: measured on a
//! static musl release build (opt-level "z", LTO, stripped), a probe binary
//! with serde_json and std networking is 451,120 bytes; adding
//! `tracing-subscriber` with its JSON formatter and env-filter makes it
//! 934,840 bytes, more than double, against a 400 KiB zipped-layer budget. And
//! its JSON events carry flat primitive fields only, while the verdict line
//! must carry the nested `handlers` array. The extension logs a handful of lines in its whole life;
//! this module is what that needs and no more.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use graceful_shutdown_protocol::{EXTENSION_NAME, VERDICT_MARKER};
use serde_json::{Map, Value};

use crate::verdict::{Outcome, Verdict, Written};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// Lambda's spelling is `JSON` / `Text`; accept any case.
    pub fn parse(raw: &str) -> Option<LogFormat> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl LogLevel {
    pub fn parse(raw: &str) -> Option<LogLevel> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Some(LogLevel::Trace),
            "DEBUG" => Some(LogLevel::Debug),
            "INFO" => Some(LogLevel::Info),
            "WARN" | "WARNING" => Some(LogLevel::Warn),
            "ERROR" => Some(LogLevel::Error),
            "FATAL" => Some(LogLevel::Fatal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }
}

/// One structured field of a log line.
pub type Field<'a> = (&'a str, Value);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Logger {
    pub format: LogFormat,
    pub level: LogLevel,
}

impl Logger {
    pub fn new(format: LogFormat, level: LogLevel) -> Logger {
        Logger { format, level }
    }

    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level
    }

    pub fn debug(&self, message: &str, fields: &[Field<'_>]) {
        self.log(LogLevel::Debug, message, fields);
    }

    pub fn info(&self, message: &str, fields: &[Field<'_>]) {
        self.log(LogLevel::Info, message, fields);
    }

    pub fn warn(&self, message: &str, fields: &[Field<'_>]) {
        self.log(LogLevel::Warn, message, fields);
    }

    pub fn error(&self, message: &str, fields: &[Field<'_>]) {
        self.log(LogLevel::Error, message, fields);
    }

    pub fn log(&self, level: LogLevel, message: &str, fields: &[Field<'_>]) {
        if self.enabled(level) {
            emit(&self.format_line(level, message, fields, now_ms()));
        }
    }

    /// The verdict is the layer's one product: it is logged whatever the
    /// level filter says, at INFO when the handlers completed, WARN otherwise.
    pub fn verdict(&self, verdict: &Verdict) {
        emit(&self.verdict_line(verdict, now_ms()));
    }

    /// A line that is already in its final form (an EMF metric line).
    pub fn raw(&self, line: &str) {
        emit(line);
    }

    /// The formatted line, without the newline. Pure, for tests.
    pub fn format_line(
        &self,
        level: LogLevel,
        message: &str,
        fields: &[Field<'_>],
        epoch_ms: u64,
    ) -> String {
        match self.format {
            LogFormat::Text => {
                let mut line = format!("{EXTENSION_NAME} {}: {message}", level.as_str());
                for (key, value) in fields {
                    line.push(' ');
                    line.push_str(key);
                    line.push('=');
                    line.push_str(&text_value(value));
                }
                line
            }
            LogFormat::Json => {
                let mut obj = json_head(level, message, epoch_ms);
                for (key, value) in fields {
                    obj.insert((*key).to_owned(), value.clone());
                }
                Value::Object(obj).to_string()
            }
        }
    }

    /// Text: exactly [`Verdict::to_text`]. JSON: one object with
    /// `"message":"graceful-shutdown verdict"`, the verdict's fields and a `summary`.
    pub fn verdict_line(&self, verdict: &Verdict, epoch_ms: u64) -> String {
        match self.format {
            LogFormat::Text => verdict.to_text(),
            LogFormat::Json => {
                let level = verdict_level(verdict);
                let mut obj = json_head(level, VERDICT_MARKER, epoch_ms);
                if let Ok(Value::Object(fields)) = serde_json::to_value(verdict) {
                    obj.extend(fields);
                }
                obj.insert("summary".into(), Value::String(verdict.summary()));
                Value::Object(obj).to_string()
            }
        }
    }
}

fn verdict_level(verdict: &Verdict) -> LogLevel {
    if verdict.outcome == Outcome::Completed {
        LogLevel::Info
    } else {
        LogLevel::Warn
    }
}

fn json_head(level: LogLevel, message: &str, epoch_ms: u64) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("timestamp".into(), Value::String(rfc3339_ms(epoch_ms)));
    obj.insert("level".into(), Value::String(level.as_str().into()));
    obj.insert("logger".into(), Value::String(EXTENSION_NAME.into()));
    obj.insert("message".into(), Value::String(message.into()));
    obj
}

/// `key=value`: a string is written the way the verdict writes names (as is
/// when it is one plain word, else quoted and escaped, see
/// [`crate::text_value::text_value`]); other values as JSON.
fn text_value(value: &Value) -> String {
    match value {
        Value::String(s) => crate::text_value::text_value(s).into_owned(),
        other => other.to_string(),
    }
}

/// One `write` per line on a locked stdout, so that lines from the listener
/// thread and the main thread never interleave. A failed write (stdout
/// closed) is dropped: logging must never take the extension down.
fn emit(line: &str) {
    let mut buf = String::with_capacity(line.len() + 1);
    buf.push_str(line);
    buf.push('\n');
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = out.write_all(buf.as_bytes());
    let _ = out.flush();
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `2026-01-02T03:04:05.678Z`. Written out (Howard Hinnant's civil-from-days)
/// rather than pulling a date crate in for one timestamp format.
pub fn rfc3339_ms(epoch_ms: u64) -> String {
    let secs = epoch_ms / 1000;
    let ms = epoch_ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Decide;
    use graceful_shutdown_protocol::fixtures::*;
    use graceful_shutdown_protocol::Report;
    use serde_json::json;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_ms(1_767_225_599_999), "2025-12-31T23:59:59.999Z");
    }

    #[test]
    fn text_lines_carry_level_message_and_fields() {
        let l = Logger::new(LogFormat::Text, LogLevel::Info);
        assert_eq!(
            l.format_line(
                LogLevel::Warn,
                "report refused",
                &[
                    ("status", json!(401)),
                    ("reason", json!("wrong secret")),
                    ("path", json!("/v1/report"))
                ],
                0
            ),
            r#"graceful-shutdown WARN: report refused status=401 reason="wrong secret" path=/v1/report"#
        );
        assert_eq!(
            l.format_line(
                LogLevel::Info,
                "m",
                &[
                    ("a", json!("k=v")),
                    ("b", json!("two\nlines")),
                    ("c", json!(""))
                ],
                0
            ),
            r#"graceful-shutdown INFO: m a="k=v" b="two\nlines" c="""#
        );
    }

    #[test]
    fn json_lines_are_one_object() {
        let l = Logger::new(LogFormat::Json, LogLevel::Info);
        let line = l.format_line(LogLevel::Info, "registered", &[("port", json!(4471))], 0);
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(
            v,
            json!({"timestamp":"1970-01-01T00:00:00.000Z","level":"INFO","logger":"graceful-shutdown","message":"registered","port":4471})
        );
    }

    #[test]
    fn level_filter_follows_lambda_order() {
        let l = Logger::new(LogFormat::Text, LogLevel::Warn);
        assert!(!l.enabled(LogLevel::Info));
        assert!(l.enabled(LogLevel::Warn));
        assert!(l.enabled(LogLevel::Error));
        assert_eq!(LogLevel::parse("fatal"), Some(LogLevel::Fatal));
        assert_eq!(LogLevel::parse("verbose"), None);
        assert_eq!(LogFormat::parse("Json"), Some(LogFormat::Json));
    }

    #[test]
    fn verdict_lines_in_both_formats() {
        let v = Verdict::decide(
            &"SPINDOWN".into(),
            &[
                Report::Hello {
                    pid: 1,
                    handlers: vec!["flush".into()],
                    timeout_ms: 250,
                    concurrent: false,
                    first_index: 0,
                },
                finished("flush", 0, 4),
                all_done(1, 0, 0, 4),
            ],
        );
        let text = Logger::new(LogFormat::Text, LogLevel::Fatal).verdict_line(&v, 0);
        assert_eq!(text, v.to_text());
        let json = Logger::new(LogFormat::Json, LogLevel::Fatal).verdict_line(&v, 0);
        let obj: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(obj["message"], "graceful-shutdown verdict");
        assert_eq!(obj["level"], "INFO");
        assert_eq!(obj["outcome"], "completed");
        assert_eq!(obj["reason"], "spindown");
        assert_eq!(obj["totalMs"], 4);
        assert_eq!(
            obj["handlers"],
            json!([{"name":"flush","status":"ok","durationMs":4}])
        );
        assert_eq!(obj["summary"], "all 1 shutdown handlers completed in 4 ms");
        let none = Logger::new(LogFormat::Json, LogLevel::Info)
            .verdict_line(&Verdict::decide(&"timeout".into(), &[]), 0);
        let obj: Value = serde_json::from_str(&none).expect("json");
        assert_eq!(
            (obj["level"].as_str(), obj["outcome"].as_str()),
            (Some("WARN"), Some("no_report"))
        );
    }

    #[test]
    fn a_verdict_of_several_workers_in_json() {
        use graceful_shutdown_protocol::WorkerReport;
        let hello = Report::Hello {
            pid: 1,
            handlers: vec!["flush".into()],
            timeout_ms: 250,
            concurrent: false,
            first_index: 0,
        };
        let from = |worker: &str, report: &Report| WorkerReport {
            worker: Some(worker.into()),
            report: report.clone(),
        };
        let v = Verdict::decide_workers(
            &"spindown".into(),
            &[from("4242", &hello), from("4243", &hello)],
        );
        let text = Logger::new(LogFormat::Text, LogLevel::Fatal).verdict_line(&v, 0);
        assert_eq!(text, v.to_text());
        assert!(text.contains(" workers=2 "), "{text}");
        let json = Logger::new(LogFormat::Json, LogLevel::Fatal).verdict_line(&v, 0);
        assert!(!json.contains('\n'));
        let obj: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(obj["level"], "WARN");
        assert_eq!(obj["outcome"], "runtime_killed");
        assert_eq!(obj["workers"][1]["worker"], "4243");
        assert_eq!(obj["workers"][1]["label"], "w2");
        assert_eq!(obj["handlers"][1]["worker"], "w2");
        assert_eq!(obj["summary"], json!(v.summary()));
    }
}
