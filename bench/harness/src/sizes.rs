//! Sizes of what a user deploys: the extension binary (checked stripped) and
//! the zipped layer.

use std::path::Path;

use anyhow::{anyhow, Context};
use object::{Object, ObjectSection};

/// Size in bytes of `path`, or an error that says how to produce it.
pub fn file_size(path: &Path, how: &str) -> anyhow::Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| anyhow!("{}: {e}; {how}", path.display()))
}

/// True when the ELF image carries no symbol table and no debug sections.
pub fn is_stripped(elf: &[u8]) -> anyhow::Result<bool> {
    let file = object::File::parse(elf).context("not an ELF file")?;
    let has = |name: &str| file.section_by_name(name).is_some();
    Ok(!has(".symtab")
        && !file
            .sections()
            .any(|s| s.name().is_ok_and(|n| n.starts_with(".debug_"))))
}

/// Size of the binary at `path`, which must be stripped (the workspace's
/// release profile strips; a size with symbols would flatter nobody).
pub fn stripped_binary_size(path: &Path, how: &str) -> anyhow::Result<u64> {
    let data = std::fs::read(path).map_err(|e| anyhow!("{}: {e}; {how}", path.display()))?;
    if !is_stripped(&data).with_context(|| path.display().to_string())? {
        anyhow::bail!(
            "{} is not stripped; build it with the workspace release profile (strip = true)",
            path.display()
        );
    }
    Ok(data.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_binary_itself_is_not_stripped() {
        // Test executables are debug builds: symbols and debug sections present.
        let exe = std::env::current_exe().expect("current exe");
        let data = std::fs::read(exe).expect("read exe");
        assert!(!is_stripped(&data).expect("parse"));
    }

    #[test]
    fn a_non_elf_file_is_refused() {
        assert!(is_stripped(b"not an elf").is_err());
    }
}
