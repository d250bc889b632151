//! Listening for SIGTERM and SIGINT, running the handlers once, and exiting.
//!
//! The first signal starts the shutdown; later ones are logged and otherwise
//! ignored (the handlers run exactly once, and a second SIGTERM must not kill
//! the process halfway through them). After the handlers, pending reports get
//! a short bounded flush and the process exits with status 0.
//!
//! A watchdog thread exits the process shortly after the budget in case a
//! handler blocks its thread and the runtime can no longer notice the deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::ShutdownHandle;

/// How long pending reports may delay the exit.
pub(crate) const FLUSH_LIMIT: Duration = Duration::from_millis(10);
/// How long after the budget the watchdog steps in.
pub(crate) const WATCHDOG_GRACE: Duration = Duration::from_millis(30);

/// Register for SIGTERM and SIGINT now (so no signal is missed from here on)
/// and spawn the task that waits for them.
pub(crate) fn listen(handle: ShutdownHandle) {
    let runtime = tokio::runtime::Handle::try_current().unwrap_or_else(|_| {
        panic!(
            "graceful_shutdown: install() must be called inside a tokio runtime, \
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

async fn wait_for_signals(mut term: Option<Signal>, mut int: Option<Signal>, handle: ShutdownHandle) {
    let mut first = true;
    loop {
        let name = tokio::select! {
            () = recv(&mut term) => "SIGTERM",
            () = recv(&mut int) => "SIGINT",
        };
        if first {
            first = false;
            let start = Instant::now();
            let handle = handle.clone();
            tokio::spawn(shutdown_and_exit(handle, name, start));
        } else {
            tracing::info!("graceful-shutdown: {name} received again; the shutdown handlers are already running and run only once");
        }
    }
}

async fn shutdown_and_exit(handle: ShutdownHandle, signal: &'static str, start: Instant) {
    let deadline = start + handle.config().timeout;
    start_watchdog(handle.clone(), deadline + WATCHDOG_GRACE);
    let summary = handle.run(signal, start).await;
    let flushed = handle.reporter().flush(FLUSH_LIMIT);
    if !flushed {
        tracing::warn!("graceful-shutdown: some reports were not delivered within {} ms", FLUSH_LIMIT.as_millis());
    }
    tracing::info!(
        total_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        completed = summary.completed(),
        "graceful-shutdown: exiting with status 0"
    );
    exit_once();
}

fn start_watchdog(handle: ShutdownHandle, at: Instant) {
    let spawned = std::thread::Builder::new()
        .name(String::from("graceful-shutdown-watchdog"))
        .spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            tracing::error!(
                "graceful-shutdown: the shutdown handlers did not give control back {} ms after the budget \
                 (does a handler block its thread? use tokio::task::spawn_blocking); exiting now",
                WATCHDOG_GRACE.as_millis()
            );
            handle.reporter().flush(FLUSH_LIMIT);
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
