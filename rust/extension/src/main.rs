//! The shutdown layer: a Lambda external extension that registers for
//! SHUTDOWN only, so that Lambda sends SIGTERM to the function before it
//! retires the environment; listens on loopback for the function's reports
//! about its shutdown handlers; and, when SHUTDOWN arrives (the runtime is gone
//! by then), logs one verdict line and exits 0 before the deadline.

mod client;
mod config;
mod extensions_api;
mod handoff;
mod listener;
mod log;
mod metrics;
mod reports;
mod request;
mod secret;
mod text_value;
mod throttle;
mod verdict;

use std::process;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::lambda::extensions::ERROR_CONFIG_INVALID;
use graceful_shutdown_protocol::{limits, Event, ShutdownReason, ENV_PORT, ENV_SECRET_FILE};
use serde_json::json;

use crate::config::{Config, LogSettings, Metrics};
use crate::extensions_api::Endpoint;
use crate::handoff::Handoffs;
use crate::log::{now_ms, Logger};
use crate::reports::Reports;
use crate::secret::Secret;
use crate::verdict::{Decide, HandoffCounts, Verdict};

/// Kept free before the exit deadline for deciding and logging the verdict.
const VERDICT_RESERVE_MS: u64 = 10;
/// Longest wait for the listener to handle reports still in flight at SHUTDOWN.
const DRAIN_MAX_MS: u64 = 1000;
/// The same wait when `/event/next` fails, before the verdict and `/exit/error`.
const FAILURE_DRAIN_MS: u64 = 100;

fn main() {
    // 1. Log the way the function's logging configuration asks.
    let settings = LogSettings::from_env();
    let log = Logger::new(settings.format, settings.level);
    for (var, value) in &settings.ignored {
        log.warn(
            "unknown value, using the default",
            &[("variable", json!(var)), ("value", json!(value))],
        );
    }

    // 2. Find the Extensions API and the name to register with.
    let api = match config::runtime_api(|name| std::env::var(name).ok()) {
        Ok(authority) => Endpoint::new(authority),
        Err(message) => {
            log.error(&message, &[]);
            process::exit(1);
        }
    };
    let name = config::extension_name();

    // 3. Read the settings once. A bad value fails the init, naming the variable.
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => fail_init(&api, &name, log, ERROR_CONFIG_INVALID, &e.to_string()),
    };

    // 4. Before registering (after which Lambda starts the runtime): bind the
    //    report port and write the secret, so the function finds both ready.
    let port_listener = match listener::bind(config.port) {
        Ok(l) => l,
        Err(e) => {
            let message = format!(
                "{ENV_PORT}: cannot listen on 127.0.0.1:{}: {e}; set {ENV_PORT} to a free port",
                config.port
            );
            fail_init(&api, &name, log, "Extension.ListenFailed", &message)
        }
    };
    let secret = match Secret::generate().and_then(|s| s.write_to(&config.secret_file).map(|()| s))
    {
        Ok(secret) => secret,
        Err(e) => {
            let message = format!(
                "{ENV_SECRET_FILE}: {e}; set {ENV_SECRET_FILE} to a writable path under /tmp"
            );
            fail_init(&api, &name, log, "Extension.SecretFileFailed", &message)
        }
    };

    // 5. Register for SHUTDOWN only.
    let registration = match client::register(&api, &name) {
        Ok(r) => r,
        Err(e) => {
            log.error(
                "registration failed",
                &[
                    ("error", json!(e)),
                    ("url", json!(api.url(&api.register(&name)))),
                ],
            );
            secret::remove(&config.secret_file);
            process::exit(1);
        }
    };
    log.info(
        "registered",
        &[
            ("name", json!(name)),
            ("events", json!(["SHUTDOWN"])),
            ("port", json!(config.port)),
            ("timeoutMs", json!(config.timeout_ms)),
            ("functionName", json!(registration.function_name)),
        ],
    );

    // 6. Take the function's reports (and handoffs) from now on.
    let reports = Reports::default();
    let handoffs = Handoffs::new(log);
    let listening = listener::spawn(
        port_listener,
        secret.clone(),
        reports.clone(),
        handoffs.clone(),
        log,
    );
    if let Err(e) = listening {
        fail_exit(
            &api,
            &registration.id,
            log,
            "Extension.ListenFailed",
            &format!("cannot start the report listener: {e}"),
        );
    }

    // 7. Wait for SHUTDOWN. Lambda sends it after the runtime has exited or been killed.
    let (reason, deadline_ms) = loop {
        match client::next_event(&api, &registration.id) {
            Ok(Event::Shutdown {
                reason,
                deadline_ms,
            }) => break (reason, deadline_ms),
            Ok(Event::Invoke { request_id, .. }) => {
                log.debug(
                    "ignoring INVOKE (not subscribed)",
                    &[("requestId", json!(request_id))],
                );
            }
            Ok(Event::Unknown { event_type }) => {
                log.warn(
                    "ignoring an unknown event",
                    &[("eventType", json!(event_type))],
                );
            }
            Err(e) => {
                // Lambda may be shutting down (a SHUTDOWN body that does not
                // parse): say what the function reported so far, then fail.
                listener::drain(
                    config.port,
                    &secret,
                    Duration::from_millis(FAILURE_DRAIN_MS),
                );
                let handed_off = handoffs.close();
                if !reports.snapshot().is_empty() || handed_off.is_some() {
                    log_verdict(
                        log,
                        config.metrics,
                        &registration.function_name,
                        &ShutdownReason::default(),
                        &reports,
                        handed_off,
                    );
                }
                fail_exit(&api, &registration.id, log, "Extension.NextEventFailed", &e)
            }
        }
    };

    // 8. Deliver what was handed off, log the verdict and exit 0 before the
    //    deadline, whatever happens.
    let finisher = Arc::new(Finisher {
        reason,
        reports,
        handoffs: handoffs.clone(),
        log,
        metrics: config.metrics,
        function_name: registration.function_name,
        secret_file: config.secret_file.clone(),
        once: Mutex::new(()),
    });
    let exit_at = exit_time(deadline_ms, now_ms());
    log.debug(
        "SHUTDOWN",
        &[
            ("deadlineMs", json!(deadline_ms)),
            ("exitAtMs", json!(exit_at)),
        ],
    );
    start_watchdog(&finisher, exit_at, log);
    let budget = exit_at
        .saturating_sub(now_ms())
        .saturating_sub(VERDICT_RESERVE_MS)
        .min(DRAIN_MAX_MS);
    if budget > 0 && !listener::drain(config.port, &secret, Duration::from_millis(budget)) {
        log.debug(
            "reports still in flight were not all handled before the deadline",
            &[],
        );
    }
    let stop_sending = exit_at
        .saturating_sub(VERDICT_RESERVE_MS)
        .saturating_sub(limits().handoff.delivery_margin_ms);
    handoffs.wait(Instant::now() + Duration::from_millis(stop_sending.saturating_sub(now_ms())));
    finisher.finish()
}

/// When to be gone: `deadlineMs` less the safety margin from `spec/limits.json`.
/// Without a usable deadline, assume the extensions' share of the phase from now.
fn exit_time(deadline_ms: Option<u64>, now: u64) -> u64 {
    let timing = &limits().shutdown;
    let deadline = deadline_ms
        .unwrap_or_else(|| now.saturating_add(timing.phase_ms - timing.runtime_share_ms));
    deadline.saturating_sub(timing.extension_exit_margin_ms)
}

/// Decides, logs and exits, exactly once: from the main thread, or from the
/// watchdog if the main thread is still waiting when the time is up.
struct Finisher {
    reason: ShutdownReason,
    reports: Reports,
    handoffs: Handoffs,
    log: Logger,
    metrics: Metrics,
    function_name: String,
    secret_file: std::path::PathBuf,
    once: Mutex<()>,
}

impl Finisher {
    fn finish(&self) -> ! {
        // The second caller waits here until the first one has exited the process.
        let _only_one = self.once.lock().unwrap_or_else(PoisonError::into_inner);
        // What is not delivered by now is dead-lettered, one record each.
        let handed_off = self.handoffs.close();
        log_verdict(
            self.log,
            self.metrics,
            &self.function_name,
            &self.reason,
            &self.reports,
            handed_off,
        );
        secret::remove(&self.secret_file);
        process::exit(0)
    }
}

/// Decide the verdict from the reports so far and log it (and its EMF line).
fn log_verdict(
    log: Logger,
    metrics: Metrics,
    function_name: &str,
    reason: &ShutdownReason,
    reports: &Reports,
    handoff: Option<HandoffCounts>,
) {
    let mut verdict = Verdict::decide_workers(reason, &reports.snapshot());
    verdict.handoff = handoff;
    log.verdict(&verdict);
    if metrics == Metrics::Emf {
        log.raw(&metrics::emf_line(&verdict, function_name, now_ms()));
    }
}

fn start_watchdog(finisher: &Arc<Finisher>, exit_at: u64, log: Logger) {
    let finisher = Arc::clone(finisher);
    let spawned = std::thread::Builder::new()
        .name(String::from("deadline"))
        .spawn(move || {
            std::thread::sleep(Duration::from_millis(exit_at.saturating_sub(now_ms())));
            finisher.finish()
        });
    if let Err(e) = spawned {
        // The main thread still finishes on time; the watchdog is a backstop.
        log.warn(
            "cannot start the deadline watchdog",
            &[("error", json!(e.to_string()))],
        );
    }
}

/// The init cannot go on: register (an identifier is needed to report), send
/// `/init/error`, exit non-zero.
fn fail_init(api: &Endpoint, name: &str, log: Logger, error_type: &str, message: &str) -> ! {
    log.error(message, &[("errorType", json!(error_type))]);
    match client::register(api, name) {
        Ok(registration) => {
            if let Err(e) = client::init_error(api, &registration.id, error_type, message) {
                log.error("init/error failed", &[("error", json!(e))]);
            }
        }
        Err(e) => log.error("registration failed", &[("error", json!(e))]),
    }
    process::exit(1)
}

/// An API failure after init: send `/exit/error`, exit non-zero.
fn fail_exit(api: &Endpoint, id: &str, log: Logger, error_type: &str, message: &str) -> ! {
    log.error(message, &[("errorType", json!(error_type))]);
    if let Err(e) = client::exit_error(api, id, error_type, message) {
        log.error("exit/error failed", &[("error", json!(e))]);
    }
    process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_time_keeps_the_margin() {
        assert_eq!(exit_time(Some(10_000), 5_000), 9_900);
        assert_eq!(exit_time(Some(50), 5_000), 0);
        assert_eq!(exit_time(None, 5_000), 5_000 + 1_700 - 100);
    }
}
