#![doc = include_str!("../README.md")]

mod attach;
mod config;
mod exit;
mod fallback;
mod handler;
mod handoff;
mod reporter;
mod runner;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use graceful_shutdown_protocol::report::hello_reports;

pub use config::{BadSetting, Config};
pub use graceful_shutdown_protocol::handoff::{HandoffError, HandoffRequest, Signing};
pub use handler::BoxError;
pub use handoff::{aws_json_request, handoff, handoff_with, Handed};
pub use runner::{HandlerOutcome, HandlerStatus, Summary};

use handler::Handler;
use reporter::Reporter;

/// Collects shutdown handlers, then [`install`](GracefulShutdown::install)s them.
///
/// ```no_run
/// # async fn demo() {
/// let shutdown = lambda_graceful_shutdown::GracefulShutdown::from_env()
///     .on_shutdown("flush", || async { Ok::<(), std::io::Error>(()) })
///     .install();
/// # let _ = shutdown;
/// # }
/// ```
#[derive(Debug)]
#[must_use = "nothing happens until `install()` (or `build()` in tests) is called"]
pub struct GracefulShutdown {
    config: Config,
    concurrent: bool,
    handlers: Vec<Handler>,
}

impl GracefulShutdown {
    /// Start with settings read from the environment ([`Config::from_env`]).
    pub fn from_env() -> GracefulShutdown {
        GracefulShutdown::new(Config::from_env())
    }

    /// Start with these settings (tests build the [`Config`] directly).
    pub fn new(config: Config) -> GracefulShutdown {
        GracefulShutdown {
            config,
            concurrent: false,
            handlers: Vec::new(),
        }
    }

    /// Register a handler to run once on shutdown.
    ///
    /// `name` appears in the logs and in the extension's verdict; a name
    /// longer than 128 bytes (escaped as JSON) is cut, and ends with `…`, so
    /// that every report fits the protocol's size limit. `handler` is
    /// called at shutdown, in its own tokio task; it usually captures state
    /// (a pool, a client, a buffer behind an `Arc`). Its error can be anything
    /// that converts into [`BoxError`]: `anyhow::Error`, `lambda_runtime::Error`,
    /// `std::io::Error`, any `std::error::Error + Send + Sync`.
    pub fn on_shutdown<F, Fut, E>(mut self, name: impl Into<String>, handler: F) -> GracefulShutdown
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.handlers.push(Handler::new(name.into(), handler));
        self
    }

    /// Run the handlers all at once (`true`) instead of one after another in
    /// registration order (`false`, the default).
    pub fn concurrent(mut self, concurrent: bool) -> GracefulShutdown {
        self.concurrent = concurrent;
        self
    }

    /// Check for the extension, and run the handlers once on the first SIGTERM
    /// or SIGINT, then exit the process with status 0.
    ///
    /// Call it once, inside the tokio runtime, before `lambda_runtime::run`.
    /// From the moment it returns, SIGTERM and SIGINT no longer kill the
    /// process directly: they start the shutdown.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub fn install(self) -> ShutdownHandle {
        let handle = self.build();
        exit::listen(handle.clone());
        handle
    }

    /// Like [`install`](GracefulShutdown::install) but without listening for
    /// signals: the handlers run only through [`ShutdownHandle::trigger`], and
    /// the process does not exit. For tests.
    pub fn build(self) -> ShutdownHandle {
        let names: Vec<String> = self.handlers.iter().map(|h| h.name.clone()).collect();
        let reporter = match attach::read_secret(&self.config.secret_file) {
            Ok(secret) => {
                let reporter = Reporter::spawn(self.config.port, secret);
                // Usually one report; more only when the names do not fit in one.
                for hello in hello_reports(
                    std::process::id(),
                    &names,
                    u32::try_from(self.config.timeout.as_millis()).unwrap_or(u32::MAX),
                    self.concurrent,
                ) {
                    reporter.send(hello);
                }
                reporter
            }
            Err(reason) => {
                attach::warn_missing_once(&reason, &names);
                Reporter::disabled()
            }
        };
        tracing::debug!(
            handlers = ?names,
            port = self.config.port,
            timeout_ms = u64::try_from(self.config.timeout.as_millis()).unwrap_or(u64::MAX),
            concurrent = self.concurrent,
            extension = reporter.is_enabled(),
            "graceful-shutdown: shutdown handlers registered"
        );
        ShutdownHandle {
            inner: Arc::new(Inner {
                config: self.config,
                concurrent: self.concurrent,
                names,
                handlers: Mutex::new(Some(self.handlers)),
                summary: tokio::sync::OnceCell::new(),
                reporter,
            }),
        }
    }
}

/// The installed handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    concurrent: bool,
    names: Vec<String>,
    handlers: Mutex<Option<Vec<Handler>>>,
    summary: tokio::sync::OnceCell<Summary>,
    reporter: Reporter,
}

impl ShutdownHandle {
    /// Run the handlers now, as a signal would, but without exiting; returns
    /// what happened. The handlers run once per process: later calls (and a
    /// later signal) get the same [`Summary`] without running anything again.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use lambda_graceful_shutdown::{Config, GracefulShutdown, HandlerStatus};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let flushed = Arc::new(AtomicUsize::new(0));
    /// let counter = flushed.clone();
    /// let config = Config {
    ///     timeout: Duration::from_millis(100),
    ///     secret_file: "/nonexistent/secret".into(),
    ///     ..Config::default()
    /// };
    /// let shutdown = GracefulShutdown::new(config)
    ///     .on_shutdown("flush", move || async move {
    ///         counter.fetch_add(1, Ordering::SeqCst);
    ///         Ok::<(), std::io::Error>(())
    ///     })
    ///     .build();
    ///
    /// let summary = shutdown.trigger().await;
    /// assert_eq!(summary.handler("flush").unwrap().status, HandlerStatus::Completed);
    /// shutdown.trigger().await;
    /// assert_eq!(flushed.load(Ordering::SeqCst), 1);
    /// # }
    /// ```
    pub async fn trigger(&self) -> Summary {
        let summary = self.run("trigger", Instant::now()).await;
        let reporter = self.inner.reporter.clone();
        // Give the reports the same short flush an exit would, off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || reporter.flush(exit::flush_floor())).await;
        summary
    }

    /// The names of the handlers, in registration order.
    pub fn handler_names(&self) -> &[String] {
        &self.inner.names
    }

    /// The settings in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Whether handlers run concurrently.
    pub fn is_concurrent(&self) -> bool {
        self.inner.concurrent
    }

    /// Whether the extension was found at cold start (so reports are sent).
    pub fn extension_attached(&self) -> bool {
        self.inner.reporter.is_enabled()
    }

    /// What happened, once the handlers have run.
    pub fn summary(&self) -> Option<Summary> {
        self.inner.summary.get().cloned()
    }

    /// Wait at most `limit` for the reports queued so far to reach the
    /// extension; returns whether they all did. Blocks the calling thread.
    pub fn flush_reports(&self, limit: Duration) -> bool {
        self.inner.reporter.flush(limit)
    }

    pub(crate) fn reporter(&self) -> &Reporter {
        &self.inner.reporter
    }

    /// Run the handlers once, with the budget counted from `start`.
    pub(crate) async fn run(&self, signal: &str, start: Instant) -> Summary {
        self.inner
            .summary
            .get_or_init(|| async {
                let handlers = self
                    .inner
                    .handlers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .unwrap_or_default();
                runner::run_handlers(
                    handlers,
                    self.inner.concurrent,
                    self.inner.config.timeout,
                    start,
                    signal,
                    &self.inner.reporter,
                )
                .await
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn config() -> Config {
        Config {
            timeout: Duration::from_millis(100),
            secret_file: "/nonexistent/graceful-shutdown.secret".into(),
            ..Config::default()
        }
    }

    #[tokio::test]
    async fn trigger_runs_the_handlers_once_even_when_called_concurrently() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let handle = GracefulShutdown::new(config())
            .on_shutdown("count", move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok::<(), anyhow::Error>(())
            })
            .build();
        assert!(handle.summary().is_none());
        assert!(!handle.extension_attached());
        assert_eq!(handle.handler_names(), ["count"]);
        let other = handle.clone();
        let (first, second) = tokio::join!(handle.trigger(), other.trigger());
        assert_eq!(first, second);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(handle.summary(), Some(first));
    }

    #[tokio::test]
    async fn handlers_capture_state_and_accept_any_error_type() {
        let buffer = Arc::new(tokio::sync::Mutex::new(vec![1, 2, 3]));
        let flushed = Arc::new(AtomicUsize::new(0));
        let (to_flush, count) = (buffer.clone(), flushed.clone());
        let handle = GracefulShutdown::new(config())
            .concurrent(true)
            .on_shutdown("flush", move || async move {
                let batch = std::mem::take(&mut *to_flush.lock().await);
                count.fetch_add(batch.len(), Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            })
            .on_shutdown("boxed", || async {
                Err::<(), BoxError>("boxed error".into())
            })
            .on_shutdown("anyhow", || async {
                Err::<(), _>(anyhow::anyhow!("anyhow error"))
            })
            .build();
        assert!(handle.is_concurrent());
        let summary = handle.trigger().await;
        assert_eq!(flushed.load(Ordering::SeqCst), 3);
        assert!(buffer.lock().await.is_empty());
        assert_eq!(
            summary.handler("boxed").map(|h| h.status.clone()),
            Some(HandlerStatus::Failed("boxed error".into()))
        );
        assert_eq!(
            summary.handler("anyhow").map(|h| h.status.clone()),
            Some(HandlerStatus::Failed("anyhow error".into()))
        );
    }

    #[tokio::test]
    async fn cold_start_check_is_a_file_read_and_never_waits_for_the_extension() {
        // An "extension" that accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let dir = tempfile::tempdir().expect("tempdir");
        let secret_file = dir.path().join("secret");
        std::fs::write(&secret_file, "ab".repeat(32)).expect("write");
        let config = Config {
            port: listener.local_addr().expect("addr").port(),
            timeout: Duration::from_millis(50),
            secret_file,
        };
        let started = std::time::Instant::now();
        let handle = GracefulShutdown::new(config)
            .on_shutdown("flush", || async { Ok::<(), std::io::Error>(()) })
            .build();
        let took = started.elapsed();
        assert!(handle.extension_attached());
        // No time bound here (it would flake on a loaded machine): that
        // queueing the hello never waits for its delivery is proven by
        // `reporter::tests::queueing_never_waits_for_the_delivery`.
        eprintln!("figure: cold-start check and hello queued in {took:?}");
        // The hello really is on its way: the listener sees the connection.
        listener.set_nonblocking(false).expect("blocking");
        let (_conn, _) = listener.accept().expect("the hello connects");
    }
}

// The repository's README shows this crate next to `lambda_runtime`; its Rust
// snippet is compiled as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadme;
