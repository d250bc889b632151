//! Where the function and the extensions are: the function directory (Lambda's
//! `/var/task`) holds `bootstrap`; each layer (Lambda unpacks layers into
//! `/opt`) holds `extensions/*`. Layers may be directories or `.zip` files.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Lambda runs at most 10 extensions.
pub fn max_extensions() -> usize {
    graceful_shutdown_protocol::limits().max_extensions as usize
}

/// The executables to start.
#[derive(Debug)]
pub struct Layout {
    pub bootstrap: PathBuf,
    /// `(file name, path)` of every external extension, in name order.
    pub extensions: Vec<(String, PathBuf)>,
    /// Unpacked `.zip` layers; removed when the layout is dropped.
    _unpacked: Vec<tempfile::TempDir>,
}

impl Layout {
    pub fn discover(function_dir: &Path, layers: &[PathBuf]) -> anyhow::Result<Layout> {
        // Absolute paths: processes run with the function directory as their working directory.
        let function_dir = std::path::absolute(function_dir)?;
        let bootstrap = function_dir.join("bootstrap");
        if !is_executable(&bootstrap) {
            bail!(
                "--function-dir: {} has no executable `bootstrap`; put the function binary there (chmod +x), \
                 as Lambda's provided runtimes expect",
                function_dir.display()
            );
        }
        let mut unpacked = Vec::new();
        // Later layers override earlier ones with the same file name, as when Lambda unpacks them into /opt.
        let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
        for layer in layers {
            let root = if layer.extension().is_some_and(|e| e == "zip") && layer.is_file() {
                let dir = unzip(layer)?;
                let root = dir.path().to_owned();
                unpacked.push(dir);
                root
            } else if layer.is_dir() {
                std::path::absolute(layer)?
            } else {
                bail!(
                    "--layer-dir: {} is neither a directory nor a .zip file",
                    layer.display()
                );
            };
            let ext_dir = root.join("extensions");
            if !ext_dir.is_dir() {
                bail!(
                    "--layer-dir: {} has no `extensions/` directory; a layer's extensions live in extensions/<name>",
                    layer.display()
                );
            }
            let entries = std::fs::read_dir(&ext_dir)
                .with_context(|| format!("reading {}", ext_dir.display()))?;
            for entry in entries {
                let path = entry?.path();
                if is_executable(&path) {
                    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                        found.insert(name.to_owned(), path.clone());
                    }
                }
            }
        }
        if found.len() > max_extensions() {
            bail!(
                "--layer-dir: {} extensions found, Lambda allows at most {}",
                found.len(),
                max_extensions()
            );
        }
        Ok(Layout {
            bootstrap,
            extensions: found.into_iter().collect(),
            _unpacked: unpacked,
        })
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn unzip(path: &Path) -> anyhow::Result<tempfile::TempDir> {
    let file =
        std::fs::File::open(path).with_context(|| format!("opening layer {}", path.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("--layer-dir: {} is not a valid zip", path.display()))?;
    let dir = tempfile::Builder::new()
        .prefix("lambda-emulator-layer")
        .tempdir()?;
    archive
        .extract(dir.path())
        .with_context(|| format!("unpacking {}", path.display()))?;
    Ok(dir)
}
