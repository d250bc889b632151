//! The command line: what each command and option means. Values are checked
//! while parsing (see `values`), so a command only ever sees valid settings.

use crate::arch::Arch;
use crate::render::Format;
use crate::settings::{Metrics, Settings};
use crate::values;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the work failed (the cargo-lambda build, writing the layer or the settings file)
  2  the command line is wrong (unknown option, bad value, a --binary that is missing, unreadable
     or not an extension for --arch: the message names the option and the fix)
  emulate: see gracefulctl emulate --help";

/// The help text after `emulate`'s options, for the one exit-code policy of
/// `gracefulctl emulate` and `lambda-emulator`; `program` is how the example
/// calls the emulator.
pub fn emulate_after_help(program: &str) -> String {
    format!(
        "\
Example: {program} --function-dir fn/ --layer-dir graceful-shutdown-x86_64.zip \\
           --env GRACEFUL_SHUTDOWN_TIMEOUT_MS=250 --invocations 2

Exit codes:
  0  init succeeded and every invocation was answered (read the verdict in the timeline)
  1  init failed, an invocation was not answered, or the emulator could not run
  2  the command line is wrong (bad value, a --function-dir without an executable bootstrap,
     a --layer-dir that is not a layer, an --event file that is missing or not JSON: the
     message names the option and the fix)"
    )
}

#[derive(Debug, Parser)]
#[command(
    name = "gracefulctl",
    version,
    about = "Graceful shutdown for AWS Lambda, outside the CDK: build the shutdown layer and render deployment snippets.",
    long_about = "Graceful shutdown for AWS Lambda, outside the CDK.\n\n\
        The graceful-shutdown layer holds one external extension, extensions/graceful-shutdown. \
        With it attached, Lambda sends SIGTERM to the function before it retires the execution \
        environment, so the function's on_shutdown handlers can flush buffers and close \
        connections; the extension logs a verdict of what happened. gracefulctl builds that \
        layer and renders SAM, CloudFormation, Terraform and zip-upload snippets that attach it \
        with the right settings (GRACEFUL_SHUTDOWN_PORT, GRACEFUL_SHUTDOWN_TIMEOUT_MS), checked \
        with the same rules as the CDK construct.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the layer (a directory or a zip) and the settings to use it with.
    ///
    /// The layer holds extensions/graceful-shutdown, mode 0755: the extension binary given
    /// with --binary, or built with cargo-lambda. The settings (GRACEFUL_SHUTDOWN_PORT,
    /// GRACEFUL_SHUTDOWN_TIMEOUT_MS) are printed and written to <layer name>.env beside it.
    #[command(after_help = EXIT_CODES)]
    CreateExtension(CreateExtensionArgs),
    /// Print a SAM, CloudFormation, Terraform or zip-upload snippet that attaches the layer.
    ///
    /// The snippet publishes the layer zip (or uses --layer-arn), and gives the function the
    /// same architecture and the GRACEFUL_SHUTDOWN_* variables, checked with the same rules
    /// as the CDK construct. Redirect it to a file: gracefulctl render sam > template.yaml
    #[command(after_help = EXIT_CODES)]
    Render(RenderArgs),
    /// Run a function with its layers through Lambda's lifecycle locally, with a timeline.
    ///
    /// Init, invocations, then the shutdown phase in Lambda's order: SIGTERM to the runtime,
    /// SIGKILL after its share, then SHUTDOWN to the extensions. Takes the layer zip or
    /// directory that create-extension writes.
    #[command(after_help = emulate_after_help("gracefulctl emulate"))]
    Emulate(crate::emulate::EmulateArgs),
}

/// Port, timeout and metrics: the settings shared by the extension and the
/// function library, set on the function as environment variables.
#[derive(Debug, Clone, Args)]
pub struct SettingsArgs {
    /// Loopback port on which the extension listens for the function's reports
    /// (GRACEFUL_SHUTDOWN_PORT). 1024-65535, and not a port another Lambda component
    /// uses (9001 is the Lambda Runtime API, 8080 the Lambda Web Adapter, ...).
    #[arg(long, value_name = "N", default_value = "4471", value_parser = values::port)]
    pub port: u16,

    /// Budget in milliseconds for all shutdown handlers together, from SIGTERM
    /// (GRACEFUL_SHUTDOWN_TIMEOUT_MS). 1-280: the handlers run in the runtime process,
    /// which Lambda stops about 300 ms after SIGTERM, and the last reports and the
    /// exit need 20 ms of that.
    #[arg(long, value_name = "N", default_value = "250", value_parser = values::timeout_ms)]
    pub timeout_ms: u32,

    /// Also log the verdict as a CloudWatch Embedded Metric Format line
    /// (GRACEFUL_SHUTDOWN_METRICS, only written when emf).
    #[arg(long, value_enum, default_value_t = Metrics::Off)]
    pub metrics: Metrics,
}

impl SettingsArgs {
    pub fn settings(&self) -> Settings {
        Settings {
            port: self.port,
            timeout_ms: self.timeout_ms,
            metrics: self.metrics,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CreateExtensionArgs {
    /// Architecture of the functions that will use the layer; the extension binary must
    /// be built for it.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub arch: Arch,

    /// Use this already built extension binary (an ELF executable for --arch) instead of
    /// building one with cargo-lambda.
    #[arg(long, value_name = "PATH", conflicts_with = "source")]
    pub binary: Option<PathBuf>,

    /// Repository root to build the extension from, with
    /// `cargo lambda build --profile extension --extension -p graceful-shutdown-extension
    /// --target <arch>-unknown-linux-musl` (needs cargo-lambda: pip install cargo-lambda).
    /// Used when --binary is not given.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub source: PathBuf,

    /// Where to write the layer: a path ending in .zip writes a zip to upload, any other
    /// path a directory. The settings go next to it, in <name>.env.
    /// [default: graceful-shutdown-<arch>.zip, with --handoff graceful-shutdown-handoff-<arch>.zip]
    #[arg(long, value_name = "DIR|FILE.zip")]
    pub out: Option<PathBuf>,

    /// The handoff flavour of the layer: the extension also sends the HTTP requests the
    /// function hands off at shutdown (TLS, AWS SigV4 signing), which makes it about three
    /// times larger. Builds with `--features handoff`; a --binary must be such a build
    /// (it is not checked). Without it the layer refuses a handoff (501).
    #[arg(long)]
    pub handoff: bool,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RenderArgs {
    /// What to print: a SAM template, a CloudFormation template, Terraform (HCL), or the
    /// shell commands that zip, publish and attach the layer with the AWS CLI.
    #[arg(value_enum)]
    pub format: Format,

    /// Architecture of the function and of the layer.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub arch: Arch,

    /// Attach an already published layer version, by ARN, instead of publishing one from
    /// a zip.
    #[arg(long, value_name = "ARN", value_parser = values::layer_arn, conflicts_with_all = ["layer_zip", "layer_name"])]
    pub layer_arn: Option<String>,

    /// The layer zip that the snippet publishes (written by `gracefulctl create-extension`).
    /// [default: graceful-shutdown-<arch>.zip, with --handoff graceful-shutdown-handoff-<arch>.zip]
    #[arg(long, value_name = "FILE.zip", value_parser = values::snippet_path)]
    pub layer_zip: Option<String>,

    /// Name of the layer the snippet publishes.
    /// [default: graceful-shutdown-<arch>, with --handoff graceful-shutdown-handoff-<arch>]
    #[arg(long, value_name = "NAME", value_parser = values::layer_name)]
    pub layer_name: Option<String>,

    /// Publish the handoff flavour of the layer (`gracefulctl create-extension --handoff`),
    /// which also sends the HTTP requests the function hands off at shutdown. With
    /// --layer-arn, pass the ARN of a published handoff layer instead.
    #[arg(long, conflicts_with = "layer_arn")]
    pub handoff: bool,

    /// Name of the function that gets the layer.
    #[arg(long, value_name = "NAME", default_value = "my-function", value_parser = values::function_name)]
    pub function_name: String,

    /// The function's code: a zip, or for SAM also a directory (cargo lambda build
    /// --output-format zip writes target/lambda/<binary>/bootstrap.zip). Not used by zip.
    #[arg(long, value_name = "PATH", default_value = "bootstrap.zip", value_parser = values::snippet_path)]
    pub function_code: String,

    /// The function's runtime. Any runtime works with the layer; Rust functions use
    /// provided.al2023.
    #[arg(long, value_name = "ID", default_value = "provided.al2023", value_parser = values::runtime)]
    pub runtime: String,

    /// The function's handler (bootstrap for Rust and other custom runtimes).
    #[arg(long, value_name = "HANDLER", default_value = "bootstrap", value_parser = values::handler)]
    pub handler: String,

    #[command(flatten)]
    pub settings: SettingsArgs,
}
