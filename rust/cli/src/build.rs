//! Building the extension with cargo-lambda. The command is a pure function
//! of the architecture, so it can be checked exactly; running it is separate.

use crate::arch::Arch;
use graceful_shutdown_protocol::EXTENSION_NAME;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Package of the extension crate in this repository.
pub const EXTENSION_PACKAGE: &str = "graceful-shutdown-extension";

/// The size-tuned cargo profile of the extension (the workspace's `Cargo.toml`).
pub const EXTENSION_PROFILE: &str = "extension";

/// Arguments to `cargo`: a size-tuned build of the extension as a static musl
/// binary, which runs on Amazon Linux 2 (glibc 2.26) and 2023 alike.
pub fn cargo_lambda_args(arch: Arch) -> Vec<String> {
    [
        "lambda",
        "build",
        "--profile",
        EXTENSION_PROFILE,
        "--extension",
        "-p",
        EXTENSION_PACKAGE,
        "--target",
        arch.musl_target(),
    ]
    .map(String::from)
    .to_vec()
}

/// The command as a person would type it.
pub fn command_line(arch: Arch) -> String {
    format!("cargo {}", cargo_lambda_args(arch).join(" "))
}

/// Where cargo-lambda leaves the extension binary after this build (its
/// default output format, the plain binary): `<target>/lambda/extensions/<name>`.
/// It moves the binary there from cargo's `<target>/<triple>/extension/`.
pub fn built_binary(target_dir: &Path) -> PathBuf {
    target_dir
        .join("lambda")
        .join("extensions")
        .join(EXTENSION_NAME)
}

/// Runs the build in `source`. Its output goes to stderr, so that stdout
/// carries only gracefulctl's own result.
pub fn run(source: &Path, arch: Arch) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args(cargo_lambda_args(arch))
        .current_dir(source)
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| anyhow::anyhow!("could not start cargo: {e}; install Rust with rustup"))?;
    if !status.success() {
        anyhow::bail!(
            "`{}` failed in {} ({status}); it needs cargo-lambda (pip install cargo-lambda) and \
             the target (rustup target add {}), or pass --binary with a built extension",
            command_line(arch),
            source.display(),
            arch.musl_target()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_static_release_extension_for_each_architecture() {
        assert_eq!(
            command_line(Arch::Arm64),
            "cargo lambda build --profile extension --extension -p graceful-shutdown-extension --target aarch64-unknown-linux-musl"
        );
        assert_eq!(
            command_line(Arch::X86_64),
            "cargo lambda build --profile extension --extension -p graceful-shutdown-extension --target x86_64-unknown-linux-musl"
        );
    }

    #[test]
    fn finds_the_binary_where_cargo_lambda_puts_extensions() {
        assert_eq!(
            built_binary(Path::new("repo/target")),
            Path::new("repo/target/lambda/extensions/graceful-shutdown")
        );
    }
}
