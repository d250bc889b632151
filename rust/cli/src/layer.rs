//! Writing the layer: Lambda unpacks a layer into /opt and starts every
//! executable file in /opt/extensions, so the layer holds exactly
//! `extensions/graceful-shutdown`, mode 0755, as a directory or a zip.

use anyhow::Context;
use graceful_shutdown_protocol::EXTENSION_NAME;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Mode of the extension and its folder: Lambda runs only executable files.
pub const MODE: u32 = 0o755;

/// Path of the extension inside the layer.
pub fn entry_path() -> String {
    format!("extensions/{EXTENSION_NAME}")
}

/// Where the layer goes, decided by the path's extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerOut {
    Dir(PathBuf),
    Zip(PathBuf),
}

impl LayerOut {
    pub fn from_path(path: PathBuf) -> Self {
        let is_zip = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
        if is_zip {
            LayerOut::Zip(path)
        } else {
            LayerOut::Dir(path)
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            LayerOut::Dir(p) | LayerOut::Zip(p) => p,
        }
    }

    /// The settings file next to the layer: `x.zip` gives `x.env`, the
    /// directory `x` gives `x.env` beside it (never inside, which would put it
    /// into /opt). `None` when the path has no name of its own (`.`, `/`).
    pub fn settings_path(&self) -> Option<PathBuf> {
        let path = self.path();
        let stem = match self {
            LayerOut::Zip(p) => p.file_stem()?,
            LayerOut::Dir(p) => p.file_name()?,
        };
        let mut name = stem.to_os_string();
        name.push(".env");
        Some(path.with_file_name(name))
    }

    /// Writes the layer holding `binary` (the extension's bytes).
    pub fn write(&self, binary: &[u8]) -> anyhow::Result<()> {
        match self {
            LayerOut::Dir(dir) => write_dir(binary, dir),
            LayerOut::Zip(file) => write_zip(binary, file),
        }
    }
}

fn write_dir(binary: &[u8], dir: &Path) -> anyhow::Result<()> {
    let ext_dir = dir.join("extensions");
    fs::create_dir_all(&ext_dir).with_context(|| format!("creating {}", ext_dir.display()))?;
    fs::set_permissions(&ext_dir, fs::Permissions::from_mode(MODE))
        .with_context(|| format!("setting the mode of {}", ext_dir.display()))?;
    let file = ext_dir.join(EXTENSION_NAME);
    write_atomically(&file, |f| f.write_all(binary))?;
    fs::set_permissions(&file, fs::Permissions::from_mode(MODE))
        .with_context(|| format!("setting the mode of {}", file.display()))
}

/// The zip has a fixed timestamp (1980-01-01, the zip epoch) and fixed modes,
/// so the same binary always gives the same bytes, and the same layer hash in
/// CloudFormation and Terraform.
fn write_zip(binary: &[u8], file: &Path) -> anyhow::Result<()> {
    let dir_options = SimpleFileOptions::default()
        .last_modified_time(DateTime::default())
        .unix_permissions(MODE);
    let file_options = dir_options
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9));
    write_atomically(file, |f| {
        let mut zip = ZipWriter::new(f);
        zip.add_directory("extensions/", dir_options)?;
        zip.start_file(entry_path(), file_options)?;
        zip.write_all(binary)?;
        zip.finish()?;
        Ok(())
    })
}

/// Writes to a temporary name beside `path`, then renames, so that a failed
/// write never leaves a half layer under the real name.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".partial");
    let tmp = path.with_file_name(tmp_name);
    let result = fs::File::create(&tmp)
        .and_then(|mut f| write(&mut f).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_extension_decides_the_kind_and_the_settings_file() {
        let zip = LayerOut::from_path("out/layer.ZIP".into());
        assert!(matches!(zip, LayerOut::Zip(_)));
        assert_eq!(zip.settings_path(), Some(PathBuf::from("out/layer.env")));
        let dir = LayerOut::from_path("out/layer".into());
        assert!(matches!(dir, LayerOut::Dir(_)));
        assert_eq!(dir.settings_path(), Some(PathBuf::from("out/layer.env")));
        assert_eq!(LayerOut::from_path("/".into()).settings_path(), None);
    }

    #[test]
    fn zip_holds_the_executable_extension_and_is_reproducible() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let a = tmp.path().join("a.zip");
        let b = tmp.path().join("b.zip");
        LayerOut::Zip(a.clone()).write(b"binary").expect("write a");
        LayerOut::Zip(b.clone()).write(b"binary").expect("write b");
        assert_eq!(fs::read(&a).expect("a"), fs::read(&b).expect("b"));

        let mut zip = zip::ZipArchive::new(fs::File::open(&a).expect("open")).expect("zip");
        let names: Vec<String> = (0..zip.len())
            .map(|i| {
                zip.by_index(i)
                    .expect("entry")
                    .name()
                    .expect("name")
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["extensions/", "extensions/graceful-shutdown"]);
        let mut entry = zip.by_name("extensions/graceful-shutdown").expect("entry");
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut body = Vec::new();
        entry.read_to_end(&mut body).expect("read");
        assert_eq!(body, b"binary");
        assert!(!tmp.path().join("a.zip.partial").exists());
    }

    #[test]
    fn directory_layout_is_executable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("layer");
        LayerOut::Dir(out.clone()).write(b"binary").expect("write");
        let file = out.join("extensions/graceful-shutdown");
        assert_eq!(fs::read(&file).expect("read"), b"binary");
        for p in [&file, &out.join("extensions")] {
            let mode = fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o755, "{}", p.display());
        }
    }
}
