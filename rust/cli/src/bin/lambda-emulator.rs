//! `lambda-emulator`: run a function and its extensions through Lambda's
//! lifecycle on this machine and print the timeline. The same command line
//! and exit codes as `gracefulctl emulate` (see `gracefulctl::emulate`).

use std::process::ExitCode;

use clap::Parser;
use gracefulctl::emulate::{self, EmulateArgs};

/// Local AWS Lambda lifecycle emulator: the Runtime and Extensions APIs on
/// loopback, real processes, real signals, Lambda's shutdown order, and a
/// timeline.
#[derive(Debug, Parser)]
#[command(
    name = "lambda-emulator",
    version,
    after_help = gracefulctl::args::emulate_after_help("lambda-emulator")
)]
struct Cli {
    #[command(flatten)]
    args: EmulateArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match emulate::run(cli.args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lambda-emulator: {e}");
            e.exit_code()
        }
    }
}
