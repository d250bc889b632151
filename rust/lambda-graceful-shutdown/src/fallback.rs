//! The cold-start warnings (the extension is missing, a setting is bad) must
//! be seen. They go through `tracing` like every other line, but `tracing`
//! drops events silently when the function has set no subscriber; then each
//! warning is written to stderr instead, as one line (Lambda sends stderr to
//! the function's log too).

use std::io::Write;

use tracing::subscriber::NoSubscriber;

/// Whether a `tracing` event from this thread reaches a subscriber (a global
/// one, or one set for this thread).
pub(crate) fn has_subscriber() -> bool {
    tracing::dispatcher::get_default(|dispatch| !dispatch.is::<NoSubscriber>())
}

/// Write `line` to stderr in one write. A closed stderr is ignored: a
/// warning must never take the function down.
pub(crate) fn to_stderr(line: &str) {
    let mut text = String::with_capacity(line.len() + 1);
    text.push_str(line);
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// The smallest subscriber: takes everything, keeps nothing.
    struct Sink;
    impl Subscriber for Sink {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {}
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[test]
    fn falls_back_only_when_no_subscriber_is_set() {
        // No test in this crate sets a global subscriber.
        assert!(!has_subscriber());
        tracing::subscriber::with_default(Sink, || assert!(has_subscriber()));
        assert!(!has_subscriber());
    }
}
