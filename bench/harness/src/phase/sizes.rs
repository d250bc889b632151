//! Sizes, per architecture: the stripped extension binaries and the layer
//! zips, the shutdown layer's in each of its flavours.

use std::path::Path;

use super::single;
use crate::flavours::Flavour;
use crate::report::Metric;
use crate::sizes::{file_size, stripped_binary_size};
use crate::subjects::ARCHS;

/// Stripped binary and zipped layer sizes, per architecture, in KiB.
pub fn run(
    flavours: &[Flavour; 2],
    layer_dir: &Path,
    baseline_dir: &Path,
    rm_dir: &Path,
) -> anyhow::Result<Vec<Metric>> {
    eprintln!("bench: sizes");
    let mut metrics = Vec::new();
    let kib = |b: u64| b as f64 / 1024.0;
    let ours_how = "build the layers with `bash scripts/build-layers.sh --flavour all`";
    let base_how = "build the baseline with `bash bench/build-baseline.sh`";
    for arch in ARCHS {
        let bin_label = format!("stripped binary, {arch}");
        let zip_label = format!("layer zip, {arch}");
        let id = format!("binary_kib_{arch}");
        for flavour in flavours {
            let bytes = stripped_binary_size(&flavour.binary(layer_dir, arch), ours_how)?;
            metrics.push(single(&id, &bin_label, flavour.key, "KiB", kib(bytes))?);
        }
        let base_bin = stripped_binary_size(
            &baseline_dir
                .join(arch)
                .join("extensions/lambda-extension-baseline"),
            base_how,
        )?;
        metrics.push(single(
            &id,
            &bin_label,
            "lambda-extension",
            "KiB",
            kib(base_bin),
        )?);
        let id = format!("layer_zip_kib_{arch}");
        for flavour in flavours {
            let bytes = file_size(&flavour.zip(layer_dir, arch), ours_how)?;
            metrics.push(single(&id, &zip_label, flavour.key, "KiB", kib(bytes))?);
        }
        let base_zip = file_size(
            &baseline_dir
                .join(arch)
                .join("lambda-extension-baseline-layer.zip"),
            base_how,
        )?;
        // Pure Python: the same zip serves both architectures.
        let rm_zip = file_size(
            &rm_dir.join("restmachine-layer.zip"),
            "run `bash bench/run.sh`, which packs it",
        )?;
        for (subject, bytes) in [("lambda-extension", base_zip), ("restmachine-aws", rm_zip)] {
            metrics.push(single(&id, &zip_label, subject, "KiB", kib(bytes))?);
        }
    }
    Ok(metrics)
}
