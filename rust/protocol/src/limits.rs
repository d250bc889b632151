//! Limits and defaults, read from `spec/limits.json`, the single source of
//! truth shared with the CDK construct library and the CLI.

use serde::Deserialize;
use std::sync::OnceLock;

/// The raw limits file, embedded at compile time.
pub const LIMITS_JSON: &str = include_str!("../../../spec/limits.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub extension_name: String,
    pub env: EnvNames,
    pub port: PortLimits,
    pub timeout_ms: TimeoutLimits,
    pub shutdown: ShutdownTiming,
    pub library: LibraryTiming,
    pub max_extensions: u32,
    pub secret_file_default: String,
    pub report_path: String,
    pub secret_header: String,
    pub max_report_bytes: usize,
    /// Longest `worker` a report carries (bytes as written in JSON); longer is cut.
    pub max_worker_bytes: usize,
    /// Longest handler name a report carries, measured the same way.
    pub max_name_bytes: usize,
    /// Longest error text a report carries, measured the same way.
    pub max_error_bytes: usize,
    /// Longest shutdown reason the extension keeps, measured the same way.
    pub max_reason_bytes: usize,
    pub verdict: VerdictLimits,
    pub handoff: HandoffLimits,
}

/// What the extension takes and holds of handed-off requests, and how it
/// sends them (`handoff` in the file; `docs/protocol.md`, Handoff).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoffLimits {
    /// Where a library posts a handoff.
    pub path: String,
    /// Largest handoff body read; a larger one gets 413 unread.
    pub max_body_bytes: usize,
    /// Most requests held for one environment, all handoffs together.
    pub max_requests: usize,
    /// Largest body of one request, decoded.
    pub max_request_bytes: usize,
    /// Largest header names and values of one request, together.
    pub max_header_bytes: usize,
    /// Most body bytes held for one environment.
    pub max_total_bytes: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// One attempt's limit, cut to the time left.
    pub attempt_timeout_ms: u64,
    /// First backoff between attempts (full jitter, doubling).
    pub retry_base_ms: u64,
    /// Longest backoff between attempts.
    pub retry_max_ms: u64,
    /// Sending stops this long before the extension's exit.
    pub delivery_margin_ms: u64,
}

/// What the verdict keeps from reports that come from the network.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerdictLimits {
    /// Workers itemized; reports of further workers are counted only.
    pub max_workers: usize,
    /// Handler slots one worker keeps: an index beyond lands in the last one.
    pub max_handlers_per_worker: usize,
    /// Handler slots across all workers: with many workers, each keeps its share.
    pub max_handler_slots: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvNames {
    pub port: String,
    pub timeout_ms: String,
    pub secret_file: String,
    pub metrics: String,
    pub handoff_ca_file: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortLimits {
    pub default: u16,
    pub min: u16,
    pub max: u16,
    pub reserved: Vec<ReservedPort>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservedPort {
    pub port: u16,
    pub used_by: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutLimits {
    pub default: u32,
    pub min: u32,
    pub max: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownTiming {
    /// Documented time Lambda gives the runtime between SIGTERM and SIGKILL.
    pub runtime_share_ms: u64,
    /// Kept inside the runtime's share after the handlers' budget, for the
    /// library's last reports and its exit: the budget's maximum is the share
    /// less this.
    pub runtime_exit_reserve_ms: u64,
    /// Whole shutdown phase with external extensions registered.
    pub phase_ms: u64,
    /// How long before `deadlineMs` the extension makes sure it has exited.
    pub extension_exit_margin_ms: u64,
}

/// Timings every function library uses at shutdown (`library` in the file).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LibraryTiming {
    /// The exit is planned this long before Lambda's SIGKILL.
    pub kill_margin_ms: u64,
    /// The least time the last reports may hold the exit.
    pub flush_limit_ms: u64,
    /// Past the budget, how long a handler holding the process is waited for, at least.
    pub watchdog_grace_ms: u64,
    /// A report's loopback connect limit.
    pub report_connect_timeout_ms: u64,
    /// A report's write and answer limit.
    pub report_io_timeout_ms: u64,
    /// The write limit of a report sent on a handler's path.
    pub report_now_timeout_ms: u64,
    /// How long a handoff waits for the extension's answer.
    pub handoff_timeout_ms: u64,
}

/// The parsed limits. The file is embedded and checked by a unit test, so a
/// parse failure here is a build defect, not a run-time condition.
pub fn limits() -> &'static Limits {
    static LIMITS: OnceLock<Limits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        serde_json::from_str(LIMITS_JSON)
            .unwrap_or_else(|e| panic!("spec/limits.json is invalid: {e}"))
    })
}

impl PortLimits {
    /// Who uses `port`, if it is one of the reserved ports.
    pub fn reserved_by(&self, port: u16) -> Option<&str> {
        self.reserved
            .iter()
            .find(|r| r.port == port)
            .map(|r| r.used_by.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_file_parses_and_is_consistent() {
        let l = limits();
        assert!(l.port.min <= l.port.default && l.port.default <= l.port.max);
        assert!(l.port.reserved_by(l.port.default).is_none());
        assert!(l.timeout_ms.min <= l.timeout_ms.default);
        assert!(l.timeout_ms.default <= l.timeout_ms.max);
        assert_eq!(
            u64::from(l.timeout_ms.max) + l.shutdown.runtime_exit_reserve_ms,
            l.shutdown.runtime_share_ms,
            "the budget's maximum leaves exactly the exit reserve of the runtime's share"
        );
        assert_eq!(l.port.reserved_by(9001), Some("the Lambda Runtime API"));
        let v = &l.verdict;
        assert!(v.max_workers >= 2 && v.max_handlers_per_worker >= 1);
        assert!(
            v.max_handler_slots >= v.max_handlers_per_worker,
            "one worker can always keep its own cap"
        );
        assert!(l.max_worker_bytes >= 16, "room for a pid and a thread id");
        let h = &l.handoff;
        assert!(h.max_request_bytes <= h.max_total_bytes);
        assert!(
            h.max_request_bytes < h.max_body_bytes,
            "one request fits in a handoff"
        );
        assert!(h.concurrency >= 1 && h.retry_base_ms <= h.retry_max_ms);
        assert!(
            h.delivery_margin_ms < l.shutdown.phase_ms - l.shutdown.runtime_share_ms,
            "the extension's share leaves time to deliver"
        );
    }
}
