//! `lambda-emulator`: run a function and its extensions through Lambda's
//! lifecycle on this machine and print the timeline.

use std::process::ExitCode;

use clap::Parser;
use graceful_shutdown_emulator::{run_cli, EmulateArgs};

#[derive(Debug, Parser)]
#[command(name = "lambda-emulator", version, about)]
struct Cli {
    #[command(flatten)]
    args: EmulateArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The exit codes are those of `gracefulctl emulate` (see `cli`).
    match run_cli(cli.args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lambda-emulator: {e}");
            e.exit_code()
        }
    }
}
