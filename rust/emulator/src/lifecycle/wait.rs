//! How a phase waits: on the platform's state, re-checked on every change
//! and every process exit, until a deadline.

use std::time::Instant;

use crate::api::State;

use super::Emulator;

impl Emulator {
    /// Waits until `check` gives a value, re-checking on every state change or
    /// process exit, until `until`.
    pub(super) async fn wait_for<T>(
        &self,
        until: Instant,
        mut check: impl FnMut(&State, &Self) -> Option<T>,
    ) -> Option<T> {
        let mut changes = self.platform.subscribe();
        loop {
            {
                let st = self.platform.lock();
                if let Some(v) = check(&st, self) {
                    return Some(v);
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match tokio::time::timeout(left, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return None,
                Err(_) => {}
            }
        }
    }
}
