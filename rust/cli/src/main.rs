//! gracefulctl: parse the command line (bad values stop here, exit 2), run
//! the one command asked for, print its result, exit with a code scripts can
//! trust (see `args::EXIT_CODES`).

use clap::Parser;
use gracefulctl::args::{Cli, Command, CreateExtensionArgs, RenderArgs};
use gracefulctl::build::Flavour;
use gracefulctl::create::{BinarySource, CreateExtension, Created};
use gracefulctl::failure::Failure;
use gracefulctl::layer::{entry_path, LayerOut};
use gracefulctl::render::{self, default_layer_zip, Layer, Snippet};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CreateExtension(args) => create_extension(args),
        Command::Render(args) => render(args),
        Command::Emulate(args) => return emulate(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

fn create_extension(args: CreateExtensionArgs) -> Result<(), Failure> {
    let binary = match args.binary {
        Some(path) => BinarySource::Given(path),
        None => BinarySource::Build {
            target_dir: cargo_target_dir(&args.source),
            source: args.source,
        },
    };
    let flavour = Flavour::from_handoff(args.handoff);
    let out = args
        .out
        .unwrap_or_else(|| PathBuf::from(default_layer_zip(args.arch, flavour)));
    let command = CreateExtension {
        arch: args.arch,
        flavour,
        binary,
        out: LayerOut::from_path(out),
        settings: args.settings.settings(),
    };
    let Created {
        layer,
        settings_file,
        binary,
        binary_bytes,
    } = command.run()?;
    println!(
        "layer:    {} ({}, {} from {}, {binary_bytes} bytes)",
        layer.display(),
        args.arch,
        entry_path(),
        binary.display()
    );
    println!("settings: {}", settings_file.display());
    println!("Set these environment variables on every function that uses the layer:");
    print!("{}", command.settings.env_file());
    Ok(())
}

/// Where cargo puts build output for `source`: `CARGO_TARGET_DIR` (relative
/// to `source`) when set, else `source/target`.
fn cargo_target_dir(source: &std::path::Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => source.join(dir),
        None => source.join("target"),
    }
}

fn render(args: RenderArgs) -> Result<(), Failure> {
    let flavour = Flavour::from_handoff(args.handoff);
    let layer = match args.layer_arn {
        Some(arn) => Layer::Arn { arn },
        None => Layer::zip(args.arch, flavour, args.layer_zip, args.layer_name),
    };
    let snippet = Snippet::new(
        args.arch,
        flavour,
        layer,
        args.settings.settings(),
        args.function_name,
        args.function_code,
        args.runtime,
        args.handler,
    );
    let text = render::render(args.format, &snippet)
        .map_err(|e| anyhow::anyhow!("rendering the {} template: {e:?}", args.format.name()))?;
    print!("{text}");
    Ok(())
}

/// The emulator's command (`gracefulctl::emulate`, shared with the
/// `lambda-emulator` binary), with the exit codes of every other command: its
/// arguments are checked first (without reading standard input), the function
/// and layer paths included, so that a bad command line exits 2; then the
/// emulator runs and exits 0, or 1 when init fails, an invocation is not
/// answered or the emulator cannot run.
fn emulate(args: gracefulctl::emulate::EmulateArgs) -> ExitCode {
    match gracefulctl::emulate::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
