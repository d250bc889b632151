//! Loopback ports that no other test (in this process or any other) is
//! handed at the same time.
//!
//! Binding port 0, closing it and handing the number to another process is a
//! race: anything binding port 0 meanwhile (another test's fake API, the
//! emulator's own listener) can be given the same number. Instead, ports are
//! taken from 20000-31999, below the kernel's ephemeral range (32768 and up,
//! where port-0 binds land), and each is held with an exclusive `flock` on a
//! lock file, `<temp dir>/graceful-shutdown-test-ports/<port>.lock`, for as
//! long as the lease lives. Any test, in any language, that takes the same
//! lock before using a port in that range cooperates with these.
//! A port some other program already listens on is skipped.

use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};

/// The first port handed out.
pub const FIRST: u16 = 20_000;
/// One past the last port handed out (the ephemeral range starts at 32768).
pub const END: u16 = 32_000;

/// The directory of the per-port lock files.
pub fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("graceful-shutdown-test-ports")
}

/// A port held for as long as this value lives: no other lease, in any
/// process, gets it meanwhile. Keep it until the process it is handed to
/// has exited.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    _lock: Flock<File>,
}

impl PortLease {
    /// Take the next free port.
    pub fn take() -> PortLease {
        let dir = lock_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| {
            panic!(
                "cannot create the port lock directory {}: {e}",
                dir.display()
            )
        });
        let span = u32::from(END - FIRST);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // Processes start at different places so that they rarely contend.
        let seed = std::process::id().wrapping_mul(7919);
        for _ in 0..span {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let offset = seed.wrapping_add(n) % span;
            let port = FIRST + u16::try_from(offset).expect("offset below the span");
            if let Some(lease) = try_port(&dir, port) {
                return lease;
            }
        }
        panic!(
            "no free loopback port in {FIRST}-{}: every one is locked or in use",
            END - 1
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

fn try_port(dir: &std::path::Path, port: u16) -> Option<PortLease> {
    let path = dir.join(format!("{port}.lock"));
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open the port lock file {}: {e}", path.display()));
    let lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).ok()?;
    // Locked: no cooperating test uses it. Skip it if another program does.
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).ok()?;
    Some(PortLease { port, _lock: lock })
}

/// A port held until this process exits: for tests that hand a port to a
/// child and do not want to carry the lease around.
pub fn port() -> u16 {
    static HELD: Mutex<Vec<PortLease>> = Mutex::new(Vec::new());
    let lease = PortLease::take();
    let port = lease.port();
    HELD.lock().unwrap_or_else(|p| p.into_inner()).push(lease);
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_distinct_bindable_and_below_the_ephemeral_range() {
        let leases: Vec<PortLease> = (0..50).map(|_| PortLease::take()).collect();
        let mut ports: Vec<u16> = leases.iter().map(PortLease::port).collect();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 50);
        for p in &ports {
            assert!((FIRST..END).contains(p), "{p}");
            assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_ok(), "{p}");
        }
    }

    #[test]
    fn a_held_port_is_refused_to_another_lock_holder_until_released() {
        let lease = PortLease::take();
        let dir = lock_dir();
        assert!(try_port(&dir, lease.port()).is_none(), "still held");
        let port = lease.port();
        drop(lease);
        assert!(try_port(&dir, port).is_some(), "released on drop");
    }

    #[test]
    fn a_port_another_program_listens_on_is_skipped() {
        let lease = PortLease::take();
        let port = lease.port();
        drop(lease);
        let _listening = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind");
        assert!(try_port(&lock_dir(), port).is_none());
    }
}
