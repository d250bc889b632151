//! Rate-limiting the refusal log lines: a flood of bad requests on the
//! report port (a scanner, a request forgery in a loop) must not flood the
//! function's log. At most [`BURST`] lines per [`WINDOW`]; the lines dropped
//! are counted, and the count rides on the next line that is logged.

use std::time::{Duration, Instant};

/// The window the burst is counted in.
pub const WINDOW: Duration = Duration::from_secs(1);
/// Most lines logged per window.
pub const BURST: u32 = 20;

#[derive(Debug, Default)]
pub struct Throttle {
    window_start: Option<Instant>,
    logged: u32,
    dropped: u64,
}

impl Throttle {
    /// Whether a line may be logged at `now`: `Some(n)` to log it, `n` being
    /// the lines dropped since the last one logged; `None` to drop it.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        let fresh = match self.window_start {
            Some(start) => now.saturating_duration_since(start) >= WINDOW,
            None => true,
        };
        if fresh {
            self.window_start = Some(now);
            self.logged = 0;
        }
        if self.logged < BURST {
            self.logged += 1;
            Some(std::mem::take(&mut self.dropped))
        } else {
            self.dropped += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_quiet_then_the_count_of_what_was_dropped() {
        let mut t = Throttle::default();
        let t0 = Instant::now();
        let first: Vec<Option<u64>> = (0..BURST + 5).map(|_| t.admit(t0)).collect();
        assert!(first[..BURST as usize].iter().all(|a| *a == Some(0)));
        assert!(first[BURST as usize..].iter().all(Option::is_none));
        assert_eq!(t.admit(t0 + WINDOW / 2), None, "same window");
        assert_eq!(t.admit(t0 + WINDOW), Some(6), "next window: 6 were dropped");
        assert_eq!(t.admit(t0 + WINDOW), Some(0));
    }
}
