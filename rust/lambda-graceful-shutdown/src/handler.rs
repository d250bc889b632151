//! A registered shutdown handler: a name and a boxed `FnOnce` that makes the
//! handler's future. The closure is called inside the handler's own task, so
//! even a panic while building the future is isolated.

use std::future::Future;
use std::pin::Pin;

use graceful_shutdown_protocol::report::{MAX_ERROR_BYTES, MAX_NAME_BYTES};
use graceful_shutdown_protocol::text::fit;

/// The error type handlers are converted to. `anyhow::Error`,
/// `lambda_runtime::Error`, `std::io::Error` and any other
/// `std::error::Error + Send + Sync` convert into it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub(crate) type HandlerFuture =
    Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'static>>;
pub(crate) type HandlerFn = Box<dyn FnOnce() -> HandlerFuture + Send + 'static>;

pub(crate) struct Handler {
    pub(crate) name: String,
    pub(crate) run: HandlerFn,
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Handler {
    /// The handler, its name cut to what a report carries
    /// ([`MAX_NAME_BYTES`], escaped as JSON): the name in the logs, the
    /// [`Summary`](crate::Summary) and the extension's verdict is the same.
    pub(crate) fn new<F, Fut, E>(name: String, f: F) -> Handler
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        let run: HandlerFn = Box::new(move || {
            let fut = f();
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        Handler {
            name: fit(&name, MAX_NAME_BYTES),
            run,
        }
    }
}

/// The error and its causes, joined with `: `, cut to what a report carries
/// ([`MAX_ERROR_BYTES`], escaped as JSON).
pub(crate) fn describe_error(error: &BoxError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // anyhow's Display already shows only the outermost message; avoid repeating ones.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    fit(&text, MAX_ERROR_BYTES)
}

/// The message of a panic payload (`panic!("...")` gives `&str` or `String`).
pub(crate) fn describe_panic(payload: &(dyn std::any::Any + Send)) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("a non-string panic payload")
    };
    fit(&format!("panicked: {message}"), MAX_ERROR_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("flush failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_text_includes_causes() {
        let e: BoxError = Box::new(Outer(std::io::Error::other("connection reset")));
        assert_eq!(describe_error(&e), "flush failed: connection reset");
        let a: BoxError = anyhow::anyhow!("disk full").context("writing batch").into();
        assert_eq!(describe_error(&a), "writing batch: disk full");
    }

    #[test]
    fn long_errors_are_cut_by_bytes() {
        let e: BoxError = "x".repeat(5000).into();
        let text = describe_error(&e);
        assert_eq!(text.len(), MAX_ERROR_BYTES);
        assert!(text.ends_with('…'));
        let wide: BoxError = "€".repeat(5000).into();
        assert!(describe_error(&wide).len() <= MAX_ERROR_BYTES);
        let panic = describe_panic(&"\u{1}".repeat(5000));
        assert!(serde_json::to_string(&panic).map_or(0, |j| j.len()) <= MAX_ERROR_BYTES + 2);
    }

    #[test]
    fn panic_payloads_become_text() {
        assert_eq!(describe_panic(&"boom"), "panicked: boom");
        assert_eq!(describe_panic(&String::from("bang")), "panicked: bang");
        assert_eq!(
            describe_panic(&42_u8),
            "panicked: a non-string panic payload"
        );
    }
}
