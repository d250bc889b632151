//! The alternative a Rust user would write today: a SHUTDOWN-only external
//! extension on the official `lambda-extension` crate, following its README
//! (multi-threaded tokio runtime, `tracing_subscriber::fmt`). It logs the
//! shutdown and exits 0, since calling `/event/next` again after SHUTDOWN only
//! blocks until Lambda kills the process at `deadlineMs`.
//!
//! Used by the benchmark only, to compare start-up time, memory and size with
//! the graceful-shutdown layer under the same emulator.

use lambda_extension::{service_fn, Error, Extension, LambdaEvent, NextEvent};

async fn on_event(event: LambdaEvent) -> Result<(), Error> {
    match event.next {
        NextEvent::Shutdown(shutdown) => {
            tracing::info!(
                reason = ?shutdown.shutdown_reason,
                deadline_ms = shutdown.deadline_ms,
                "shutdown received"
            );
            std::process::exit(0);
        }
        NextEvent::Invoke(_) => Ok(()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .without_time()
        .init();

    Extension::new()
        .with_events(&["SHUTDOWN"])
        .with_events_processor(service_fn(on_event))
        .run()
        .await
}
