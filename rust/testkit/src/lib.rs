//! The test kit of the Rust suites and the bench: one place for what every
//! end-to-end test needs and used to write for itself.
//!
//! - [`ports`]: loopback ports no other test can be handed at the same time
//!   (below the kernel's ephemeral range, each held with an exclusive lock).
//! - [`wait`]: waiting for an observable event with a generous deadline,
//!   never a sleep standing in for one.
//! - [`process`]: child processes killed on drop, waited on with deadlines,
//!   whose output can be waited on line by line.
//! - [`paths`]: the binaries other packages build, or a failure that says how.
//! - [`cgroup`]: a CPU quota (cgroup v1 `cpu` controller) for a process, removed on drop.

pub mod cgroup;
pub mod paths;
pub mod ports;
pub mod process;
pub mod wait;

pub use paths::{built, target_dir};
pub use ports::{port, PortLease};
pub use process::{Output, Proc};
pub use wait::{wait_for, wait_until, DEADLINE};
