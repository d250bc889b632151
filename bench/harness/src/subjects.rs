//! The extensions under test, and the architectures the sizes are taken for.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::flavours::Flavour;

/// The architectures Lambda runs, as the layer directories name them.
pub const ARCHS: [&str; 2] = ["x86_64", "arm64"];

/// One extension under test.
#[derive(Debug)]
pub struct Subject {
    /// A key of [`crate::report::SUBJECTS`].
    pub key: &'static str,
    /// Layer run on this machine (a zip or a directory with `extensions/`).
    pub layer: PathBuf,
    pub env: Vec<(String, String)>,
    /// Logs the graceful-shutdown verdict.
    pub verdict: bool,
}

/// This machine's architecture, as Lambda names it.
pub fn host_arch() -> anyhow::Result<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Ok("x86_64"),
        "aarch64" => Ok("arm64"),
        other => bail!("unsupported host architecture {other}; Lambda runs x86_64 and arm64"),
    }
}

/// The extensions, this layer (its default flavour) first and its handoff
/// flavour last, with their layers for `arch`; an error names the first
/// layer that is missing.
pub fn all(
    flavours: &[Flavour; 2],
    layer_dir: &Path,
    baseline_dir: &Path,
    rm_dir: &Path,
    arch: &str,
) -> anyhow::Result<Vec<Subject>> {
    let [default, handoff] = flavours;
    let subjects = vec![
        Subject {
            key: default.key,
            layer: default.zip(layer_dir, arch),
            env: vec![],
            verdict: true,
        },
        Subject {
            key: "lambda-extension",
            layer: baseline_dir
                .join(arch)
                .join("lambda-extension-baseline-layer.zip"),
            env: vec![],
            verdict: false,
        },
        Subject {
            key: "restmachine-aws",
            layer: rm_dir.join("layer"),
            env: vec![(
                "PYTHONPATH".to_owned(),
                rm_dir.join("layer/python").display().to_string(),
            )],
            verdict: false,
        },
        Subject {
            key: "floor",
            layer: baseline_dir.join(arch).join("minimal-extension-layer.zip"),
            env: vec![],
            verdict: false,
        },
        // The same function and no handoff: its start, memory and shutdown
        // beside the default flavour's, taking turns in the same rounds.
        Subject {
            key: handoff.key,
            layer: handoff.zip(layer_dir, arch),
            env: vec![],
            verdict: true,
        },
    ];
    for s in &subjects {
        if !s.layer.exists() {
            bail!(
                "{} layer {} is missing; run `bash bench/run.sh`, which builds it",
                s.key,
                s.layer.display()
            );
        }
    }
    Ok(subjects)
}
