//! After a thaw, before a signal: a thread that has just left the cgroup
//! freezer (or a SIGSTOP) still has its "signal pending" flag set until it has
//! run back into the system call it was in, and Linux hands a process-directed
//! signal to another thread while the main thread looks busy that way. A
//! Python runtime whose main thread then never sees the SIGTERM never runs its
//! handler. Lambda pauses the whole machine instead, so there a thawed
//! thread is back where it was at once; here we wait, bounded, until every
//! thread of the environment is off the CPU again (sleeping in its system
//! call) before signalling.

use std::time::{Duration, Instant};

/// The longest wait: a thread that keeps computing never settles.
pub const SETTLE_LIMIT: Duration = Duration::from_millis(50);

/// One thread's scheduler state and wait channel, from /proc.
fn thread_state(pid: i32, tid: &str) -> Option<(char, String)> {
    let base = format!("/proc/{pid}/task/{tid}");
    let stat = std::fs::read_to_string(format!("{base}/stat")).ok()?;
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    let wchan = std::fs::read_to_string(format!("{base}/wchan")).unwrap_or_default();
    Some((state, wchan))
}

/// Whether every thread of `pids` is back in a blocking call (or gone).
fn settled(pids: &[i32]) -> bool {
    pids.iter().all(|&pid| {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return true;
        };
        tasks.flatten().all(|t| {
            let tid = t.file_name();
            match thread_state(pid, &tid.to_string_lossy()) {
                Some((state, wchan)) => {
                    !matches!(state, 'R' | 'T') && wchan.trim() != "__refrigerator"
                }
                None => true,
            }
        })
    })
}

/// Every process whose process group is one of `groups`.
pub fn members_of_groups(groups: &[i32]) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s.rsplit_once(')')?.1.to_owned();
                    // state ppid pgrp ...
                    rest.split_whitespace().nth(2)?.parse::<i32>().ok()
                })
                .is_some_and(|pgrp| groups.contains(&pgrp))
        })
        .collect()
}

/// Waits until every thread of `pids` has settled, at most `SETTLE_LIMIT`.
/// True if they did.
pub async fn after_thaw(pids: &[i32]) -> bool {
    let until = Instant::now() + SETTLE_LIMIT;
    loop {
        if settled(pids) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}
