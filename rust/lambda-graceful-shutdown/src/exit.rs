//! Listening for SIGTERM and SIGINT, running the handlers once, and exiting.
//!
//! The first signal starts the shutdown; later ones are logged and otherwise
//! ignored (the handlers run exactly once, and a second SIGTERM must not kill
//! the process halfway through them). After the handlers, the process waits
//! for the pending reports (bounded by [`flush_limit`]) and exits with status 0.
//!
//! A watchdog thread exits the process shortly before Lambda's SIGKILL (and
//! at least shortly after the budget) in case a handler blocks its thread
//! and the runtime can no longer notice the deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use graceful_shutdown_protocol::limits;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::time::Instant as TokioInstant;

use crate::ShutdownHandle;

/// The shortest wait for pending reports before the exit (`library.flushLimitMs`).
pub(crate) fn flush_floor() -> Duration {
    Duration::from_millis(limits().library.flush_limit_ms)
}

/// Kept free before Lambda's SIGKILL when waiting for pending reports (`library.killMarginMs`).
fn kill_margin() -> Duration {
    Duration::from_millis(limits().library.kill_margin_ms)
}

/// How long after the budget the watchdog steps in, at the earliest (`library.watchdogGraceMs`).
pub(crate) fn watchdog_grace() -> Duration {
    Duration::from_millis(limits().library.watchdog_grace_ms)
}

/// When the watchdog steps in, `budget` after the signal: shortly before
/// Lambda SIGKILLs the runtime (the end of its share, less `library.killMarginMs`),
/// so that a runtime merely slow (a starved CPU) still ends its handlers and
/// reports them itself; and at least `library.watchdogGraceMs` after the budget.
pub(crate) fn watchdog_after(budget: Duration) -> Duration {
    let share = Duration::from_millis(limits().shutdown.runtime_share_ms);
    share
        .saturating_sub(kill_margin())
        .max(budget + watchdog_grace())
}

/// How long pending reports may hold the exit, `since_signal` after the
/// signal: until shortly before Lambda SIGKILLs the runtime (its share of the
/// shutdown phase), and at least `library.flushLimitMs`. The wait ends as soon as
/// the reports are out, usually well under a millisecond after the handlers;
/// the bound matters only when the extension is slow to answer.
pub(crate) fn flush_limit(since_signal: Duration) -> Duration {
    let share = Duration::from_millis(limits().shutdown.runtime_share_ms);
    share
        .saturating_sub(kill_margin())
        .saturating_sub(since_signal)
        .max(flush_floor())
}

/// Register for SIGTERM and SIGINT now (so no signal is missed from here on)
/// and spawn the task that waits for them.
pub(crate) fn listen(handle: ShutdownHandle) {
    let runtime = tokio::runtime::Handle::try_current().unwrap_or_else(|_| {
        panic!(
            "lambda_graceful_shutdown: install() must be called inside a tokio runtime, \
             for example in `#[tokio::main] async fn main()` before `lambda_runtime::run`"
        )
    });
    let term = register(SignalKind::terminate(), "SIGTERM");
    let int = register(SignalKind::interrupt(), "SIGINT");
    runtime.spawn(wait_for_signals(term, int, handle));
}

fn register(kind: SignalKind, name: &str) -> Option<Signal> {
    match signal(kind) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("graceful-shutdown: cannot listen for {name}: {e}; shutdown handlers will not run on it");
            None
        }
    }
}

async fn recv(signal: &mut Option<Signal>) {
    if let Some(s) = signal {
        if s.recv().await.is_some() {
            return;
        }
    }
    // No listener, or the runtime's signal driver is gone: never fires.
    std::future::pending().await
}

async fn wait_for_signals(
    mut term: Option<Signal>,
    mut int: Option<Signal>,
    handle: ShutdownHandle,
) {
    let mut first = true;
    loop {
        let name = tokio::select! {
            () = recv(&mut term) => "SIGTERM",
            () = recv(&mut int) => "SIGINT",
        };
        if first {
            first = false;
            let start = TokioInstant::now();
            let handle = handle.clone();
            tokio::spawn(shutdown_and_exit(handle, name, start));
        } else {
            tracing::info!("graceful-shutdown: {name} received again; the shutdown handlers are already running and run only once");
        }
    }
}

async fn shutdown_and_exit(handle: ShutdownHandle, signal: &'static str, start: TokioInstant) {
    let handlers_done = Arc::new(AtomicBool::new(false));
    start_watchdog(
        handle.clone(),
        (start + watchdog_after(handle.config().timeout)).into_std(),
        handlers_done.clone(),
    );
    let summary = handle.run(signal, start).await;
    handlers_done.store(true, Ordering::SeqCst);
    // Every report written (the usual case: `allDone` is written on this
    // path, with any before it), the answers get a short wait; a report
    // still queued may hold the exit until shortly before the kill.
    let limit = if handle.reporter().all_written() {
        flush_floor()
    } else {
        flush_limit(start.elapsed())
    };
    if !handle.reporter().flush(limit) {
        tracing::warn!(
            "graceful-shutdown: some reports were not delivered within {} ms",
            limit.as_millis()
        );
    }
    tracing::info!(
        total_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        completed = summary.completed(),
        "graceful-shutdown: exiting with status 0"
    );
    exit_once();
}

fn start_watchdog(handle: ShutdownHandle, at: Instant, handlers_done: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name(String::from("graceful-shutdown-watchdog"))
        .spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            if handlers_done.load(Ordering::SeqCst) {
                // The shutdown task is flushing the reports and exits by itself.
                return;
            }
            tracing::error!(
                "graceful-shutdown: the shutdown handlers did not give control back {} ms after the signal, \
                 past their budget (does a handler block its thread? use tokio::task::spawn_blocking); exiting now",
                watchdog_after(handle.config().timeout).as_millis()
            );
            handle.reporter().flush(flush_floor());
            exit_once();
        });
    if let Err(e) = spawned {
        tracing::warn!("graceful-shutdown: cannot start the shutdown watchdog: {e}");
    }
}

/// Exit with status 0 from exactly one thread; any other caller waits for the end.
fn exit_once() -> ! {
    static EXITING: AtomicBool = AtomicBool::new(false);
    if !EXITING.swap(true, Ordering::SeqCst) {
        std::process::exit(0);
    }
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_may_hold_the_exit_until_shortly_before_the_kill() {
        assert_eq!(
            flush_limit(Duration::from_millis(100)),
            Duration::from_millis(190)
        );
        assert_eq!(
            flush_limit(Duration::from_millis(250)),
            Duration::from_millis(40)
        );
        assert_eq!(flush_limit(Duration::from_millis(280)), flush_floor());
        assert_eq!(flush_limit(Duration::from_secs(5)), flush_floor());
    }

    #[test]
    fn the_watchdog_waits_until_shortly_before_the_kill_and_past_the_budget() {
        assert_eq!(
            watchdog_after(Duration::from_millis(100)),
            Duration::from_millis(290)
        );
        assert_eq!(
            watchdog_after(Duration::from_millis(280)),
            Duration::from_millis(310)
        );
    }
}
