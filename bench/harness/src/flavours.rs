//! The shutdown layer's flavours as `spec/layer.json` lays them out (the
//! file `scripts/build-layers.sh` builds them from): where each flavour's
//! zip and binary are under a layer directory, and the subject key its
//! figures carry.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};

/// The subject key of the handoff flavour's figures (the default layer's
/// is [`crate::targets::JUDGED`]).
pub const HANDOFF: &str = "graceful-shutdown-handoff";

/// One flavour of the shutdown layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavour {
    /// The subject key of its figures.
    pub key: &'static str,
    /// Its folder under `<layer dir>/<arch>/` (empty: that folder itself).
    dir: String,
    /// Its zip's name in `<layer dir>/<arch>/`.
    layer_zip: String,
    /// The binary's name in `extensions/`.
    name: String,
}

impl Flavour {
    /// Its zipped layer for `arch` under `layer_dir`.
    pub fn zip(&self, layer_dir: &Path, arch: &str) -> PathBuf {
        layer_dir.join(arch).join(&self.layer_zip)
    }

    /// Its binary for `arch` under `layer_dir`.
    pub fn binary(&self, layer_dir: &Path, arch: &str) -> PathBuf {
        layer_dir
            .join(arch)
            .join(&self.dir)
            .join("extensions")
            .join(&self.name)
    }
}

/// The default flavour and the handoff flavour, from `spec/layer.json`'s text.
pub fn parse(layer_json: &str) -> anyhow::Result<[Flavour; 2]> {
    let spec: serde_json::Value = serde_json::from_str(layer_json)?;
    let name = graceful_shutdown_protocol::limits().extension_name.clone();
    let flavour = |spec_name: &str, key: &'static str| -> anyhow::Result<Flavour> {
        let f = &spec["flavours"][spec_name];
        let text = |field: &str| {
            f[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow!("flavours.{spec_name}.{field} is not a string"))
        };
        Ok(Flavour {
            key,
            dir: text("dir")?,
            layer_zip: text("layerZip")?,
            name: name.clone(),
        })
    };
    Ok([
        flavour("default", crate::targets::JUDGED)?,
        flavour("handoff", HANDOFF)?,
    ])
}

/// [`parse`] of `<root>/spec/layer.json`.
pub fn read(root: &Path) -> anyhow::Result<[Flavour; 2]> {
    let path = root.join("spec/layer.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_spec_names_both_flavours() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let [default, handoff] = read(&root).expect("spec/layer.json");
        let dir = Path::new("/l");
        assert_eq!(
            default.zip(dir, "arm64"),
            Path::new("/l/arm64/graceful-shutdown-layer.zip")
        );
        assert_eq!(
            default.binary(dir, "arm64"),
            Path::new("/l/arm64/extensions/graceful-shutdown")
        );
        assert_eq!(
            handoff.zip(dir, "x86_64"),
            Path::new("/l/x86_64/graceful-shutdown-handoff-layer.zip")
        );
        assert_eq!(
            handoff.binary(dir, "x86_64"),
            Path::new("/l/x86_64/handoff/extensions/graceful-shutdown")
        );
        assert_eq!((default.key, handoff.key), ("graceful-shutdown", HANDOFF));
    }

    #[test]
    fn a_flavour_missing_from_the_spec_is_named() {
        let e = parse(r#"{"flavours":{"default":{"dir":"","layerZip":"a.zip"}}}"#)
            .expect_err("no handoff flavour");
        assert!(e.to_string().contains("flavours.handoff.dir"), "{e}");
    }
}
