//! Waiting for something observable to happen, with a deadline generous
//! enough that it only fails when something is truly stuck.
//!
//! Polling (every millisecond) is how the wait notices the event; the
//! duration is never what the test relies on.

use std::time::{Duration, Instant};

/// The deadline for events that come in milliseconds on an idle machine: long
/// enough for a machine running many suites at once on two cores.
pub const DEADLINE: Duration = Duration::from_secs(30);

const POLL: Duration = Duration::from_millis(1);

/// Poll `probe` until it returns `Some`, and return that; fail the test after
/// `deadline`, naming `what` and what `context` says about the state then.
pub fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut probe: impl FnMut() -> Option<T>,
    context: impl FnOnce() -> String,
) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if Instant::now() >= end {
            panic!("{what}: not seen within {deadline:?}; {}", context());
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_for`] a condition.
pub fn wait_until(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> bool,
    context: impl FnOnce() -> String,
) {
    wait_for(what, deadline, || condition().then_some(()), context);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_first_value_seen() {
        let mut n = 0;
        let got = wait_for(
            "the third poll",
            DEADLINE,
            || {
                n += 1;
                (n == 3).then_some(n)
            },
            String::new,
        );
        assert_eq!(got, 3);
    }

    #[test]
    fn fails_naming_the_event_and_the_state() {
        let failed = std::panic::catch_unwind(|| {
            wait_until(
                "the sky falls",
                Duration::ZERO,
                || false,
                || "sky: up".into(),
            )
        })
        .expect_err("never true");
        let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            message.starts_with("the sky falls: not seen within"),
            "{message}"
        );
        assert!(message.ends_with("sky: up"), "{message}");
    }
}
