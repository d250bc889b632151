//! `shutdown-conformance`: the shared shutdown cases against one probe
//! function. See the library (`graceful_shutdown_conformance`) for what it does.

use std::process::ExitCode;

use clap::Parser;
use graceful_shutdown_conformance::{run, Options, Usage};

fn main() -> ExitCode {
    let options = Options::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(&options, &mut out) {
        Ok(summary) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) if e.downcast_ref::<Usage>().is_some() => {
            eprintln!("shutdown-conformance: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("shutdown-conformance: {e:#}");
            ExitCode::from(1)
        }
    }
}
