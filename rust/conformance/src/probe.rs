//! The probe function under test, the layer, and what each case's run is given.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use graceful_shutdown_protocol::EXTENSION_NAME;

/// How the probe function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// A custom runtime: an executable started as the function's
    /// `bootstrap` (Rust, Go). A file named `bootstrap` runs from its own
    /// directory (with whatever lies beside it); any other is staged as the
    /// `bootstrap` of a directory of its own.
    Function(PathBuf),
    /// A managed runtime the emulator knows (`python3.12`, `nodejs22.x`,
    /// `java21`, ...), the handler, and the function's code directory.
    Managed {
        runtime: String,
        handler: String,
        code: PathBuf,
    },
}

impl Probe {
    /// Checks that the probe exists.
    pub fn check(&self) -> anyhow::Result<()> {
        match self {
            Probe::Function(path) => {
                let meta = std::fs::metadata(path)
                    .with_context(|| format!("--function {}: no such file", path.display()))?;
                use std::os::unix::fs::PermissionsExt;
                if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                    bail!("--function {}: not an executable file", path.display());
                }
            }
            Probe::Managed { code, .. } => {
                if !code.is_dir() {
                    bail!("--code {}: not a directory", code.display());
                }
            }
        }
        Ok(())
    }

    /// The function directory to run (Lambda's `/var/task`), staged in
    /// `scratch` when the probe is not a file named `bootstrap`.
    pub fn function_dir(&self, scratch: &Path) -> anyhow::Result<PathBuf> {
        match self {
            Probe::Function(path) => {
                let path = std::path::absolute(path)?;
                if path.file_name().is_some_and(|n| n == "bootstrap") {
                    return Ok(path
                        .parent()
                        .context("a bootstrap without a directory")?
                        .to_owned());
                }
                let dir = scratch.join("fn");
                std::fs::create_dir_all(&dir)?;
                link_or_copy(&path, &dir.join("bootstrap"))?;
                Ok(dir)
            }
            Probe::Managed { code, .. } => Ok(std::path::absolute(code)?),
        }
    }
}

/// A hard link (the same file, whatever its name), else a copy.
pub fn link_or_copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

/// The shutdown layer: a directory holding `extensions/graceful-shutdown`.
pub fn check_layer(layer: &Path) -> anyhow::Result<PathBuf> {
    let ext = layer.join("extensions").join(EXTENSION_NAME);
    if !ext.is_file() {
        bail!(
            "--layer {}: no extensions/{EXTENSION_NAME} in it (build it with `cargo build -p \
             graceful-shutdown-extension` and lay it out as <dir>/extensions/{EXTENSION_NAME})",
            layer.display()
        );
    }
    Ok(ext)
}
