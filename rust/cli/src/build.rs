//! Building the extension with cargo-lambda. The command is a pure function
//! of the architecture, so it can be checked exactly; running it is separate.
//! The package, profile, targets and arguments come from `spec/layer.json`,
//! shared with `scripts/build-layers.sh` and the CDK construct library.

use crate::arch::Arch;
use graceful_shutdown_protocol::EXTENSION_NAME;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The layer's build spec, embedded at compile time.
pub const LAYER_JSON: &str = include_str!("../../../spec/layer.json");

/// `spec/layer.json`: how the shutdown layer is built and laid out.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerSpec {
    /// Package of the extension crate in this repository.
    pub package: String,
    /// The size-tuned cargo profile of the extension (the workspace's `Cargo.toml`).
    pub profile: String,
    pub build: BuildSpec,
    /// Lambda architecture name (`arm64`, `x86_64`) to what it is built for.
    pub architectures: BTreeMap<String, ArchSpec>,
    pub layer: LayoutSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildSpec {
    /// Arguments to `cargo`, with `{profile}`, `{package}` and `{target}` to fill in.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchSpec {
    /// The Rust target triple of the static musl build.
    pub rust_target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutSpec {
    /// Folder of the layer (and of cargo-lambda's output) holding the extension.
    pub extensions_dir: String,
    /// Mode of the extension binary, in octal.
    pub mode: String,
}

/// The parsed `spec/layer.json`. It is embedded and checked by this crate's
/// tests, so a parse failure is a build defect, not an input error.
pub fn spec() -> &'static LayerSpec {
    static SPEC: OnceLock<LayerSpec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let spec: LayerSpec = serde_json::from_str(LAYER_JSON)
            .unwrap_or_else(|e| panic!("spec/layer.json does not parse: {e}"));
        for arg in &spec.build.args {
            assert!(
                fill(arg, "", "", "").is_some(),
                "spec/layer.json: build.args holds {arg}, which is not {{profile}}, {{package}} or {{target}}"
            );
        }
        spec
    })
}

/// One argument of `build.args` with its placeholder filled in, `None` for an
/// unknown placeholder.
fn fill<'a>(arg: &'a str, profile: &'a str, package: &'a str, target: &'a str) -> Option<&'a str> {
    match arg {
        "{profile}" => Some(profile),
        "{package}" => Some(package),
        "{target}" => Some(target),
        _ if arg.contains(['{', '}']) => None,
        _ => Some(arg),
    }
}

/// Arguments to `cargo`: a size-tuned build of the extension as a static musl
/// binary, which runs on Amazon Linux 2 (glibc 2.26) and 2023 alike.
pub fn cargo_lambda_args(arch: Arch) -> Vec<String> {
    let spec = spec();
    spec.build
        .args
        .iter()
        .map(|arg| {
            fill(arg, &spec.profile, &spec.package, arch.musl_target())
                .expect("checked by spec()")
                .to_string()
        })
        .collect()
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
        .join(&spec().layer.extensions_dir)
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
    fn the_spec_names_the_workspace_package_and_profile() {
        // The package and profile the spec names are the extension crate's and
        // the workspace's size-tuned profile.
        let extension = include_str!("../../extension/Cargo.toml");
        assert!(
            extension.contains(&format!("name = \"{}\"", spec().package)),
            "rust/extension/Cargo.toml is not package {}",
            spec().package
        );
        assert!(
            extension.contains(&format!("[[bin]]\nname = \"{EXTENSION_NAME}\"")),
            "rust/extension/Cargo.toml has no binary {EXTENSION_NAME}"
        );
        let workspace = include_str!("../../../Cargo.toml");
        assert!(
            workspace.contains(&format!("[profile.{}]", spec().profile)),
            "Cargo.toml has no [profile.{}]",
            spec().profile
        );
        assert_eq!(u32::from_str_radix(&spec().layer.mode, 8), Ok(0o755));
    }

    #[test]
    fn an_unknown_placeholder_is_refused() {
        assert_eq!(fill("{target}", "p", "k", "t"), Some("t"));
        assert_eq!(fill("--extension", "p", "k", "t"), Some("--extension"));
        assert_eq!(fill("{triple}", "p", "k", "t"), None);
    }

    #[test]
    fn finds_the_binary_where_cargo_lambda_puts_extensions() {
        assert_eq!(
            built_binary(Path::new("repo/target")),
            Path::new("repo/target/lambda/extensions/graceful-shutdown")
        );
    }
}
