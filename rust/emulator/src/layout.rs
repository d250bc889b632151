//! Where the function and the extensions are: the function directory (Lambda's
//! `/var/task`) holds `bootstrap`; each layer (Lambda unpacks layers into
//! `/opt`) holds `extensions/*`. Layers may be directories or `.zip` files.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::runtimes::{self, Runtime};
use crate::scenario::Scenario;

/// Lambda runs at most 10 extensions.
pub fn max_extensions() -> usize {
    graceful_shutdown_protocol::limits().max_extensions as usize
}

/// The executables to start.
#[derive(Debug)]
pub struct Layout {
    /// The runtime's program: `bootstrap`, or a managed runtime's interpreter.
    pub bootstrap: PathBuf,
    /// The runtime's arguments (a managed runtime's client and handler).
    pub bootstrap_args: Vec<String>,
    /// The root of every layer (what Lambda unpacks into `/opt`), in order.
    pub layer_roots: Vec<PathBuf>,
    /// `(file name, path)` of every external extension, in name order.
    pub extensions: Vec<(String, PathBuf)>,
    /// Unpacked `.zip` layers; removed when the layout is dropped.
    _unpacked: Vec<tempfile::TempDir>,
}

impl Layout {
    /// The layout of a scenario: its layers, and its `bootstrap` or its
    /// managed runtime's client.
    pub fn of(scenario: &Scenario) -> anyhow::Result<Layout> {
        let Some(id) = &scenario.runtime else {
            return Layout::discover(&scenario.function_dir, &scenario.layer_dirs);
        };
        let runtime = Runtime::parse(id)?;
        let Some(handler) = scenario.handler.as_deref() else {
            bail!(
                "--runtime {id} needs --handler, for example --handler {}",
                runtime.example_handler()
            );
        };
        let function_dir = std::path::absolute(&scenario.function_dir)?;
        if !function_dir.is_dir() {
            bail!(
                "--function-dir: {} is not a directory; with --runtime it holds the function's code (Lambda's /var/task)",
                function_dir.display()
            );
        }
        let clients = runtimes::locate(scenario.runtimes_dir.as_deref())?;
        let mut layout = Layout::layers(&scenario.layer_dirs)?;
        let (program, args) =
            runtime.command(&clients, handler, &function_dir, &layout.layer_roots)?;
        layout.bootstrap = program;
        layout.bootstrap_args = args;
        Ok(layout)
    }

    /// The layout of a function on a provided runtime: `function_dir/bootstrap` and the layers.
    pub fn discover(function_dir: &Path, layers: &[PathBuf]) -> anyhow::Result<Layout> {
        // Absolute paths: processes run with the function directory as their working directory.
        let function_dir = std::path::absolute(function_dir)?;
        let bootstrap = function_dir.join("bootstrap");
        if !is_executable(&bootstrap) {
            bail!(
                "--function-dir: {} has no executable `bootstrap`; put the function binary there (chmod +x), \
                 as Lambda's provided runtimes expect, or run its code on a managed runtime with --runtime and --handler",
                function_dir.display()
            );
        }
        let mut layout = Layout::layers(layers)?;
        layout.bootstrap = bootstrap;
        Ok(layout)
    }

    fn layers(layers: &[PathBuf]) -> anyhow::Result<Layout> {
        let mut unpacked = Vec::new();
        let mut layer_roots = Vec::new();
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
            layer_roots.push(root.clone());
            let ext_dir = root.join("extensions");
            if !ext_dir.is_dir() {
                // A layer of libraries only (python/, nodejs/) is fine; one with nothing Lambda reads is a mistake.
                if ["python", "nodejs", "java"]
                    .iter()
                    .any(|d| root.join(d).is_dir())
                {
                    continue;
                }
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
            bootstrap: PathBuf::new(),
            bootstrap_args: Vec::new(),
            layer_roots,
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
