//! A local AWS Lambda lifecycle emulator, faithful to the shutdown phase.
//!
//! It serves the Runtime API and the Extensions API on a free loopback port,
//! starts every executable in the layers' `extensions/` directories and the
//! function's `bootstrap` (or, on a managed runtime, the official Python or
//! Node.js runtime interface client with the function's code) as real
//! processes (each in its own process group, with the environment Lambda
//! gives each), sends invocations, freezes the environment while it is idle
//! (and gives it the CPU share of its memory when asked), and once it is idle
//! runs the shutdown phase in Lambda's order: SIGTERM to the runtime, up to its share,
//! SIGKILL; then SHUTDOWN with an absolute `deadlineMs` to the subscribed
//! extensions; SIGKILL to whoever is left at the deadline. Everything lands in
//! a [`Timeline`] that tests assert on and [`render`] prints.
//!
//! The library has no command line: a [`Scenario`] says what to run. The
//! `lambda-emulator` binary and `gracefulctl emulate` (both in the
//! `gracefulctl` crate) build one from their arguments.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use graceful_shutdown_emulator::{Emulator, Scenario};
//! let report = Emulator::run(Scenario::new("fn-dir").layer("layer-dir")).await?;
//! print!("{}", graceful_shutdown_emulator::render(&report.timeline));
//! # Ok(()) }
//! ```

pub mod api;
pub mod cgroup;
pub mod environment;
pub mod layout;
pub mod lifecycle;
pub mod process;
pub mod render;
pub mod runtimes;
pub mod scenario;
pub mod settle;
pub mod timeline;

pub use lifecycle::{Emulator, InitFailure, InvokeOutcome, RunReport, ShutdownReason};
pub use render::render;
pub use scenario::{Faults, Freeze, Scenario, MB_PER_VCPU};
pub use timeline::{Event, EventKind, LogLine, Stream, Timeline, PLATFORM, RUNTIME};
