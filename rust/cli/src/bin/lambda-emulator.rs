//! `lambda-emulator`: run a function and its extensions through Lambda's
//! lifecycle on this machine and print the timeline. The same command line
//! and exit codes as `gracefulctl emulate` (see `gracefulctl::emulate`).

use std::process::ExitCode;

use clap::Parser;
use gracefulctl::emulate::{self, EmulateArgs};

const AFTER_HELP: &str = "\
Example: lambda-emulator --function-dir fn/ --layer-dir graceful-shutdown-x86_64.zip \\
           --env GRACEFUL_SHUTDOWN_TIMEOUT_MS=250 --invocations 2

Exit codes:
  0  init succeeded and every invocation was answered (read the verdict in the timeline)
  1  init failed, an invocation was not answered, or the emulator could not run
  2  the command line is wrong (bad value, a --function-dir without an executable bootstrap,
     a --layer-dir that is not a layer, an --event file that is missing or not JSON: the
     message names the option and the fix)";

/// Local AWS Lambda lifecycle emulator: the Runtime and Extensions APIs on
/// loopback, real processes, real signals, Lambda's shutdown order, and a
/// timeline.
#[derive(Debug, Parser)]
#[command(name = "lambda-emulator", version, after_help = AFTER_HELP)]
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
