//! The report store: the reports the listener accepted, kept for the
//! verdict in the order their connections were accepted, up to
//! [`MAX_REPORTS`].

use std::sync::{Arc, Mutex, PoisonError};

use graceful_shutdown_protocol::WorkerReport;

/// Most reports kept for one environment; a normal one sends a few per handler.
pub const MAX_REPORTS: usize = 10_000;

/// The reports received so far (each with the worker that sent it), each
/// with the number of its connection.
#[derive(Debug, Clone, Default)]
pub struct Reports(Arc<Mutex<Vec<(u64, WorkerReport)>>>);

impl Reports {
    /// The reports in arrival order. A poisoned lock still holds good data: take it.
    pub fn snapshot(&self) -> Vec<WorkerReport> {
        let mut list = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        list.sort_by_key(|(connection, _)| *connection);
        list.into_iter().map(|(_, report)| report).collect()
    }

    /// Store `report`, which came on connection number `connection`, unless the list is full.
    pub fn push(&self, connection: u64, report: WorkerReport) -> bool {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if list.len() >= MAX_REPORTS {
            return false;
        }
        list.push((connection, report));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graceful_shutdown_protocol::Report;

    fn started(index: usize) -> WorkerReport {
        WorkerReport {
            worker: Some(format!("w{index}")),
            report: Report::Started {
                handler: format!("h{index}"),
                index,
            },
        }
    }

    #[test]
    fn reports_are_kept_in_connection_order_whatever_order_they_are_stored_in() {
        let reports = Reports::default();
        assert!(reports.push(2, started(2)));
        assert!(reports.push(0, started(0)));
        assert!(reports.push(1, started(1)));
        assert_eq!(reports.snapshot(), [started(0), started(1), started(2)]);
    }
}
