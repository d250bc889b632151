//! Building the extension with cargo-lambda. The command is a pure function
//! of the architecture, so it can be checked exactly; running it is separate.
//! The package, profile, targets and arguments come from `spec/layer.json`,
//! shared with `scripts/build-layers.sh` and the CDK construct library.

use crate::arch::Arch;
use graceful_shutdown_protocol::EXTENSION_NAME;
use serde::{Deserialize, Serialize};
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
    pub flavours: FlavoursSpec,
    pub layer: LayoutSpec,
}

/// The layer's flavours: the default one and the handoff one.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlavoursSpec {
    pub default: FlavourSpec,
    pub handoff: FlavourSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlavourSpec {
    /// Cargo features of the flavour's build.
    pub features: Vec<String>,
    /// Folder of its unpacked layer under `scripts/build-layers.sh`'s `<out>/<arch>/`.
    pub dir: String,
    /// Its zip as `scripts/build-layers.sh` names it.
    pub layer_zip: String,
    /// Its zip as published (the CDK construct's package, gracefulctl's default
    /// `--out`), with `{arch}` for the architecture.
    pub prebuilt_zip: String,
}

/// Which layer: the default one, which refuses a handoff (501) and stays
/// small, or the handoff one, which sends the requests a function hands off
/// (TLS and SigV4 signing, a larger binary). The binary and its name in the
/// layer are the same; only the build's features and the zip's name differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    #[default]
    Default,
    Handoff,
}

impl Flavour {
    /// `--handoff` given or not.
    pub fn from_handoff(handoff: bool) -> Self {
        if handoff {
            Flavour::Handoff
        } else {
            Flavour::Default
        }
    }

    /// Its entry in `spec/layer.json`.
    pub fn spec(self) -> &'static FlavourSpec {
        let flavours = &spec().flavours;
        match self {
            Flavour::Default => &flavours.default,
            Flavour::Handoff => &flavours.handoff,
        }
    }

    /// The published zip's name for `arch`: `graceful-shutdown-<arch>.zip`,
    /// `graceful-shutdown-handoff-<arch>.zip`.
    pub fn zip_name(self, arch: Arch) -> String {
        self.spec()
            .prebuilt_zip
            .replace("{arch}", arch.lambda_name())
    }
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
/// binary, which runs on Amazon Linux 2 (glibc 2.26) and 2023 alike, with
/// the flavour's features.
pub fn cargo_lambda_args(arch: Arch, flavour: Flavour) -> Vec<String> {
    let spec = spec();
    let mut args: Vec<String> = spec
        .build
        .args
        .iter()
        .map(|arg| {
            fill(arg, &spec.profile, &spec.package, arch.musl_target())
                .expect("checked by spec()")
                .to_string()
        })
        .collect();
    let features = &flavour.spec().features;
    if !features.is_empty() {
        args.push("--features".to_string());
        args.push(features.join(","));
    }
    args
}

/// The command as a person would type it.
pub fn command_line(arch: Arch, flavour: Flavour) -> String {
    format!("cargo {}", cargo_lambda_args(arch, flavour).join(" "))
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
pub fn run(source: &Path, arch: Arch, flavour: Flavour) -> anyhow::Result<()> {
    let status = Command::new("cargo")
        .args(cargo_lambda_args(arch, flavour))
        .current_dir(source)
        .stdout(std::io::stderr())
        .status()
        .map_err(|e| anyhow::anyhow!("could not start cargo: {e}; install Rust with rustup"))?;
    if !status.success() {
        anyhow::bail!(
            "`{}` failed in {} ({status}); it needs cargo-lambda (pip install cargo-lambda) and \
             the target (rustup target add {}), or pass --binary with a built extension",
            command_line(arch, flavour),
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
            command_line(Arch::Arm64, Flavour::Default),
            "cargo lambda build --profile extension --extension -p graceful-shutdown-extension --target aarch64-unknown-linux-musl"
        );
        assert_eq!(
            command_line(Arch::X86_64, Flavour::Default),
            "cargo lambda build --profile extension --extension -p graceful-shutdown-extension --target x86_64-unknown-linux-musl"
        );
    }

    #[test]
    fn the_handoff_flavour_builds_with_its_feature_into_its_own_zip() {
        assert_eq!(
            command_line(Arch::Arm64, Flavour::Handoff),
            "cargo lambda build --profile extension --extension -p graceful-shutdown-extension --target aarch64-unknown-linux-musl --features handoff"
        );
        assert_eq!(
            Flavour::Default.zip_name(Arch::X86_64),
            "graceful-shutdown-x86_64.zip"
        );
        assert_eq!(
            Flavour::Handoff.zip_name(Arch::Arm64),
            "graceful-shutdown-handoff-arm64.zip"
        );
        assert_eq!(
            Flavour::Default.spec().layer_zip,
            "graceful-shutdown-layer.zip"
        );
        assert_eq!(
            Flavour::Handoff.spec().layer_zip,
            "graceful-shutdown-handoff-layer.zip"
        );
        assert_eq!(Flavour::from_handoff(false), Flavour::Default);
        // The feature is the extension crate's.
        let extension = include_str!("../../extension/Cargo.toml");
        for feature in &Flavour::Handoff.spec().features {
            assert!(
                extension.contains(&format!("\n{feature} = [")),
                "rust/extension/Cargo.toml has no feature {feature}"
            );
        }
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
